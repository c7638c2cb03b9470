// The recent completions shown in the stats view: a bounded list, newest last.

import type { DecodeStats } from '../../protocol';
import { measuredSpeedup } from '../../speedup';

/** Where the time of one inline completion went, on the host's side. */
export interface HostTimings {
  /** Waiting for typing to pause (0 when served from the cache or invoked explicitly). */
  debounceMs: number;
  /** From sending the request to the decoder to its answer. */
  roundTripMs: number;
  /** Served from the host's cache: no request at all. */
  cached: boolean;
  speculative: boolean;
  /** Wall-clock ms (Date.now) when the editor asked the provider, and when the provider answered. */
  calledAt: number;
  answeredAt: number;
  /** Requests still open when this one was answered (cancelled ones answer too; this must not grow). */
  openRequests: number;
}

export interface CompletionRecord {
  at: number;
  source: 'inline' | 'generate';
  stats: DecodeStats;
  host?: HostTimings;
}

/**
 * The latency budget of one completion: host debounce, the round trip and, inside it, the decoder's
 * queue, prefill and decode; what is left of the round trip is the pipe and JSON both ways.
 */
export function latencyBreakdown(stats: DecodeStats, host: HostTimings) {
  const inDecoder = stats.queueMs + stats.prefillMs + stats.elapsedMs;
  return {
    debounceMs: round(host.debounceMs),
    roundTripMs: round(host.roundTripMs),
    queueMs: round(stats.queueMs),
    prefillMs: round(stats.prefillMs),
    promptTokens: stats.promptTokens,
    reusedPromptTokens: stats.reusedPromptTokens,
    decodeMs: round(stats.elapsedMs),
    transportMs: host.cached ? 0 : round(Math.max(0, host.roundTripMs - inDecoder)),
    tokens: stats.tokens,
    fromMemo: stats.fromMemo,
    cached: host.cached,
    speculative: host.speculative,
    strategy: stats.strategy,
    calledAt: host.calledAt,
    answeredAt: host.answeredAt,
    openRequests: host.openRequests,
    tokensPerSecond: round(stats.tokensPerSecond),
    baselineTokensPerSecond: round(stats.arTokensPerSecond),
  };
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

export class StatsHistory {
  private readonly records: CompletionRecord[] = [];

  constructor(private readonly capacity = 60) {}

  add(record: CompletionRecord): void {
    this.records.push(record);
    if (this.records.length > this.capacity) this.records.splice(0, this.records.length - this.capacity);
  }

  get all(): readonly CompletionRecord[] {
    return this.records;
  }

  get last(): CompletionRecord | undefined {
    return this.records[this.records.length - 1];
  }
}

/** Completions shorter than this say nothing about speed (a 2-token completion is one or two steps). */
export const MIN_SPEED_TOKENS = 8;
/** The status bar's speed covers this many recent completions. */
export const SPEED_WINDOW = 20;

/**
 * The completions a speed figure is over: recent ones decoded since the strategy last changed (so a
 * figure after switching is about the strategy in use alone), of at least MIN_SPEED_TOKENS tokens,
 * whose baseline was measured.
 */
export function speedSample(stats: readonly DecodeStats[]): DecodeStats[] {
  const strategy = stats.at(-1)?.strategy;
  let since = stats.length;
  while (since > 0 && stats[since - 1].strategy === strategy) since--;
  return stats
    .slice(since)
    .filter((s) => s.tokens >= MIN_SPEED_TOKENS && s.baselineSteps > 0 && s.stopReason !== 'cancelled')
    .slice(-SPEED_WINDOW);
}

export interface StatsSummary {
  completions: number;
  tokens: number;
  meanTokensPerSecond: number;
  meanAcceptedPerPass: number;
  meanSpeedup: number;
  acceptedFromRetrieval: number;
  acceptedFromJacobi: number;
}

/**
 * Token-weighted means, so a one-token completion does not count as much as a long one. The speed-up
 * pools the timed steps of the completions whose baseline was measured (measuredSpeedup): a few plain
 * steps per completion, each noisy, say more together.
 */
export function summarize<T extends { stats: DecodeStats }>(records: readonly T[]): StatsSummary {
  let tokens = 0;
  let elapsedMs = 0;
  let passes = 0;
  const measured = { baselineStepMs: [] as number[], stepLoad: [] as number[], tokens: 0, elapsedMs: 0 };
  let retrieval = 0;
  let jacobi = 0;
  for (const { stats } of records) {
    tokens += stats.tokens;
    elapsedMs += stats.elapsedMs;
    passes += stats.forwardPasses;
    if (stats.baselineSteps > 0) {
      measured.baselineStepMs.push(...stats.baselineStepMs);
      measured.stepLoad.push(...stats.stepLoad);
      measured.tokens += stats.tokens;
      measured.elapsedMs += stats.elapsedMs;
    }
    retrieval += stats.acceptedFromRetrieval;
    jacobi += stats.acceptedFromJacobi;
  }
  return {
    completions: records.length,
    tokens,
    meanTokensPerSecond: elapsedMs > 0 ? (tokens / elapsedMs) * 1000 : 0,
    meanAcceptedPerPass: passes > 0 ? tokens / passes : 0,
    meanSpeedup: measuredSpeedup(measured),
    acceptedFromRetrieval: retrieval,
    acceptedFromJacobi: jacobi,
  };
}
