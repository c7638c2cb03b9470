// Preallocated, sequence-major KV cache: per layer one Float32Array of
// capacity x kv_heads x head_dim for keys and one for values. The first `length` rows
// are the committed sequence; a forward pass sees them as a zero-copy view and returns
// only the new rows, of which the engine copies the accepted ones here (docs/model-contract.md).

export class KvCache {
  readonly keys: Float32Array[];
  readonly values: Float32Array[];
  private committed = 0;

  constructor(readonly layers: number, readonly capacity: number, readonly rowSize: number) {
    this.keys = Array.from({ length: layers }, () => new Float32Array(capacity * rowSize));
    this.values = Array.from({ length: layers }, () => new Float32Array(capacity * rowSize));
  }

  get length(): number {
    return this.committed;
  }

  get free(): number {
    return this.capacity - this.committed;
  }

  reset(): void {
    this.committed = 0;
  }

  /** Drops rows past `length` (e.g. to reuse a shared prompt prefix). */
  truncate(length: number): void {
    if (length < 0 || length > this.committed) throw new Error(`cannot truncate a cache of ${this.committed} rows to ${length}`);
    this.committed = length;
  }

  /**
   * Appends rows `rows` (indexes into the q rows of one forward pass) of the new keys and
   * values of every layer, in order, so the cache stays contiguous.
   */
  appendRows(newKeys: readonly Float32Array[], newValues: readonly Float32Array[], rows: readonly number[]): void {
    if (this.committed + rows.length > this.capacity) {
      throw new Error(`KV cache overflow: ${this.committed} + ${rows.length} > ${this.capacity}`);
    }
    const size = this.rowSize;
    for (let layer = 0; layer < this.layers; layer++) {
      const keys = this.keys[layer];
      const values = this.values[layer];
      let dst = this.committed * size;
      // Runs of consecutive rows (the usual case: a chain) are copied in one call.
      let i = 0;
      while (i < rows.length) {
        let j = i + 1;
        while (j < rows.length && rows[j] === rows[j - 1] + 1) j++;
        const start = rows[i] * size;
        const end = (rows[j - 1] + 1) * size;
        keys.set(newKeys[layer].subarray(start, end), dst);
        values.set(newValues[layer].subarray(start, end), dst);
        dst += end - start;
        i = j;
      }
    }
    this.committed += rows.length;
  }
}
