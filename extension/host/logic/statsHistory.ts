// Recent completions (the stats view's, the status bar's): a bounded list, newest last, and the speed
// figures over them.

import type { DecodeStats, SpeedupMeasurement } from '../../protocol';
import { MIN_SPEED_TOKENS, replayedSpeedup } from '../../speedup';

export { MIN_SPEED_TOKENS };

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

/** A completion's stats and, once the decoder measured it, its speed-up. */
export interface MeasuredStats {
  stats: DecodeStats;
  /** Measured after the answer, once the decoder was idle (tree completions of MIN_SPEED_TOKENS or more). */
  speedup?: SpeedupMeasurement;
}

export interface CompletionRecord extends MeasuredStats {
  at: number;
  source: 'inline' | 'generate';
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
  };
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/** Measured speed-ups kept for completions not recorded yet (the measurement can arrive first). */
const EARLY_SPEEDUPS_KEPT = 8;

export class StatsHistory<T extends MeasuredStats = CompletionRecord> {
  private readonly records: T[] = [];
  private readonly early = new Map<number, SpeedupMeasurement>();

  constructor(private readonly capacity = 60) {}

  add(record: T): void {
    const id = record.stats.requestId;
    const early = id === undefined ? undefined : this.early.get(id);
    if (early) {
      record.speedup = early;
      this.early.delete(id!);
    }
    this.records.push(record);
    if (this.records.length > this.capacity) this.records.splice(0, this.records.length - this.capacity);
  }

  /** The measured speed-up of the completion that answered request `requestId`. */
  attachSpeedup(requestId: number, speedup: SpeedupMeasurement): void {
    for (let i = this.records.length - 1; i >= 0; i--) {
      if (this.records[i].stats.requestId !== requestId) continue;
      this.records[i].speedup = speedup;
      return;
    }
    this.early.set(requestId, speedup);
    for (const id of this.early.keys()) if (this.early.size > EARLY_SPEEDUPS_KEPT) this.early.delete(id);
  }

  get all(): readonly T[] {
    return this.records;
  }

  get last(): T | undefined {
    return this.records[this.records.length - 1];
  }
}

/** The status bar's speed covers this many recent completions. */
export const SPEED_WINDOW = 20;

/**
 * The completions a speed figure is over: the recent ones decoded with the strategy in use (the last
 * completion's), so a figure after switching is about that strategy alone, of at least MIN_SPEED_TOKENS tokens.
 */
export function speedSample<T extends MeasuredStats>(records: readonly T[]): T[] {
  const strategy = records.at(-1)?.stats.strategy;
  return records
    .filter(({ stats }) => stats.strategy === strategy && stats.tokens >= MIN_SPEED_TOKENS && stats.stopReason !== 'cancelled')
    .slice(-SPEED_WINDOW);
}

export interface StatsSummary {
  completions: number;
  tokens: number;
  meanTokensPerSecond: number;
  meanAcceptedPerPass: number;
  /** Over the completions whose speed-up was measured (replayedSpeedup); 0: none was. */
  meanSpeedup: number;
  /** How many of the completions that is. */
  measuredCompletions: number;
  acceptedFromRetrieval: number;
  acceptedFromJacobi: number;
}

/**
 * A completion's speed-up measurement: its replay's, or for plain greedy itself its own time (it saved
 * nothing: 1x). None for a tree completion not measured (too short, or the decoder was never idle).
 */
export function measurementOf({ stats, speedup }: MeasuredStats): SpeedupMeasurement | undefined {
  if (speedup) return speedup;
  if (stats.strategy !== 'ar' || stats.tokens === 0) return undefined;
  return { strategy: 'ar', tokens: stats.tokens, liveMs: stats.elapsedMs, treeIdleMs: 0, arIdleMs: 0 };
}

/**
 * Token-weighted means, so a one-token completion does not count as much as a long one. The speed-up
 * pools the measured completions' replays (replayedSpeedup): each is a few steps, noisy; together they
 * say more.
 */
export function summarize<T extends MeasuredStats>(records: readonly T[]): StatsSummary {
  let tokens = 0;
  let elapsedMs = 0;
  let passes = 0;
  let retrieval = 0;
  let jacobi = 0;
  const measured: SpeedupMeasurement[] = [];
  for (const record of records) {
    const { stats } = record;
    tokens += stats.tokens;
    elapsedMs += stats.elapsedMs;
    passes += stats.forwardPasses;
    retrieval += stats.acceptedFromRetrieval;
    jacobi += stats.acceptedFromJacobi;
    const measurement = measurementOf(record);
    if (measurement) measured.push(measurement);
  }
  return {
    completions: records.length,
    tokens,
    meanTokensPerSecond: elapsedMs > 0 ? (tokens / elapsedMs) * 1000 : 0,
    meanAcceptedPerPass: passes > 0 ? tokens / passes : 0,
    meanSpeedup: replayedSpeedup(measured),
    measuredCompletions: measured.length,
    acceptedFromRetrieval: retrieval,
    acceptedFromJacobi: jacobi,
  };
}
