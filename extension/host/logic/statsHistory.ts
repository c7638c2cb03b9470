// The recent completions shown in the stats view: a bounded list, newest last.

import type { DecodeStats } from '../../protocol';

export interface CompletionRecord {
  at: number;
  source: 'inline' | 'generate';
  stats: DecodeStats;
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

export interface StatsSummary {
  completions: number;
  tokens: number;
  meanTokensPerSecond: number;
  meanAcceptedPerPass: number;
  meanSpeedup: number;
  acceptedFromRetrieval: number;
  acceptedFromJacobi: number;
}

/** Token-weighted means, so a one-token completion does not count as much as a long one. */
export function summarize(records: readonly CompletionRecord[]): StatsSummary {
  let tokens = 0;
  let elapsedMs = 0;
  let passes = 0;
  let arMs = 0;
  let retrieval = 0;
  let jacobi = 0;
  for (const { stats } of records) {
    tokens += stats.tokens;
    elapsedMs += stats.elapsedMs;
    passes += stats.forwardPasses;
    if (stats.arTokensPerSecond > 0) arMs += (stats.tokens / stats.arTokensPerSecond) * 1000;
    retrieval += stats.acceptedFromRetrieval;
    jacobi += stats.acceptedFromJacobi;
  }
  return {
    completions: records.length,
    tokens,
    meanTokensPerSecond: elapsedMs > 0 ? (tokens / elapsedMs) * 1000 : 0,
    meanAcceptedPerPass: passes > 0 ? tokens / passes : 0,
    meanSpeedup: elapsedMs > 0 ? arMs / elapsedMs : 0,
    acceptedFromRetrieval: retrieval,
    acceptedFromJacobi: jacobi,
  };
}
