// DecodeStats (protocol) from one generation and the latency curve (pure).
import type { DecodeStats } from '../../protocol';
import type { GenerationResult } from './generator';
import type { LatencyCurve } from './latencyCalibration';

/**
 * Plain greedy runs one q=1 forward pass per token, so its speed on this machine is
 * 1000 / latency(q=1) tokens/s; the speed-up is measured tokens/s over that.
 */
export function toDecodeStats(result: GenerationResult, curve: LatencyCurve, treeBudget: number): DecodeStats {
  const tokens = result.tokens.length;
  const seconds = result.decodeMs / 1000;
  const tokensPerSecond = seconds > 0 ? tokens / seconds : 0;
  const arTokensPerSecond = curve[1] > 0 ? 1000 / curve[1] : 0;
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
    speedupVsAr: arTokensPerSecond > 0 ? tokensPerSecond / arTokensPerSecond : 0,
    treeBudget,
    stopReason: result.stopReason,
  };
}
