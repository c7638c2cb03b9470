// Messages between WorkerModel (the decoding process's main thread) and forwardWorker.ts
// (the thread that owns the ONNX Runtime session). Typed arrays travel as transferred
// buffers: the KV cache's buffers go to the worker for a pass and come back with its outputs.
import { ModelInvalidError } from './errors';
import type { MsnConfig } from './msnConfig';
import type { ForwardOutputs, SessionSettings } from './onnxModel';

/** The worker's workerData: what it opens at start. */
export interface WorkerStart {
  modelPath: string;
  config: MsnConfig;
  settings: SessionSettings;
}

export interface PassRequest {
  kind: 'forward';
  id: number;
  inputIds: BigInt64Array;
  positionIds: BigInt64Array;
  attentionMask: Float32Array;
  past: number;
  /** The cache's arrays, lent for the pass: returned in the reply whatever its outcome. */
  pastKeys: Float32Array[];
  pastValues: Float32Array[];
}

export type ToWorker = PassRequest | { kind: 'release'; id: number };

/** An error as it crosses the port (a class does not survive structured cloning). */
export interface WorkerError {
  message: string;
  /** Set for a ModelInvalidError. */
  file?: string;
  detail?: string;
}

/** id 0 answers the start (open); other ids answer the ToWorker message with that id. */
export interface FromWorker {
  id: number;
  error?: WorkerError;
  outputs?: ForwardOutputs;
  pastKeys?: Float32Array[];
  pastValues?: Float32Array[];
}

export const OPEN_ID = 0;

export function toWorkerError(error: unknown): WorkerError {
  if (error instanceof ModelInvalidError) return { message: error.message, file: error.file, detail: error.detail };
  return { message: error instanceof Error ? error.message : String(error) };
}

export function fromWorkerError(error: WorkerError): Error {
  if (error.file !== undefined && error.detail !== undefined) return new ModelInvalidError(error.file, error.detail);
  return new Error(error.message);
}

/** The distinct buffers under `arrays`, for a transfer list (a buffer listed twice is an error). */
export function buffersOf(arrays: Iterable<ArrayBufferView>): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const array of arrays) buffers.add(array.buffer as ArrayBuffer);
  return [...buffers];
}
