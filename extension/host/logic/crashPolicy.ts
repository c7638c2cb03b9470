// When a crashed decoding process is restarted, and when we stop trying.

export interface CrashPolicyOptions {
  /** This many crashes within `windowMs` means something is persistently wrong. */
  maxCrashes: number;
  windowMs: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_CRASH_POLICY: CrashPolicyOptions = { maxCrashes: 3, windowMs: 60_000, baseDelayMs: 500, maxDelayMs: 10_000 };

export type CrashDecision = { action: 'restart'; delayMs: number; crashesInWindow: number } | { action: 'give-up'; crashesInWindow: number };

export class CrashPolicy {
  private crashTimes: number[] = [];

  constructor(private readonly options: CrashPolicyOptions = DEFAULT_CRASH_POLICY) {}

  /** Records a crash at `now` and says what to do: restart after an exponential backoff, or give up. */
  recordCrash(now: number): CrashDecision {
    this.crashTimes = this.crashTimes.filter((time) => now - time < this.options.windowMs);
    this.crashTimes.push(now);
    const crashesInWindow = this.crashTimes.length;
    if (crashesInWindow >= this.options.maxCrashes) return { action: 'give-up', crashesInWindow };
    const delayMs = Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** (crashesInWindow - 1));
    return { action: 'restart', delayMs, crashesInWindow };
  }

  /** A manual restart starts with a clean slate. */
  reset(): void {
    this.crashTimes = [];
  }
}
