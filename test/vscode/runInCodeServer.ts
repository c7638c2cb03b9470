// Runs the compiled extension-host suite (out/test/vscode/suite/index.js) inside a real VS Code:
// code-server with the smoke-test driver, the repository as the extension under development, and
// Chromium to open the workbench, once per session (./sessions.ts: a single folder, then a
// multi-root workspace). VS Code reports the suite's exit code through the page's
// `codeAutomationExit`; the suite itself writes its per-test outcomes to a report file.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { launchBrowser, type Browser } from '../harness/browser';
import { REPO_ROOT, startCodeServer, type CodeServer } from '../harness/codeServer';
import { prepareSessions, type SuiteSession } from './sessions';

const SUITE = path.join(REPO_ROOT, 'out/test/vscode/suite/index.js');
const RUN_TIMEOUT_MS = 10 * 60_000;

interface Report {
  outcomes: { title: string; state: 'passed' | 'failed'; durationMs: number; error?: string }[];
  failures: number;
}

function printReport(report: Report): void {
  for (const outcome of report.outcomes) {
    const mark = outcome.state === 'passed' ? '  ✔' : '  ✗';
    console.log(`${mark} ${outcome.title} (${outcome.durationMs} ms)`);
  }
  const failed = report.outcomes.filter((o) => o.state === 'failed');
  failed.forEach((outcome, i) => console.log(`\n  ${i + 1}) ${outcome.title}\n     ${outcome.error?.split('\n').join('\n     ')}`));
  console.log(`\n  ${report.outcomes.length - failed.length} passing`);
  if (failed.length > 0) console.log(`  ${failed.length} failing`);
}

/** One session: a fresh code-server with the session's workspace; 0 when its suite files all passed. */
async function runSession(session: SuiteSession, scratch: string): Promise<number> {
  const reportFile = path.join(scratch, `report-${session.name}.json`);
  let server: CodeServer | undefined;
  let browser: Browser | undefined;
  try {
    server = await startCodeServer({
      smokeTestDriver: true,
      env: { ...session.env, MSN_VSCODE_TEST_REPORT: reportFile, MSN_VSCODE_SESSION: session.name },
      userSettings: { 'msnComplete.generateMaxTokens': 48 },
      machineSettings: session.machineSettings,
    });
    console.log(`session "${session.name}": code-server ${server.url} (log: ${server.logFile})`);
    const remote = (file: string) => `vscode-remote://127.0.0.1:${server!.port}${file}`;
    const payload = JSON.stringify([
      ['extensionDevelopmentPath', remote(REPO_ROOT)],
      ['extensionTestsPath', remote(SUITE)],
    ]);
    browser = await launchBrowser();
    const exitCode = new Promise<number>((resolve) => {
      void browser!.page.exposeFunction('codeAutomationExit', (code: number) => resolve(code));
    });
    browser.page.on('console', (message) => {
      const text = message.text();
      if (process.env.MSN_TEST_VERBOSE || /\[Extension Host\]|msn-complete/i.test(text)) console.log(`[browser] ${text}`);
    });
    const url = 'folder' in session.open
      ? server.workbenchUrl(session.open.folder, { payload })
      : server.workspaceFileUrl(session.open.workspaceFile, { payload });
    await browser.page.goto(url);
    const timeout = new Promise<number>((resolve) => setTimeout(() => resolve(-1), RUN_TIMEOUT_MS).unref());
    const code = await Promise.race([exitCode, timeout]);
    // The extension's log first, so the test summary stays the last thing printed.
    console.log(`extension host exited with code ${code}`);
    if (code !== 0) console.log(`the extension's log:\n${server.logTail('MSN Complete')}\n${server.logTail('remoteexthost', 20)}\n`);
    if (fs.existsSync(reportFile)) {
      printReport(JSON.parse(fs.readFileSync(reportFile, 'utf8')) as Report);
    } else {
      console.log('the suite wrote no report (it did not load or crashed before the end); see the code-server log');
    }
    if (code === -1) console.log(`timed out after ${RUN_TIMEOUT_MS / 1000} s`);
    return code === 0 && fs.existsSync(reportFile) ? 0 : 1;
  } finally {
    await browser?.close();
    if (server && process.env.MSN_TEST_KEEP_LOG) console.log(fs.readFileSync(server.logFile, 'utf8'));
    await server?.stop();
  }
}

async function main(): Promise<number> {
  if (!fs.existsSync(SUITE)) throw new Error(`${SUITE} is missing: run test/vscode/run.sh (it compiles the suite)`);
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'msn-vscode-test-'));
  try {
    let failed = 0;
    // One after the other: each loads a model, and this machine has two cores.
    for (const session of prepareSessions(scratch)) failed += await runSession(session, scratch);
    return failed > 0 ? 1 : 0;
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

main().then((code) => process.exit(code), (error: Error) => {
  console.error(error.stack ?? error);
  process.exit(1);
});
