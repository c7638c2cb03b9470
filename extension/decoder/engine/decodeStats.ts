// DecodeStats (protocol) from one generation (pure).
import type { DecodeStats } from '../../protocol';
import type { GenerationResult } from './generator';
import { median } from './latencyCalibration';

/**
 * The speed-up is MEASURED, not estimated: plain greedy costs one step per token, and the steps were
 * timed (ar's own, or for a tree strategy ar replayed on the cache before it: DecoderEngine
 * replayPlainSteps) on the same process, past length and machine load. Plain greedy's tokens/s is
 * 1000 over their median; with none timed there is no figure (0).
 */
export function toDecodeStats(result: GenerationResult, treeBudget: number): DecodeStats {
  const tokens = result.tokens.length;
  const seconds = result.decodeMs / 1000;
  const tokensPerSecond = seconds > 0 ? tokens / seconds : 0;
  const baselineMs = result.baselineStepMs.length > 0 ? median(result.baselineStepMs) : 0;
  const arTokensPerSecond = baselineMs > 0 ? 1000 / baselineMs : 0;
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
    baselineStepMs: result.baselineStepMs.map((ms) => Math.round(ms * 1000) / 1000),
    speedupVsAr: arTokensPerSecond > 0 ? tokensPerSecond / arTokensPerSecond : 0,
    treeBudget,
    stopReason: result.stopReason,
    promptTokens: result.promptTokens,
    reusedPromptTokens: result.reusedPromptTokens,
    prefillMs: result.prefillMs,
    fromMemo: result.fromMemo === true,
    queueMs: 0,
  };
}
