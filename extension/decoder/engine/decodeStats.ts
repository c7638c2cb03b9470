// DecodeStats (protocol) from one generation (pure).
import type { DecodeStats } from '../../protocol';
import type { GenerationResult } from './generator';

/** The stats of one generation; its speed-up is measured later, once idle (DecoderEngine.measureSpeedup). */
export function toDecodeStats(result: GenerationResult, treeBudget: number, workspaceMixture: boolean): DecodeStats {
  const tokens = result.tokens.length;
  const seconds = result.decodeMs / 1000;
  return {
    strategy: result.strategy,
    tokens,
    forwardPasses: result.forwardPasses,
    elapsedMs: result.decodeMs,
    tokensPerSecond: seconds > 0 ? tokens / seconds : 0,
    meanAcceptedPerPass: result.forwardPasses > 0 ? tokens / result.forwardPasses : 0,
    acceptedFromRetrieval: result.acceptedFromRetrieval,
    acceptedFromJacobi: result.acceptedFromJacobi,
    acceptedFromNoise: result.acceptedFromNoise,
    treeBudget,
    stopReason: result.stopReason,
    promptTokens: result.promptTokens,
    reusedPromptTokens: result.reusedPromptTokens,
    prefillMs: result.prefillMs,
    fromMemo: result.fromMemo === true,
    queueMs: 0,
    workspaceMixture,
  };
}
