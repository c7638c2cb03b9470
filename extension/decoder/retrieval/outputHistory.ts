// What the model wrote for the last requests, as a retrieval index (SuffixDecoding's global
// tree): a small model repeats itself across cursors, and while a user types, the next
// request's output mostly re-says the last one's. Each record is the last `lead` tokens of a
// request's prompt followed by what it emitted, so a new request whose context ends like an
// old prompt finds that request's output from its first token on. Records are only drafts:
// whatever they hold, the model verifies every token.
import { TokenIndex } from './tokenIndex';

export interface OutputHistoryLimits {
  /** Requests kept; the oldest record is dropped past this. */
  requests: number;
  /** Prompt tokens kept before each request's output. */
  lead: number;
}

export const DEFAULT_HISTORY_LIMITS: OutputHistoryLimits = { requests: 64, lead: 32 };

export class OutputHistory {
  /** Orders 3 and 6: a request draws from it only after a 3-token match (shorter ones are common code, not a repeat). */
  readonly index = new TokenIndex({ orders: [3, 6], minGarbageForCompaction: 4096 });
  /** Record uris, oldest first. */
  private readonly kept: string[] = [];
  private pending: number[] = [];
  private pendingOutputs = 0;
  private serial = 0;

  constructor(private readonly limits: OutputHistoryLimits = DEFAULT_HISTORY_LIMITS) {}

  /** Requests whose output is indexed. */
  get size(): number {
    return this.kept.length;
  }

  /** A request starts: the previous one's record is indexed, and this one's begins with its prompt's tail. */
  start(prompt: readonly number[]): void {
    this.commit();
    this.pending = prompt.slice(Math.max(0, prompt.length - this.limits.lead));
  }

  /** Tokens the current request emitted. */
  record(emitted: readonly number[]): void {
    for (const token of emitted) this.pending.push(token);
    this.pendingOutputs += emitted.length;
  }

  /** Drops the current request's record unindexed (a tool re-running the same prompt must not draft from it). */
  discardPending(): void {
    this.pending = [];
    this.pendingOutputs = 0;
  }

  /** Forgets every record. */
  clear(): void {
    this.index.clear();
    this.kept.length = 0;
    this.discardPending();
  }

  /** Indexes the current request's record (if it emitted anything) and drops records past the limit. */
  commit(): void {
    if (this.pendingOutputs > 0) {
      const uri = `output:${this.serial++}`;
      this.index.add(uri, this.pending);
      this.kept.push(uri);
      while (this.kept.length > this.limits.requests) this.index.remove(this.kept.shift()!);
    }
    this.pending = [];
    this.pendingOutputs = 0;
  }
}
