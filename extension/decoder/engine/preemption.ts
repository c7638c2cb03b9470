// Lets short requests (inline completions) run inside a long one (Generate) instead of queueing
// behind it: the long generation calls `runPending` between its steps, the queued tasks run there
// (they use the same model and KV cache), and the generation then restores its cache and goes on.
// Greedy decoding is deterministic, so the interrupted generation emits exactly what it would have.

export class PreemptionGate {
  private readonly queued: Array<() => Promise<void>> = [];

  get pending(): boolean {
    return this.queued.length > 0;
  }

  /** Runs `task` at the next step boundary of the generation that owns the gate. */
  run<T>(task: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queued.push(() => task().then(resolve, reject));
    });
  }

  /** Runs every queued task, oldest first (the generation calls this between steps and once at its end). */
  async runPending(): Promise<void> {
    while (this.queued.length > 0) await this.queued.shift()!();
  }
}
