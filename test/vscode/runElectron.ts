// The same extension-host suite in desktop VS Code through @vscode/test-electron, for machines
// that can download VS Code (this project's machines cannot: there `npm run test:vscode` runs it
// inside code-server). Run after test/vscode/run.sh has compiled the suite:
//   npx tsx test/vscode/runElectron.ts            (VSCODE_EXECUTABLE=path to use an installed one)
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runTests } from '@vscode/test-electron';
import { REPO_ROOT } from '../harness/codeServer';
import { prepareSessions } from './sessions';

async function main(): Promise<number> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'msn-electron-test-'));
  try {
    let failed = 0;
    for (const session of prepareSessions(scratch)) {
      const userData = path.join(scratch, `user-data-${session.name}`);
      // Desktop VS Code reads machine-scoped settings from the user settings.
      fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
      fs.writeFileSync(path.join(userData, 'User/settings.json'), JSON.stringify(session.machineSettings));
      const open = 'folder' in session.open ? session.open.folder : session.open.workspaceFile;
      const code = await runTests({
        vscodeExecutablePath: process.env.VSCODE_EXECUTABLE,
        extensionDevelopmentPath: REPO_ROOT,
        extensionTestsPath: path.join(REPO_ROOT, 'out/test/vscode/suite/index.js'),
        extensionTestsEnv: { ...session.env, MSN_VSCODE_SESSION: session.name },
        launchArgs: [open, '--disable-extensions', '--disable-workspace-trust', '--user-data-dir', userData],
      });
      if (code !== 0) failed++;
    }
    return failed > 0 ? 1 : 0;
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

main().then((code) => process.exit(code), (error: Error) => {
  console.error(`extension-host tests in desktop VS Code failed: ${error.message}`);
  process.exit(1);
});
