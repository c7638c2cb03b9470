import * as assert from 'node:assert/strict';
import { argmaxAlongTree, topKOfRow } from '../../../extension/decoder/engine/logits';

/** The reference: index of the largest value of each row, the first one on ties (like torch.argmax). */
function argmaxRows(logits: Float32Array, rows: number, vocab: number): number[] {
  return Array.from({ length: rows }, (_, r) => {
    let best = 0;
    for (let v = 1; v < vocab; v++) if (logits[r * vocab + v] > logits[r * vocab + best]) best = v;
    return best;
  });
}
import { seededRandom } from './fixtureModel';

describe('logits helpers', () => {
  it('argmaxRows takes the first maximum; topKOfRow is a stable descending sort prefix', () => {
    const logits = new Float32Array([1, 3, 3, 0, /* row 2 */ 5, -1, 5, 9]);
    assert.deepEqual([...argmaxRows(logits, 2, 4)], [1, 3]);
    assert.deepEqual([...topKOfRow(logits, 0, 4, 3)], [1, 2, 0]);
    assert.deepEqual([...topKOfRow(logits, 1, 4, 10)], [3, 0, 2, 1]);
    const random = seededRandom(3);
    const row = new Float32Array(500).map(() => Math.round(random() * 50));
    const sorted = [...row.keys()].sort((a, b) => row[b] - row[a] || a - b);
    assert.deepEqual([...topKOfRow(row, 0, 500, 12)], sorted.slice(0, 12));
  });

  it('argmaxAlongTree equals the full argmax at every node greedy acceptance can reach', () => {
    const random = seededRandom(11);
    for (let trial = 0; trial < 200; trial++) {
      const vocab = 6;
      const q = 1 + Math.floor(random() * 12);
      const logits = new Float32Array(q * vocab).map(() => random());
      const full = argmaxRows(logits, q, vocab);
      const nodes = Array.from({ length: q }, (_, i) => ({ parent: i === 0 ? -1 : Math.floor(random() * i), token: Math.floor(random() * vocab) }));
      const lazy = argmaxAlongTree(logits, nodes, vocab);
      const reached = new Array<boolean>(q).fill(false);
      for (let i = 0; i < q; i++) {
        const p = nodes[i].parent;
        reached[i] = p < 0 || (reached[p] && full[p] === nodes[i].token);
        assert.equal(lazy[i], reached[i] ? full[i] : -1);
      }
    }
  });
});
