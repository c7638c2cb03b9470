// The measured speed-up over plain greedy decoding, shared by the decoder (one completion's stats) and
// the host (the status bar's figure over recent completions): pure, so both say the same thing.

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function mean(values: readonly number[]): number {
  return values.reduce((sum, v) => sum + v, 0) / values.length;
}

/** Timed steps of one or more completions. */
export interface TimedSteps {
  /** Plain greedy steps (one token each): ar's own, a tree strategy's probes, or a replay. */
  baselineStepMs: readonly number[];
  /** Each timed step's ms over the calibrated ms of a pass of its size (stepLoad in DecodeStats). */
  stepLoad: readonly number[];
  tokens: number;
  elapsedMs: number;
}

/**
 * How much more a step costs on average than typically, under what else ran meanwhile: the mean over
 * the median of the steps' loads (1 with none). What runs beside the decoder (the editor redrawing, a
 * language server) lands on some steps: in the editor, ar's mean step ran 22% above its median.
 */
export function loadInflation(stepLoad: readonly number[]): number {
  return stepLoad.length > 0 ? mean(stepLoad) / median(stepLoad) : 1;
}

/**
 * Plain greedy's time for these tokens over the time they took. Plain greedy's mean step is its median
 * timed step (a few are timed: the median is the stable part) raised by the load inflation of the
 * completion's own steps, which ran under the same load; for ar itself that is its own mean, so 1.
 * 0 when no plain step was timed.
 */
export function measuredSpeedup(steps: TimedSteps): number {
  if (steps.baselineStepMs.length === 0 || steps.tokens <= 0 || !(steps.elapsedMs > 0)) return 0;
  return (median(steps.baselineStepMs) * loadInflation(steps.stepLoad) * steps.tokens) / steps.elapsedMs;
}
