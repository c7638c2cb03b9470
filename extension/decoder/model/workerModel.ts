// The model session in a worker thread (forwardWorker.ts), as the decoding process runs it:
// onnxruntime-node's session.run blocks its thread for the whole pass, so in the main thread
// a cancel or a new request could only be read after it.
//
// A pass's inputs are copied into fresh buffers and transferred (they are small); the KV
// cache's arrays are lent: their buffers are transferred to the worker (no copy, however long
// the past) and come back with the outputs (logits and new KV rows, also transferred). While
// a pass runs, the main thread's cache arrays are empty, so nothing can write the rows the
// worker reads. Passes are sent one at a time, in call order, each once the previous one's
// buffers are back; a caller that stops waiting for a pass (a cancel) leaves it to finish here.
import { Worker } from 'node:worker_threads';
import type { MsnConfig } from './msnConfig';
import type { ForwardInputs, ForwardOutputs, ModelSession, SessionOpener, SessionSettings } from './onnxModel';
import { buffersOf, fromWorkerError, OPEN_ID, type FromWorker, type PassRequest, type ToWorker, type WorkerStart } from './workerMessages';

export interface WorkerModelOptions {
  /** The built worker entry point, dist/decoder/forwardWorker.js. */
  script: string;
  /**
   * The worker stopped without being released (its open passes have failed). The lent cache
   * buffers went with it, so the model is unusable: the decoding process exits and the host
   * restarts it.
   */
  onCrash?: (error: Error) => void;
}

interface Waiting {
  resolve(reply: FromWorker): void;
  reject(error: Error): void;
}

export class WorkerModel implements ModelSession {
  private readonly waiting = new Map<number, Waiting>();
  private nextId = OPEN_ID + 1;
  /** Settles when the last pass sent or queued is back (never rejects). */
  private tail: Promise<unknown> = Promise.resolve();
  private failure: Error | null = null;
  /** Open succeeded: from now on the worker holds state the process cannot do without. */
  private opened = false;
  private stopped = false;

  private constructor(private readonly worker: Worker, private readonly options: WorkerModelOptions) {
    // Idle, the worker does not keep the process alive (as an in-thread session would not).
    worker.unref();
    worker.on('message', (reply: FromWorker) => this.onReply(reply));
    worker.on('error', (error) => this.crash(new Error(`the forward-pass worker failed: ${error.message}`)));
    worker.on('exit', (code) => this.crash(new Error(`the forward-pass worker exited (code ${code})`)));
  }

  /** Starts a worker that opens model.onnx; fails as OnnxModel.open would (ModelInvalidError naming the file). */
  static async open(modelPath: string, config: MsnConfig, settings: SessionSettings, options: WorkerModelOptions): Promise<WorkerModel> {
    const start: WorkerStart = { modelPath, config, settings };
    const model = new WorkerModel(new Worker(options.script, { workerData: start }), options);
    try {
      succeeded(await model.expect(OPEN_ID));
    } catch (error) {
      await model.stop();
      throw error;
    }
    model.opened = true;
    return model;
  }

  /** A SessionOpener that opens models in workers with these options. */
  static opener(options: WorkerModelOptions): SessionOpener {
    return (modelPath, config, settings) => WorkerModel.open(modelPath, config, settings, options);
  }

  forward(inputs: ForwardInputs): Promise<ForwardOutputs> {
    const pass = this.tail.then(() => this.send(inputs));
    this.tail = pass.catch(() => undefined);
    return pass;
  }

  /** Releases the session after the passes sent before, then stops the worker. */
  async release(): Promise<void> {
    const done = this.tail.then(async () => {
      if (this.failure) return;
      const id = this.nextId++;
      await this.call({ kind: 'release', id }); // an error releasing is moot: the session goes with the thread
    });
    this.tail = done;
    await done;
    await this.stop();
  }

  private async send(inputs: ForwardInputs): Promise<ForwardOutputs> {
    const id = this.nextId++;
    // Copies of exactly q (ids) and q x (past + q) (mask) values: a reused input buffer may be larger.
    const request: PassRequest = {
      kind: 'forward', id, past: inputs.past,
      inputIds: inputs.inputIds.slice(), positionIds: inputs.positionIds.slice(), attentionMask: inputs.attentionMask.slice(),
      pastKeys: [...inputs.pastKeys], pastValues: [...inputs.pastValues],
    };
    const transfer = buffersOf([request.inputIds, request.positionIds, request.attentionMask, ...request.pastKeys, ...request.pastValues]);
    const answer = await this.call(request, transfer);
    // The cache's arrays come back whatever the outcome, also for a pass whose caller stopped waiting.
    answer.pastKeys?.forEach((array, layer) => { inputs.pastKeys[layer] = array; });
    answer.pastValues?.forEach((array, layer) => { inputs.pastValues[layer] = array; });
    return succeeded(answer).outputs!;
  }

  /** Sends `message` and gives its reply; rejects only when the worker is (or goes) down first. */
  private async call(message: ToWorker, transfer: ArrayBuffer[] = []): Promise<FromWorker> {
    if (this.failure) throw this.failure;
    if (this.stopped) throw new Error('the model was released');
    const reply = this.expect(message.id);
    try {
      this.worker.postMessage(message, transfer);
    } catch (error) {
      this.forget(message.id); // nothing was sent (e.g. a buffer that cannot be transferred)
      throw error;
    }
    return reply;
  }

  /** The reply to message `id`; rejects only when the worker dies first. */
  private expect(id: number): Promise<FromWorker> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.waiting.size === 0) this.worker.ref(); // a reply is awaited: keep the process alive for it
    return new Promise<FromWorker>((resolve, reject) => this.waiting.set(id, { resolve, reject }));
  }

  private onReply(reply: FromWorker): void {
    this.forget(reply.id)?.resolve(reply);
  }

  private forget(id: number): Waiting | undefined {
    const waiting = this.waiting.get(id);
    if (!waiting) return undefined;
    this.waiting.delete(id);
    if (this.waiting.size === 0) this.worker.unref();
    return waiting;
  }

  private crash(error: Error): void {
    if (this.failure || this.stopped) return;
    this.failure = error;
    for (const waiting of this.waiting.values()) waiting.reject(error);
    this.waiting.clear();
    if (this.opened) this.options.onCrash?.(error);
  }

  private async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const terminated = this.worker.terminate();
    // A worker that failed is gone or going: the caller (a failing load) must not wait on it, so
    // its error is answered before the process exits (onCrash).
    if (!this.failure) await terminated;
  }
}

/** The reply, or its error thrown (a ModelInvalidError stays one). */
function succeeded(reply: FromWorker): FromWorker {
  if (reply.error) throw fromWorkerError(reply.error);
  return reply;
}
