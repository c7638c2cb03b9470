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
 * The share of what slowed a completion as it ran (its live time over its idle replay's) that plain
 * greedy would have met in proportion to its own, longer time: a CPU shared with the editor, the
 * language server, the browser. The rest it would have met as the same amount of time: other work of
 * the decoding process (a corpus update after the keystrokes) that runs once, in whichever steps' yields.
 * Calibrated on five e2e runs whose A/B alternates ar and tr-jacobi at every spot (test/e2e/repeat-ab.sh,
 * 2026-12-08): the status bar's figure equals the A/B where a share p of the slowdown is in proportion, and
 * p came out 1.0, 1.04, 0.67, 0 and 1.27 in the five; 0.4 to 0.5 keeps all five within 20%.
 */
export const SLOWDOWN_IN_PROPORTION = 0.5;

/**
 * How long plain greedy would have taken for a measured completion: its idle replay, slowed by what
 * slowed the completion as it ran: SLOWDOWN_IN_PROPORTION of that in proportion, the rest as time.
 */
export function plainMs(m: SpeedupMeasurement): number {
  // No replay to scale by (plain greedy's own completion: its time as it ran, nothing saved).
  if (!(m.treeIdleMs > 0)) return m.liveMs + m.arIdleMs - m.treeIdleMs;
  const slowdownMs = m.liveMs - m.treeIdleMs;
  return m.arIdleMs * (1 + (SLOWDOWN_IN_PROPORTION * slowdownMs) / m.treeIdleMs) + (1 - SLOWDOWN_IN_PROPORTION) * slowdownMs;
}

/**
 * The speed-up over plain greedy of completions whose replays measured it (SpeedupMeasurement): the
 * time plain greedy would have taken (plainMs) over the time they took as they ran, pooled by time.
 * 0 with none.
 */
export function replayedSpeedup(measurements: readonly SpeedupMeasurement[]): number {
  const liveMs = measurements.reduce((n, m) => n + m.liveMs, 0);
  if (!(liveMs > 0)) return 0;
  return measurements.reduce((n, m) => n + plainMs(m), 0) / liveMs;
}

/** Plain greedy's tokens/s for a measured completion: its tokens over the time it would have taken. */
export function plainTokensPerSecond(m: SpeedupMeasurement): number {
  const ms = plainMs(m);
  return ms > 0 ? (1000 * m.tokens) / ms : 0;
}
