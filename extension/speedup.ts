// The measured speed-up over plain greedy decoding, shared by the bench and the host (the status bar's
// figure over recent completions): pure, so both say the same thing.
import type { SpeedupMeasurement } from './protocol';

/** Completions shorter than this say nothing about speed (a 2-token completion is one or two steps). */
export const MIN_SPEED_TOKENS = 8;

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * The speed-up over plain greedy of completions whose replays measured it (SpeedupMeasurement): plain
 * greedy would have taken as long as they took as they ran, plus the time their trees saved in the
 * idle replay. What else ran meanwhile (the editor, a language server) took its time from them, and it
 * would have taken it from plain greedy as well: it is charged to both, not scaled. 0 with none.
 */
export function replayedSpeedup(measurements: readonly SpeedupMeasurement[]): number {
  const liveMs = measurements.reduce((n, m) => n + m.liveMs, 0);
  if (!(liveMs > 0)) return 0;
  const savedMs = measurements.reduce((n, m) => n + m.arIdleMs - m.treeIdleMs, 0);
  return (liveMs + savedMs) / liveMs;
}

/** Plain greedy's tokens/s for a measured completion: its tokens over the time plain greedy would have taken. */
export function plainTokensPerSecond(m: SpeedupMeasurement): number {
  const plainMs = m.liveMs + m.arIdleMs - m.treeIdleMs;
  return plainMs > 0 ? (1000 * m.tokens) / plainMs : 0;
}
