// `npm start` (scripts/start.sh): code-server on 127.0.0.1 with the packaged extension installed
// and a copy of the sample workspace open; runs in the foreground until Ctrl+C, then stops
// code-server's whole process group and removes the copy.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isPortFree, pickFreePort, startCodeServer } from './codeServer';
import { copyWorkspace, E2E_WORKSPACE } from './workspace';

const DEFAULT_PORT = 8080;

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

async function choosePort(requested: string | undefined): Promise<number> {
  if (requested) return Number(requested);
  return (await isPortFree(DEFAULT_PORT)) ? DEFAULT_PORT : pickFreePort();
}

async function main(): Promise<void> {
  const vsix = argument('vsix');
  if (!vsix || !fs.existsSync(vsix)) throw new Error(`--vsix FILE is required (got ${vsix})`);
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'msn-start-'));
  process.on('exit', () => fs.rmSync(scratch, { recursive: true, force: true }));
  const workspace = copyWorkspace(E2E_WORKSPACE, path.join(scratch, 'sample-workspace'));
  const port = await choosePort(argument('port') ?? process.env.PORT);
  console.log(`[start] installing ${path.basename(vsix)} and starting code-server on 127.0.0.1:${port}`);
  const server = await startCodeServer({ port, installVsix: [path.resolve(vsix)] });
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      stopping = true;
      console.log('\n[start] stopping code-server...');
    });
  }
  process.once('exit', () => console.log('[start] stopped'));
  console.log(`[start] MSN Complete is running in code-server (log: ${server.logFile})`);
  console.log(`[start] open ${server.workbenchUrl(workspace)}`);
  console.log('[start] press Ctrl+C to stop');
  // Stay in the foreground; the harness stops the process group on SIGINT/SIGTERM and exits.
  await new Promise(() => setInterval(() => {
    if (stopping) return;
    try {
      process.kill(server.pid, 0);
    } catch {
      console.error(`[start] code-server exited; see ${server.logFile}`);
      process.exit(1);
    }
  }, 2000));
}

main().catch((error: Error) => {
  console.error(`[start] ${error.message}`);
  process.exit(1);
});
