// Protocol handling of the decoding process: one NDJSON request per line in, exactly one
// response per request out (plus chunk / speedup / progress events). Model work (load, complete,
// generate) runs one request at a time; cancel, stats and corpus requests are answered
// while a generation runs, because forward passes run in a worker thread and the generation
// loop yields between steps; a cancel ends a generation at once, even during a pass.
import {
  parseRequest, type DecoderMessage, type ErrorCode, type Method, type Request, type RequestParams, type ResponseResults,
} from '../protocol';
import { ChunkBatcher } from './chunkBatcher';
import { ModelNotLoadedError, type DecoderEngine, type ReplayableRun } from './engine/decoderEngine';
import { PreemptionGate } from './engine/preemption';
import { ModelInvalidError } from './model/errors';
import { validateParams } from './serverParams';

/**
 * How long after a tree completion's answer its replay waits: the editor applies the answer (inserting
 * text, redrawing) on the same cores, and a replay right then timed that too (in the e2e run plain
 * greedy's replay read 120 ms for a Generate that plain greedy had decoded in 69 ms in the editor).
 */
const REPLAY_SETTLE_MS = 150;

export interface ServerIo {
  send(message: DecoderMessage): void;
  log(message: string): void;
  /** Called after the shutdown response was sent. */
  exit(code: number): void;
}

interface ActiveRequest {
  /** Aborted by `cancel` (or shutdown): the generation ends at once, even in the middle of a forward pass. */
  cancel: AbortController;
  /** performance.now() when the request line arrived. */
  receivedAt: number;
}

export class DecoderServer {
  private readonly active = new Map<number, ActiveRequest>();
  private modelQueue: Promise<unknown> = Promise.resolve();
  private shuttingDown = false;
  /** While a Generate runs: inline completions run between its steps instead of after it. */
  private generation: PreemptionGate | null = null;

  constructor(private readonly engine: DecoderEngine, private readonly io: ServerIo) {}

  handleLine(line: string): void {
    const receivedAt = performance.now();
    const parsed = parseRequest(line);
    if (!parsed.ok) {
      this.io.send(parsed.response);
      return;
    }
    const { request } = parsed;
    const validated = validateParams(request.method, request.params);
    if (!validated.ok) {
      this.fail(request.id, 'invalid-params', validated.message);
      return;
    }
    if (this.shuttingDown) {
      this.fail(request.id, 'cancelled', 'the decoder is shutting down');
      return;
    }
    void this.dispatch({ ...request, params: validated.params } as Request, receivedAt).catch((e) => this.reportFailure(request.id, e));
  }

  private async dispatch(request: Request, receivedAt: number): Promise<void> {
    const { id } = request;
    switch (request.method) {
      case 'cancel': {
        const { requestId } = request.params as RequestParams['cancel'];
        const target = this.active.get(requestId);
        target?.cancel.abort();
        return this.reply(id, 'cancel', { cancelled: target !== undefined });
      }
      case 'stats':
        return this.reply(id, 'stats', {
          model: this.engine.modelInfo, corpus: this.engine.corpus.counts(), recent: this.engine.recentStats,
          memoryMb: Math.round(process.memoryUsage().rss / 1e6),
        });
      case 'corpus.upsert': {
        const { documents } = request.params as RequestParams['corpus.upsert'];
        const outcome = await this.engine.corpus.upsert(documents, (p) => {
          if (p.total >= 20 && (p.done % 20 === 0 || p.done === p.total)) this.progress('indexing', 'indexing workspace documents', p.done, p.total);
        });
        for (const skip of outcome.skipped) this.io.log(`corpus: skipped ${skip.uri}: ${skip.reason}`);
        if (outcome.skipped.length > 0) this.progress('indexing', `skipped ${outcome.skipped.length} document(s): ${outcome.skipped.map((s) => `${s.uri} (${s.reason})`).join('; ')}`);
        return this.reply(id, request.method, { documents: outcome.documents, tokens: outcome.tokens });
      }
      case 'corpus.remove': {
        const { uris } = request.params as RequestParams['corpus.remove'];
        return this.reply(id, 'corpus.remove', await this.engine.corpus.remove(uris));
      }
      case 'shutdown':
        this.shuttingDown = true;
        for (const active of this.active.values()) active.cancel.abort();
        this.reply(id, 'shutdown', {});
        this.io.exit(0);
        return;
      case 'complete':
        if (this.generation) return this.runBetweenSteps(this.generation, request, receivedAt);
        return this.runModelRequest(request, receivedAt);
      case 'load':
      case 'generate':
        return this.runModelRequest(request, receivedAt);
    }
  }

  /** Model requests run one after another; a cancel can reach one still waiting its turn. */
  private runModelRequest(request: Request, receivedAt: number): Promise<void> {
    const control: ActiveRequest = { cancel: new AbortController(), receivedAt };
    this.active.set(request.id, control);
    const run = async () => {
      try {
        await this.executeModelRequest(request, control);
      } catch (e) {
        this.reportFailure(request.id, e);
      } finally {
        this.active.delete(request.id);
      }
    };
    const next = this.modelQueue.then(run, run);
    this.modelQueue = next;
    return next;
  }

  /** Runs a completion at the next step boundary of the running Generate. */
  private async runBetweenSteps(gate: PreemptionGate, request: Request, receivedAt: number): Promise<void> {
    const control: ActiveRequest = { cancel: new AbortController(), receivedAt };
    this.active.set(request.id, control);
    try {
      await gate.run(() => this.executeModelRequest(request, control));
    } catch (e) {
      this.reportFailure(request.id, e);
    } finally {
      this.active.delete(request.id);
    }
  }

  private async executeModelRequest(request: Request, control: ActiveRequest): Promise<void> {
    const { id } = request;
    const { signal } = control.cancel;
    const isCancelled = () => signal.aborted;
    const queueMs = performance.now() - control.receivedAt;
    switch (request.method) {
      case 'load': {
        const { modelDir, threads } = request.params as RequestParams['load'];
        return this.reply(id, 'load', await this.engine.load(modelDir, threads ?? 1));
      }
      case 'complete': {
        const params = request.params as RequestParams['complete'];
        const { replayable, ...result } = await this.engine.complete(params, { isCancelled, signal });
        this.reply(id, 'complete', { ...result, stats: { ...result.stats, queueMs, requestId: id } });
        if (!this.generation) this.measureWhenIdle(id, replayable);
        return;
      }
      case 'generate': {
        const params = request.params as RequestParams['generate'];
        const gate = new PreemptionGate();
        this.generation = gate;
        const chunks = new ChunkBatcher((text) => this.io.send({ id, event: 'chunk', data: { text } }));
        try {
          const { replayable, ...result } = await this.engine.generate(params, { isCancelled, signal }, (text) => chunks.push(text), gate);
          chunks.flush();
          this.reply(id, 'generate', { ...result, stats: { ...result.stats, queueMs, requestId: id } });
          this.measureWhenIdle(id, replayable);
        } finally {
          this.generation = null;
          await gate.runPending(); // completions that arrived after the last step
        }
        return;
      }
      default:
        throw new Error(`not a model request: ${request.method}`);
    }
  }

  /**
   * After a tree generation, once nothing else waits and the editor had REPLAY_SETTLE_MS to apply the
   * answer: replay it on the cache it left, with its trees and with plain greedy (DecoderEngine.measureSpeedup),
   * and send the measured speed-up as a `speedup` event for its request. It yields to any request that
   * arrives, after at most one pass.
   */
  private measureWhenIdle(id: number, run: ReplayableRun | null): void {
    if (!run) return;
    const busy = () => this.shuttingDown || this.active.size > 0;
    setTimeout(() => {
      if (busy()) return;
      const replay = async () => {
        try {
          const measured = await this.engine.measureSpeedup(busy, run);
          if (!measured) return;
          this.io.send({ id, event: 'speedup', data: measured });
        } catch (e) {
          this.io.log(`speed-up replay failed: ${e instanceof Error ? e.message : e}`);
        }
      };
      this.modelQueue = this.modelQueue.then(replay, replay);
    }, REPLAY_SETTLE_MS).unref();
  }

  private reply<M extends Method>(id: number, _method: M, result: ResponseResults[M]): void {
    this.io.send({ id, result });
  }

  private fail(id: number | null, code: ErrorCode, message: string): void {
    this.io.send({ id, error: { code, message } });
  }

  private progress(phase: 'loading' | 'calibrating' | 'indexing' | 'ready', message: string, done?: number, total?: number): void {
    this.io.send({ event: 'progress', data: { phase, message, done, total } });
  }

  private reportFailure(id: number, error: unknown): void {
    if (error instanceof ModelInvalidError) return this.fail(id, 'model-invalid', error.message);
    if (error instanceof ModelNotLoadedError) return this.fail(id, 'model-not-loaded', error.message);
    const message = error instanceof Error ? error.message : String(error);
    this.io.log(`request ${id} failed: ${error instanceof Error ? error.stack : message}`);
    this.fail(id, 'internal', message);
  }
}
