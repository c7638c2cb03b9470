import * as assert from 'node:assert/strict';
import { DraftTree } from '../../../extension/decoder/draft/tree';
import { pathTo, treeInputs } from '../draft/treeHelpers';
import { buildChainInputs } from '../../../extension/decoder/engine/chainInputs';
import { KvCache } from '../../../extension/decoder/engine/kvCache';
import type { LoadedModel } from '../../../extension/decoder/model/modelDir';
import { fixtureModel, seededRandom } from './fixtureModel';

const TOLERANCE = 1e-4;

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

function newCache(m: LoadedModel): KvCache {
  return new KvCache(m.config.numLayers, m.config.maxPositions, m.config.numKvHeads * m.config.headDim);
}

/** Logits of every position of `tokens` in one pass with an empty cache. */
async function fullRecompute(m: LoadedModel, tokens: number[]): Promise<Float32Array> {
  const cache = newCache(m);
  const inputs = buildChainInputs(tokens, 0, m.config.maskValue);
  const out = await m.model.forward({ ...inputs, past: 0, pastKeys: cache.keys, pastValues: cache.values });
  return out.logits;
}

function row(logits: Float32Array, index: number, vocab: number): Float32Array {
  return logits.subarray(index * vocab, (index + 1) * vocab);
}

describe('KV cache (fixture model)', () => {
  let m: LoadedModel;
  before(async () => {
    m = await fixtureModel();
  });

  it('incremental decoding (chunked prefill, then one token per pass) equals a full recompute', async () => {
    const random = seededRandom(7);
    const vocab = m.config.vocabSize;
    const tokens = Array.from({ length: 90 }, () => 5 + Math.floor(random() * (vocab - 5)));
    const reference = await fullRecompute(m, tokens);
    const cache = newCache(m);
    const chunks = [[0, 37], [37, 70]];
    for (const [start, end] of chunks) {
      const chunk = tokens.slice(start, end);
      const out = await m.model.forward({ ...buildChainInputs(chunk, cache.length, m.config.maskValue), past: cache.length, pastKeys: cache.keys, pastValues: cache.values });
      for (let i = 0; i < chunk.length; i++) {
        assert.ok(maxAbsDiff(row(out.logits, i, vocab), row(reference, start + i, vocab)) < TOLERANCE, `prefill position ${start + i}`);
      }
      cache.appendRows(out.newKeys, out.newValues, chunk.map((_, i) => i));
    }
    for (let position = 70; position < tokens.length; position++) {
      const out = await m.model.forward({ ...buildChainInputs([tokens[position]], cache.length, m.config.maskValue), past: cache.length, pastKeys: cache.keys, pastValues: cache.values });
      const diff = maxAbsDiff(row(out.logits, 0, vocab), row(reference, position, vocab));
      assert.ok(diff < TOLERANCE, `step at position ${position}: max abs diff ${diff}`);
      cache.appendRows(out.newKeys, out.newValues, [0]);
    }
    assert.equal(cache.length, tokens.length);
  });

  it('a tree pass gives every node the logits of its own path, and copying the accepted rows keeps the cache exact', async () => {
    const vocab = m.config.vocabSize;
    const prefix = [40, 41, 42, 43, 44, 45, 46, 47];
    const cache = newCache(m);
    const pre = await m.model.forward({ ...buildChainInputs(prefix.slice(0, -1), 0, m.config.maskValue), past: 0, pastKeys: cache.keys, pastValues: cache.values });
    cache.appendRows(pre.newKeys, pre.newValues, prefix.slice(0, -1).map((_, i) => i));

    // Root 47 with two branches: [100, 101, 102] and [200, 201], plus a sibling 103 under 101.
    const tree = new DraftTree(47);
    tree.addPath([100, 101, 102], 'jacobi');
    tree.addPath([200, 201], 'retrieval');
    const n101 = tree.childWithToken(tree.childWithToken(0, 100), 101);
    tree.addChild(n101, 103, 'jacobi');
    const out = await m.model.forward({ ...treeInputs(tree, cache.length, m.config.maskValue), past: cache.length, pastKeys: cache.keys, pastValues: cache.values });

    for (let node = 0; node < tree.nodes.length; node++) {
      const pathTokens = pathTo(tree, node).map((n) => tree.nodes[n].token);
      const reference = await fullRecompute(m, [...prefix.slice(0, -1), ...pathTokens]);
      const diff = maxAbsDiff(row(out.logits, node, vocab), row(reference, prefix.length - 2 + pathTokens.length, vocab));
      assert.ok(diff < TOLERANCE, `node ${node} (${pathTokens.join(',')}): max abs diff ${diff}`);
    }

    // Accept root -> 100 -> 101 -> 103 (rows not contiguous: 0, 1, 2, 6) and continue from there.
    const n103 = tree.childWithToken(n101, 103);
    const path = pathTo(tree, n103);
    cache.appendRows(out.newKeys, out.newValues, path);
    const sequence = [...prefix.slice(0, -1), ...path.map((n) => tree.nodes[n].token)];
    const next = await m.model.forward({ ...buildChainInputs([7], cache.length, m.config.maskValue), past: cache.length, pastKeys: cache.keys, pastValues: cache.values });
    const reference = await fullRecompute(m, [...sequence, 7]);
    const diff = maxAbsDiff(row(next.logits, 0, vocab), row(reference, sequence.length, vocab));
    assert.ok(diff < TOLERANCE, `after accepting a non-contiguous path: max abs diff ${diff}`);
  });

  it('truncate drops rows and refuses to grow; appendRows refuses to overflow', () => {
    const cache = new KvCache(1, 3, 2);
    const rows = new Float32Array([1, 2, 3, 4, 5, 6]);
    cache.appendRows([rows], [rows], [0, 2]);
    assert.deepEqual([...cache.keys[0].subarray(0, 4)], [1, 2, 5, 6]);
    cache.truncate(1);
    assert.equal(cache.length, 1);
    assert.throws(() => cache.truncate(2));
    assert.throws(() => cache.appendRows([rows], [rows], [0, 1, 2]), /overflow/);
  });
});
