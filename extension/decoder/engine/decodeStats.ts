// DecodeStats (protocol) from one generation (pure).
import type { DecodeStats } from '../../protocol';
import type { GenerationResult } from './generator';
import { measuredSpeedup, median } from '../../speedup';

/**
 * The speed-up is MEASURED, not estimated: plain greedy costs one step per token, and its steps were
 * timed (ar's own; for a tree strategy its probe steps, or ar replayed on the cache: DecoderEngine
 * replayPlainSteps) in the same process, at the same past length; measuredSpeedup sets them against
 * the tree's own steps. Plain greedy's tokens/s is 1000 over their median; none timed: no figure (0).
 */
export function toDecodeStats(result: GenerationResult, treeBudget: number, passMs: (nodes: number) => number): DecodeStats {
  const tokens = result.tokens.length;
  const seconds = result.decodeMs / 1000;
  const tokensPerSecond = seconds > 0 ? tokens / seconds : 0;
  const baselineMs = result.baselineStepMs.length > 0 ? median(result.baselineStepMs) : 0;
  const arTokensPerSecond = baselineMs > 0 ? 1000 / baselineMs : 0;
  const stepLoad = loadOfOwnSteps(result, passMs);
  return {
    strategy: result.strategy,
    tokens,
    forwardPasses: result.forwardPasses,
    elapsedMs: result.decodeMs,
    tokensPerSecond,
    meanAcceptedPerPass: result.forwardPasses > 0 ? tokens / result.forwardPasses : 0,
    acceptedFromRetrieval: result.acceptedFromRetrieval,
    acceptedFromJacobi: result.acceptedFromJacobi,
    arTokensPerSecond,
    baselineSteps: result.baselineStepMs.length,
    baselineStepMs: result.baselineStepMs.map(roundMs),
    stepLoad,
    speedupVsAr: measuredSpeedup({ baselineStepMs: result.baselineStepMs, stepLoad, tokens, elapsedMs: result.decodeMs }),
    treeBudget,
    stopReason: result.stopReason,
    promptTokens: result.promptTokens,
    reusedPromptTokens: result.reusedPromptTokens,
    prefillMs: result.prefillMs,
    fromMemo: result.fromMemo === true,
    queueMs: 0,
  };
}

function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/**
 * The load of the steps of the strategy's own kind: all of ar's; a tree strategy's that verified a draft
 * (its one-node steps, probes among them, carry relatively more fixed per-step cost than a tree does).
 */
function loadOfOwnSteps(result: GenerationResult, passMs: (nodes: number) => number): number[] {
  const loads: number[] = [];
  result.stepMs.forEach((ms, i) => {
    const nodes = result.stepNodes[i];
    if (result.strategy !== 'ar' && nodes <= 1) return;
    const expected = passMs(nodes);
    if (expected > 0) loads.push(Math.round((ms / expected) * 1000) / 1000);
  });
  return loads;
}
