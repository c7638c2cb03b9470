// Waiting that gives up early when the caller no longer wants the result.

export interface CancellationLike {
  readonly isCancellationRequested: boolean;
  onCancellationRequested(listener: () => void): { dispose(): void };
}

/** Resolves true after `ms`, or false as soon as `token` is cancelled (never rejects). */
export function delayUnlessCancelled(ms: number, token: CancellationLike): Promise<boolean> {
  if (token.isCancellationRequested) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const subscription = token.onCancellationRequested(() => {
      clearTimeout(timer);
      subscription.dispose();
      resolve(false);
    });
    const timer = setTimeout(() => {
      subscription.dispose();
      resolve(!token.isCancellationRequested);
    }, ms);
  });
}

/** Calls `run` once, `ms` after the last `schedule` for the same key. */
export class KeyedDebouncer<K> {
  private readonly timers = new Map<K, ReturnType<typeof setTimeout>>();

  constructor(private readonly ms: number, private readonly run: (key: K) => void) {}

  schedule(key: K): void {
    const existing = this.timers.get(key);
    if (existing) clearTimeout(existing);
    this.timers.set(key, setTimeout(() => {
      this.timers.delete(key);
      this.run(key);
    }, this.ms));
  }

  /** Drops a pending call (e.g. the document was closed). */
  cancel(key: K): void {
    const existing = this.timers.get(key);
    if (existing) clearTimeout(existing);
    this.timers.delete(key);
  }

  /** Runs every pending call now. */
  flush(): void {
    for (const key of [...this.timers.keys()]) {
      this.cancel(key);
      this.run(key);
    }
  }

  dispose(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}
