// Generate's streamed text, sent at most every STREAM_INTERVAL_MS. One chunk per token would make
// the editor redraw its preview hundreds of times a second on the same two cores the decoder runs
// on, and charge plain greedy decoding (one token per step) the most; 20 updates a second read as
// live text.
export const STREAM_INTERVAL_MS = 50;

export class ChunkBatcher {
  private pending = '';
  private lastSent = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly send: (text: string) => void,
    private readonly intervalMs = STREAM_INTERVAL_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Adds text; sends what is pending when the last send is at least the interval ago (the first at once). */
  push(text: string): void {
    this.pending += text;
    if (this.now() - this.lastSent >= this.intervalMs) this.flush();
  }

  /** Sends what is pending, if anything (at the end of a generation). */
  flush(): void {
    if (this.pending.length === 0) return;
    const text = this.pending;
    this.pending = '';
    this.lastSent = this.now();
    this.send(text);
  }
}
