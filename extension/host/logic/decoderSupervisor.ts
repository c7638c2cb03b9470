// Keeps one decoding process alive: spawns it, loads the model, restarts it with backoff
// when it dies, gives up (with the reason) when it keeps dying, and shuts it down politely.
// Uses only Node, so it is tested against real processes without an editor.

import { spawn, type ChildProcess } from 'node:child_process';
import type { Method, ModelInfo, ProgressEvent, RequestParams, SpeedupMeasurement } from '../../protocol';
import { LineSplitter } from '../../protocol';
import { CrashPolicy } from './crashPolicy';
import { DecoderClient, DecoderError, type RequestHandle, type RequestOptions } from './decoderClient';

export type SupervisorState =
  | { kind: 'stopped' }
  | { kind: 'starting' }
  | { kind: 'ready'; model: ModelInfo }
  | { kind: 'restarting'; delayMs: number; reason: string }
  | { kind: 'failed'; reason: string };

export interface DecoderLaunch {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface SupervisorOptions {
  launch: () => DecoderLaunch;
  loadParams: () => RequestParams['load'];
  policy?: CrashPolicy;
  loadTimeoutMs?: number;
  shutdownGraceMs?: number;
  onState?: (state: SupervisorState) => void;
  onProgress?: (data: ProgressEvent['data']) => void;
  onSpeedup?: (requestId: number, measurement: SpeedupMeasurement) => void;
  /** Diagnostics: stderr lines and stray stdout lines. */
  onLog?: (line: string) => void;
  now?: () => number;
}

const STDERR_LINES_KEPT = 30;

export class DecoderSupervisor {
  private child: ChildProcess | null = null;
  private client: DecoderClient | null = null;
  private stateValue: SupervisorState = { kind: 'stopped' };
  private restartTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly stderrTail: string[] = [];
  private readonly policy: CrashPolicy;
  private readonly readyWaiters = new Set<() => void>();
  /** Bumped on every spawn so events from an old process are ignored. */
  private generation = 0;
  private stopping: Promise<void> | null = null;

  constructor(private readonly options: SupervisorOptions) {
    this.policy = options.policy ?? new CrashPolicy();
  }

  get state(): SupervisorState {
    return this.stateValue;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    if (this.child || this.restartTimer) return;
    this.spawnProcess();
  }

  /** A user-requested restart: forget past crashes, stop the current process, start again. */
  async restart(): Promise<void> {
    this.policy.reset();
    await this.stop();
    // Two restarts at once share one stop; only the first of them spawns.
    this.start();
  }

  /** Requests sent to the current process and not answered yet. */
  get openRequests(): number {
    return this.client?.openCount ?? 0;
  }

  /** Sends a request to the ready process; rejects at once with 'not-running' otherwise. */
  request<M extends Method>(method: M, params: RequestParams[M], options: RequestOptions = {}): RequestHandle<M> {
    if (this.stateValue.kind !== 'ready' || !this.client) {
      const error = new DecoderError('not-running', `the decoder is ${this.stateValue.kind}`);
      const result = Promise.reject(error);
      result.catch(() => undefined);
      return { id: -1, result, cancel: () => undefined };
    }
    return this.client.request(method, params, options);
  }

  /** Resolves true once ready, false if it fails or `timeoutMs` passes first (waits through restarts). */
  whenReady(timeoutMs: number): Promise<boolean> {
    if (this.stateValue.kind === 'ready') return Promise.resolve(true);
    if (this.stateValue.kind === 'failed') return Promise.resolve(false);
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.readyWaiters.delete(finish);
        resolve(this.stateValue.kind === 'ready');
      };
      const timer = setTimeout(finish, timeoutMs);
      this.readyWaiters.add(finish);
    });
  }

  /** Sends `shutdown`, waits up to the grace period, then kills. Safe to call repeatedly. */
  stop(): Promise<void> {
    if (this.restartTimer) {
      clearTimeout(this.restartTimer);
      this.restartTimer = null;
    }
    if (this.stopping) return this.stopping;
    const child = this.child;
    const client = this.client;
    this.child = null;
    this.client = null;
    this.generation++; // the coming exit is intended, not a crash
    if (!child) {
      this.setState({ kind: 'stopped' });
      return Promise.resolve();
    }
    this.stopping = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) {
        resolve();
        return;
      }
      const killTimer = setTimeout(() => child.kill('SIGKILL'), this.options.shutdownGraceMs ?? 2000);
      child.once('exit', () => {
        clearTimeout(killTimer);
        resolve();
      });
      client?.request('shutdown', {});
      client?.close(new DecoderError('not-running', 'the decoder was stopped'));
      child.stdin?.end();
    }).finally(() => {
      this.stopping = null;
      if (!this.child) this.setState({ kind: 'stopped' });
    });
    return this.stopping;
  }

  private spawnProcess(): void {
    this.restartTimer = null;
    const generation = ++this.generation;
    this.stderrTail.length = 0;
    this.setState({ kind: 'starting' });
    const launch = this.options.launch();
    let child: ChildProcess;
    try {
      child = spawn(launch.command, launch.args, { env: launch.env, cwd: launch.cwd, stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true });
    } catch (error) {
      this.handleExit(generation, `could not start the decoder: ${(error as Error).message}`);
      return;
    }
    this.child = child;
    const client = new DecoderClient((line) => {
      if (!child.stdin || child.stdin.destroyed) throw new Error('stdin is closed');
      child.stdin.write(line);
    }, {
      onProgress: (data) => this.options.onProgress?.(data),
      onSpeedup: (id, measurement) => this.options.onSpeedup?.(id, measurement),
      onStrayLine: (line) => this.options.onLog?.(`[stdout] ${line}`),
    });
    this.client = client;

    child.stdout!.setEncoding('utf8');
    const splitter = new LineSplitter((line) => client.handleLine(line));
    child.stdout!.on('data', (chunk: string) => splitter.push(chunk));
    child.stderr!.setEncoding('utf8');
    const stderrSplitter = new LineSplitter((line) => {
      this.stderrTail.push(line);
      if (this.stderrTail.length > STDERR_LINES_KEPT) this.stderrTail.shift();
      this.options.onLog?.(line);
    });
    child.stderr!.on('data', (chunk: string) => stderrSplitter.push(chunk));
    // EPIPE after the process died surfaces here; the exit handler does the real work.
    child.stdin!.on('error', (error) => this.options.onLog?.(`[stdin] ${error.message}`));
    child.on('error', (error) => this.handleExit(generation, `decoder process error: ${error.message}`));
    child.on('exit', (code, signal) => {
      this.handleExit(generation, signal ? `the decoder was killed by ${signal}` : `the decoder exited with code ${code}`);
    });

    client.request('load', this.options.loadParams(), { timeoutMs: this.options.loadTimeoutMs ?? 300_000 }).result.then(
      (model) => {
        if (this.generation === generation) this.setState({ kind: 'ready', model });
      },
      (error: DecoderError) => {
        if (this.generation !== generation || error.code === 'exited') return;
        // A broken model folder will not fix itself by restarting: stop and report.
        this.generation++;
        this.child = null;
        this.client = null;
        client.close(new DecoderError('not-running', 'the model did not load'));
        child.kill('SIGKILL');
        this.setState({ kind: 'failed', reason: `could not load the model: ${error.message}` });
      },
    );
  }

  private handleExit(generation: number, description: string): void {
    if (generation !== this.generation) return;
    this.generation++;
    this.client?.close(new DecoderError('exited', description));
    this.child = null;
    this.client = null;
    const decision = this.policy.recordCrash((this.options.now ?? Date.now)());
    const reason = [description, ...this.stderrTail.slice(-8)].join('\n');
    if (decision.action === 'give-up') {
      this.setState({ kind: 'failed', reason: `${decision.crashesInWindow} crashes in a row. ${reason}` });
      return;
    }
    this.setState({ kind: 'restarting', delayMs: decision.delayMs, reason });
    this.restartTimer = setTimeout(() => this.spawnProcess(), decision.delayMs);
  }

  private setState(state: SupervisorState): void {
    this.stateValue = state;
    this.options.onState?.(state);
    if (state.kind === 'ready' || state.kind === 'failed') for (const waiter of [...this.readyWaiters]) waiter();
  }
}
