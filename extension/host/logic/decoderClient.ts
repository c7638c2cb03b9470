// The host's end of the wire protocol (../../protocol.ts), independent of how lines travel:
// it numbers requests, matches responses and stream events to them by id, enforces
// timeouts, and fails every open request at once when the process goes away.

import type { DecoderMessage, ErrorCode, Method, ProgressEvent, RequestParams, ResponseResults, SpeedupMeasurement } from '../../protocol';
import { encodeMessage, isSpeedupMeasurement } from '../../protocol';

/** Request ids are unique in the host, across decoder restarts: a late `speedup` event names only its own completion. */
let nextRequestId = 1;

export type ClientErrorCode = ErrorCode | 'timeout' | 'exited' | 'not-running';

export class DecoderError extends Error {
  constructor(readonly code: ClientErrorCode, message: string) {
    super(message);
    this.name = 'DecoderError';
  }
}

export function isCancellation(error: unknown): boolean {
  return error instanceof DecoderError && error.code === 'cancelled';
}

export interface RequestOptions {
  /** Rejects with code 'timeout' (and cancels decoding requests) after this long; 0 = never. */
  timeoutMs?: number;
  /** Streamed text of a `generate` request. */
  onChunk?: (text: string) => void;
}

export interface RequestHandle<M extends Method> {
  readonly id: number;
  readonly result: Promise<ResponseResults[M]>;
  /** Asks the decoder to stop this request; the result then settles as the decoder answers. */
  cancel(): void;
}

interface OpenRequest {
  method: Method;
  resolve: (value: never) => void;
  reject: (error: Error) => void;
  onChunk?: (text: string) => void;
  timer?: ReturnType<typeof setTimeout>;
}

/** Methods whose work can be stopped early with a `cancel` request. */
const CANCELLABLE: ReadonlySet<Method> = new Set<Method>(['complete', 'generate']);

export interface DecoderClientHooks {
  onProgress?: (data: ProgressEvent['data']) => void;
  /** A completion's speed-up, measured after its answer (SpeedupEvent). */
  onSpeedup?: (requestId: number, measurement: SpeedupMeasurement) => void;
  /** A line that is not a protocol message, or a response nobody waits for. */
  onStrayLine?: (line: string) => void;
}

export class DecoderClient {
  private readonly open = new Map<number, OpenRequest>();
  private closedWith: DecoderError | null = null;
  /** Ids of our own fire-and-forget `cancel` requests, whose answers need no handling. */
  private readonly unawaited = new Set<number>();

  constructor(private readonly sendLine: (line: string) => void, private readonly hooks: DecoderClientHooks = {}) {}

  /** Requests sent and not answered yet. */
  get openCount(): number {
    return this.open.size;
  }

  request<M extends Method>(method: M, params: RequestParams[M], options: RequestOptions = {}): RequestHandle<M> {
    const id = nextRequestId++;
    const result = new Promise<ResponseResults[M]>((resolve, reject) => {
      if (this.closedWith) {
        reject(this.closedWith);
        return;
      }
      const open: OpenRequest = { method, resolve: resolve as (value: never) => void, reject, onChunk: options.onChunk };
      if (options.timeoutMs && options.timeoutMs > 0) {
        open.timer = setTimeout(() => {
          if (!this.open.has(id)) return;
          if (CANCELLABLE.has(method)) this.sendCancel(id);
          this.settle(id)?.reject(new DecoderError('timeout', `${method} timed out after ${options.timeoutMs} ms`));
        }, options.timeoutMs);
      }
      this.open.set(id, open);
      try {
        this.sendLine(encodeMessage({ id, method, params }));
      } catch (error) {
        this.settle(id)?.reject(new DecoderError('not-running', `could not send ${method}: ${(error as Error).message}`));
      }
    });
    // Callers that only fire and forget must not trigger unhandled-rejection warnings.
    result.catch(() => undefined);
    return { id, result, cancel: () => this.sendCancel(id) };
  }

  /** Feeds one line read from the decoder's stdout. */
  handleLine(line: string): void {
    let message: DecoderMessage;
    try {
      message = JSON.parse(line) as DecoderMessage;
    } catch {
      this.hooks.onStrayLine?.(line);
      return;
    }
    if (typeof message !== 'object' || message === null) {
      this.hooks.onStrayLine?.(line);
      return;
    }
    if ('event' in message) {
      if (message.event === 'progress') this.hooks.onProgress?.(message.data);
      else if (message.event === 'chunk') this.open.get(message.id)?.onChunk?.(message.data.text);
      else if (message.event === 'speedup' && isSpeedupMeasurement(message.data)) this.hooks.onSpeedup?.(message.id, message.data);
      else this.hooks.onStrayLine?.(line);
      return;
    }
    if (message.id !== null && this.unawaited.delete(message.id)) return;
    if (message.id === null || !this.open.has(message.id)) {
      this.hooks.onStrayLine?.(line);
      return;
    }
    const open = this.settle(message.id)!;
    if ('error' in message) open.reject(new DecoderError(message.error.code, message.error.message));
    else open.resolve(message.result as never);
  }

  /** Rejects every open request and any later one: the process is gone. */
  close(error: DecoderError): void {
    this.closedWith = error;
    for (const id of [...this.open.keys()]) this.settle(id)?.reject(error);
  }

  get openRequests(): number {
    return this.open.size;
  }

  private sendCancel(requestId: number): void {
    if (!this.open.has(requestId) || this.closedWith) return;
    const id = nextRequestId++;
    this.unawaited.add(id);
    try {
      this.sendLine(encodeMessage({ id, method: 'cancel', params: { requestId } }));
    } catch {
      // The process is going away; its exit will fail the request.
    }
  }

  private settle(id: number): OpenRequest | undefined {
    const open = this.open.get(id);
    if (!open) return undefined;
    this.open.delete(id);
    if (open.timer) clearTimeout(open.timer);
    return open;
  }
}
