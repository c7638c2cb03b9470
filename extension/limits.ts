// Every limit that more than one part of the product enforces, in one place. The settings schema in
// package.json must declare exactly these bounds (a test checks it); the host clamps settings to them
// and the decoder validates requests against them, so a value the settings allow is never refused.

export interface Bounds {
  min: number;
  max: number;
  default: number;
}

/** Setting name (under `msnComplete.`) -> its bounds. */
export const SETTING_BOUNDS = {
  maxTokens: { min: 1, max: 2048, default: 64 },
  generateMaxTokens: { min: 1, max: 4096, default: 256 },
  // Short: a request is cheap to cancel, and typing reuses the KV cache (measured in the e2e run).
  debounceMs: { min: 0, max: 5000, default: 25 },
  treeBudget: { min: 0, max: 256, default: 0 },
  threads: { min: 0, max: 64, default: 0 },
  'corpus.maxFileSizeKB': { min: 1, max: 2048, default: 256 },
  'corpus.maxFiles': { min: 0, max: 100_000, default: 2000 },
} as const satisfies Record<string, Bounds>;

/** Most tokens one request may ask for (the larger of the two token settings). */
export const MAX_REQUEST_TOKENS = SETTING_BOUNDS.generateMaxTokens.max;
/** Most draft nodes per forward pass a request may ask for. */
export const MAX_TREE_BUDGET = SETTING_BOUNDS.treeBudget.max;
/** Most characters of one corpus document (the largest file size the settings allow, 1 char per byte). */
export const MAX_DOCUMENT_CHARS = SETTING_BOUNDS['corpus.maxFileSizeKB'].max * 1024;
/** One protocol line longer than this is refused whole (a corpus batch is cut far below it). */
export const MAX_MESSAGE_CHARS = 4 * MAX_DOCUMENT_CHARS + 65_536;

/** Binary sniffing, the same for the host (bytes of a file) and the decoder (text of a document). */
export const BINARY_SNIFF_CHARS = 8192;
/** More control characters than this share of the sniffed start means binary. */
export const BINARY_CONTROL_SHARE = 0.05;
