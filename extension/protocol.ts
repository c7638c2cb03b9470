// The wire protocol between the extension host and the decoding process.
// Newline-delimited JSON over stdio: one message per line, UTF-8. The host sends
// requests; the decoder answers every request with exactly one response (result
// or error) and may send stream events for it before that. Both sides import
// this module, so it must not import `vscode` or any Node-only module.

export const PROTOCOL_VERSION = 1;

/** Strategies the engine implements; `ar` is the plain greedy reference. */
export type StrategyName = 'ar' | 'jacobi' | 'pld' | 'tr-jacobi';
export const STRATEGIES: readonly StrategyName[] = ['ar', 'jacobi', 'pld', 'tr-jacobi'];

/** Single-line stops at the end of the current line; block at a blank line or the FIM end. */
export type CompletionMode = 'line' | 'block';

export interface DecodeOptions {
  maxTokens: number;
  strategy?: StrategyName;
  /** Number of draft nodes per forward pass; omitted or 0 means "size it automatically". */
  treeBudget?: number;
  /** Extra stop strings; the completion is cut before the first one. */
  stop?: string[];
  /**
   * Decode the workspace mixture (the model's next-token distribution mixed with the workspace's
   * n-grams, docs/decoding.md) instead of the model alone. Default: on when the model has mixture weights.
   */
  workspaceMixture?: boolean;
}

/** Why a generation ended. */
export type StopReason = 'max-tokens' | 'eos' | 'stop-string' | 'cancelled';

/** Progress of indexing workspace documents. */
export interface IndexingProgress {
  done: number;
  total: number;
}

export interface DecodeStats {
  strategy: StrategyName;
  tokens: number;
  forwardPasses: number;
  elapsedMs: number;
  tokensPerSecond: number;
  /** Generated tokens per forward pass (1 for `ar`). */
  meanAcceptedPerPass: number;
  /** Draft tokens accepted, split by where the draft came from. */
  acceptedFromRetrieval: number;
  acceptedFromJacobi: number;
  /** Noise tokens (drawn from the context where no Jacobi guess stood yet) the model happened to confirm. */
  acceptedFromNoise: number;
  treeBudget: number;
  stopReason: StopReason;
  /** Prompt tokens, and how many of them reused KV rows of the previous request. */
  promptTokens: number;
  reusedPromptTokens: number;
  prefillMs: number;
  /** The answer was the rest of an earlier generation this prompt extends (no forward pass; exact). */
  fromMemo: boolean;
  /** From the request line's arrival in the decoder to the start of its work (waiting for the model). */
  queueMs: number;
  /** The request it answered: a later `speedup` event for it names this id. */
  requestId?: number;
  /** The repo-level header of the prompt, when it had one (the model declares repo tokens and a path was given). */
  context?: PromptContext;
  /** Decoded with the workspace mixture (greedy decoding of the mixture, not of the model alone). */
  workspaceMixture: boolean;
}

/** What a repo-level prompt named: its repository, the current file, and the files its chunks came from. */
export interface PromptContext {
  repoName: string;
  path: string;
  /** The chunks' files as the prompt labels them, in prompt order, each once. */
  files: string[];
}

export interface ModelInfo {
  modelDir: string;
  format: string;
  name: string;
  layers: number;
  vocabSize: number;
  parameters?: number;
  /** How it is prompted, in words, e.g. "FIM spm/psm, repo-level context". */
  promptFormat: string;
  /** Median ms per forward pass by number of query tokens, as measured at start-up. */
  latencyCurve: Record<string, number>;
  /** Whether the model has weights for the workspace mixture (mixture.json); without, it decodes alone. */
  workspaceMixture: boolean;
  /**
   * Why every request of this model is decoded with plain greedy whatever strategy it names, in one
   * sentence: on this CPU a token's logits change with the number of tokens in a pass, so tree
   * decoding would not be lossless. Absent: every strategy runs.
   */
  plainGreedyOnly?: string;
}

export interface CorpusDocument {
  uri: string;
  text: string;
  /** Path relative to its workspace folder, shown to the model in repo-level prompts (default: the uri's last segments). */
  path?: string;
  /**
   * Its workspace folder's name (multi-root workspaces): in a prompt for a file of another folder its
   * chunks are labelled `repoName/path`. Absent: the same repository as every request.
   */
  repoName?: string;
}

/** Where a completion is asked for: chunks of the workspace's other files go into the prompt. */
export interface DocumentLocation {
  /** The current document (its own chunks are never context). */
  uri?: string;
  /** Its path relative to its workspace folder. */
  path?: string;
  /** Its workspace folder's name (`<|repo_name|>`). */
  repoName?: string;
}

// ---- requests (host -> decoder) ----

export interface RequestParams {
  /** Load (or reload) a model directory; must precede complete/generate. */
  load: { modelDir: string; threads?: number };
  /** Fill-in-the-middle completion at a cursor. */
  complete: { prefix: string; suffix: string; mode: CompletionMode } & DecodeOptions & DocumentLocation;
  /** Streaming generation from a prefix (suffix optional); emits `chunk` events. */
  generate: { prefix: string; suffix?: string } & DecodeOptions & DocumentLocation;
  /** Stop the request with the given id within one decoding step. */
  cancel: { requestId: number };
  /** Adds documents, or replaces the ones with the same uri. */
  'corpus.upsert': { documents: CorpusDocument[] };
  'corpus.remove': { uris: string[] };
  stats: Record<string, never>;
  shutdown: Record<string, never>;
}

export interface ResponseResults {
  load: ModelInfo;
  complete: { text: string; stats: DecodeStats };
  generate: { text: string; stats: DecodeStats };
  cancel: { cancelled: boolean };
  'corpus.upsert': { documents: number; tokens: number };
  'corpus.remove': { documents: number; tokens: number };
  stats: {
    model: ModelInfo | null;
    corpus: { documents: number; tokens: number };
    recent: DecodeStats[];
    /** The decoding process's resident memory, MB. */
    memoryMb: number;
  };
  shutdown: Record<string, never>;
}

export type Method = keyof RequestParams;
export const METHODS: readonly Method[] = [
  'load', 'complete', 'generate', 'cancel', 'corpus.upsert', 'corpus.remove', 'stats', 'shutdown',
];

export interface Request<M extends Method = Method> {
  id: number;
  method: M;
  params: RequestParams[M];
}

// ---- messages (decoder -> host) ----

export type ErrorCode =
  | 'parse-error'      // the line was not JSON or not a request object
  | 'unknown-method'
  | 'invalid-params'
  | 'model-not-loaded'
  | 'model-invalid'    // the model directory is broken; message names the file
  | 'cancelled'
  | 'internal';

export interface ErrorBody {
  code: ErrorCode;
  message: string;
}

export interface SuccessResponse<M extends Method = Method> {
  id: number;
  result: ResponseResults[M];
}

export interface ErrorResponse {
  /** null when the request id could not be read (parse errors). */
  id: number | null;
  error: ErrorBody;
}

/** Streamed text of a `generate` request, in order; concatenated they equal the final text. */
export interface ChunkEvent {
  id: number;
  event: 'chunk';
  data: { text: string };
}

/**
 * A tree completion's speed-up, measured once the decoder was idle (DecoderEngine.measureSpeedup): the
 * same tokens, on the same cache rows, decoded again by its own trees and by plain greedy.
 */
export interface SpeedupMeasurement {
  strategy: StrategyName;
  /** Tokens replayed (the completion's last ones, when it was long). */
  tokens: number;
  /** The completion's own time for those tokens, as it ran (under the editor's load). */
  liveMs: number;
  /** Replayed idle: its trees verified again (plus its drafting time as it ran), and plain greedy. */
  treeIdleMs: number;
  arIdleMs: number;
}

/** Whether a `speedup` event's data is a measurement (a malformed one is dropped, not shown as a figure). */
export function isSpeedupMeasurement(value: unknown): value is SpeedupMeasurement {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as Record<string, unknown>;
  const finite = (x: unknown) => typeof x === 'number' && Number.isFinite(x) && x >= 0;
  return (STRATEGIES as readonly unknown[]).includes(m.strategy) && finite(m.tokens) && finite(m.liveMs) && finite(m.treeIdleMs) && finite(m.arIdleMs);
}

/** The speed-up of the completion that request `id` answered, measured after its response. */
export interface SpeedupEvent {
  id: number;
  event: 'speedup';
  data: SpeedupMeasurement;
}

/** Unsolicited progress (e.g. corpus indexing, calibration); id is absent. */
export interface ProgressEvent {
  event: 'progress';
  data: { phase: 'loading' | 'calibrating' | 'indexing' | 'ready'; message: string; done?: number; total?: number };
}

export type DecoderMessage = SuccessResponse | ErrorResponse | ChunkEvent | SpeedupEvent | ProgressEvent;

export function encodeMessage(message: Request | DecoderMessage): string {
  return JSON.stringify(message) + '\n';
}

/**
 * Splits a byte stream into lines. Feed it chunks; it calls `onLine` for every
 * complete line and keeps the remainder. Lines are decoded as UTF-8 by the caller's
 * stream encoding (set the stream to 'utf8' so multi-byte characters are never split).
 */
/**
 * Splits a stream into lines. Each chunk is searched once (a line arriving in many chunks costs
 * O(its length), not O(length x chunks)), and a line longer than `maxLineChars` is dropped whole:
 * `onOversize` hears of it once, with its length, and the lines after it are read normally.
 */
export class LineSplitter {
  private parts: string[] = [];
  private partsLength = 0;
  private oversize = false;

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxLineChars = Number.POSITIVE_INFINITY,
    private readonly onOversize: (chars: number) => void = () => undefined,
  ) {}

  push(chunk: string): void {
    let start = 0;
    for (let newline = chunk.indexOf('\n'); newline >= 0; newline = chunk.indexOf('\n', start)) {
      this.take(chunk.slice(start, newline));
      const length = this.partsLength;
      if (this.oversize) this.onOversize(length);
      else {
        const line = this.parts.join('');
        if (line.trim().length > 0) this.onLine(line);
      }
      this.parts = [];
      this.partsLength = 0;
      this.oversize = false;
      start = newline + 1;
    }
    if (start < chunk.length) this.take(chunk.slice(start));
  }

  private take(piece: string): void {
    this.partsLength += piece.length;
    if (this.oversize) return;
    if (this.partsLength > this.maxLineChars) {
      this.oversize = true;
      this.parts = [];
      return;
    }
    if (piece.length > 0) this.parts.push(piece);
  }
}

export type ParsedRequest = { ok: true; request: Request } | { ok: false; response: ErrorResponse };

/** Validates the envelope of one request line; params are validated by the handler. */
export function parseRequest(line: string): ParsedRequest {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (e) {
    return { ok: false, response: { id: null, error: { code: 'parse-error', message: `not valid JSON: ${(e as Error).message}` } } };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, response: { id: null, error: { code: 'parse-error', message: 'a request must be a JSON object' } } };
  }
  const obj = value as Record<string, unknown>;
  const id = typeof obj.id === 'number' && Number.isInteger(obj.id) ? obj.id : null;
  if (id === null) {
    return { ok: false, response: { id: null, error: { code: 'parse-error', message: 'a request needs an integer "id"' } } };
  }
  if (typeof obj.method !== 'string' || !(METHODS as readonly string[]).includes(obj.method)) {
    return { ok: false, response: { id, error: { code: 'unknown-method', message: `unknown method: ${JSON.stringify(obj.method)}` } } };
  }
  const params = obj.params ?? {};
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    return { ok: false, response: { id, error: { code: 'invalid-params', message: '"params" must be an object' } } };
  }
  return { ok: true, request: { id, method: obj.method as Method, params: params as RequestParams[Method] } };
}
