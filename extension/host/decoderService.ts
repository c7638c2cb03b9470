// The decoding process as the editor sees it: spawned with the editor's own Node runtime,
// supervised (./logic/decoderSupervisor.ts), logged to an output channel, and reported to
// the user when it cannot be kept running.

import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Method, ProgressEvent, RequestParams, SpeedupMeasurement } from '../protocol';
import type { RequestHandle, RequestOptions } from './logic/decoderClient';
import { DecoderSupervisor, type SupervisorState } from './logic/decoderSupervisor';
import { readSettings, resolveModelDir } from './settings';

export class DecoderService implements vscode.Disposable {
  private readonly stateEmitter = new vscode.EventEmitter<SupervisorState>();
  private readonly progressEmitter = new vscode.EventEmitter<ProgressEvent['data']>();
  readonly onDidChangeState = this.stateEmitter.event;
  readonly onProgress = this.progressEmitter.event;
  private readonly speedupEmitter = new vscode.EventEmitter<{ requestId: number; measurement: SpeedupMeasurement }>();
  /** A completion's speed-up, measured by the decoder once idle after answering it. */
  readonly onSpeedup = this.speedupEmitter.event;
  private readonly supervisor: DecoderSupervisor;

  constructor(private readonly extensionPath: string, private readonly log: vscode.LogOutputChannel) {
    this.supervisor = new DecoderSupervisor({
      launch: () => ({
        // The editor's own runtime: Electron in desktop VS Code (run as plain Node), Node in code-server.
        command: process.execPath,
        args: [path.join(extensionPath, 'dist', 'decoder', 'main.js')],
        env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
        cwd: extensionPath,
      }),
      loadParams: () => {
        const settings = readSettings();
        const params: RequestParams['load'] = { modelDir: resolveModelDir(settings, extensionPath) };
        if (settings.threads > 0) params.threads = settings.threads;
        this.log.info(`loading model from ${params.modelDir}`);
        return params;
      },
      onState: (state) => this.handleState(state),
      onProgress: (data) => this.progressEmitter.fire(data),
      onSpeedup: (requestId, measurement) => this.speedupEmitter.fire({ requestId, measurement }),
      onLog: (line) => this.log.info(`[decoder] ${line}`),
    });
  }

  get state(): SupervisorState {
    return this.supervisor.state;
  }

  get pid(): number | undefined {
    return this.supervisor.pid;
  }

  start(): void {
    this.supervisor.start();
  }

  restart(): Promise<void> {
    this.log.info('restarting the decoder');
    return this.supervisor.restart();
  }

  get openRequests(): number {
    return this.supervisor.openRequests;
  }

  request<M extends Method>(method: M, params: RequestParams[M], options?: RequestOptions): RequestHandle<M> {
    return this.supervisor.request(method, params, options);
  }

  whenReady(timeoutMs: number): Promise<boolean> {
    return this.supervisor.whenReady(timeoutMs);
  }

  /** Used by deactivate: shutdown, then kill after a grace period. */
  stop(): Promise<void> {
    return this.supervisor.stop();
  }

  dispose(): void {
    void this.supervisor.stop();
    this.stateEmitter.dispose();
    this.progressEmitter.dispose();
    this.speedupEmitter.dispose();
  }

  private handleState(state: SupervisorState): void {
    switch (state.kind) {
      case 'ready':
        this.log.info(`decoder ready (pid ${this.supervisor.pid}): model ${state.model.name}, ${state.model.layers} layers`);
        break;
      case 'restarting':
        this.log.warn(`decoder stopped unexpectedly; restarting in ${state.delayMs} ms\n${state.reason}`);
        break;
      case 'failed':
        this.log.error(`decoder failed\n${state.reason}`);
        void this.notifyFailure(state.reason);
        break;
      default:
        break;
    }
    this.stateEmitter.fire(state);
  }

  private async notifyFailure(reason: string): Promise<void> {
    const lines = reason.split('\n').filter((line) => line.trim() !== '');
    const summary = [lines[0], lines.at(-1)].filter((line, i, all) => line && all.indexOf(line) === i).join(' — ');
    const choice = await vscode.window.showErrorMessage(`MSN Complete: the decoding process stopped: ${summary}`, 'Restart', 'Show Log');
    if (choice === 'Restart') await this.restart();
    else if (choice === 'Show Log') this.log.show(true);
  }
}
