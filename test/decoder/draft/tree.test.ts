import assert from 'node:assert/strict';
import { DraftTree, TreeInputsBuffer } from '../../../extension/decoder/draft/tree';
import { pathTo, treeInputs } from './treeHelpers';
import { ancestorsOrSelf, assignments, nodesOf, treeShapes } from './smallTrees';
import { SeededRandom } from '../../../extension/decoder/draft/prng';

function randomBelow(seed: number): (n: number) => number {
  const generator = new SeededRandom(seed);
  return (n) => generator.below(n);
}

describe('DraftTree', () => {
  it('starts with the root only', () => {
    const tree = new DraftTree(42);
    assert.equal(tree.size, 1);
    assert.deepEqual(tree.nodes[0], { token: 42, parent: -1, depth: 0, source: 'root' });
  });

  it('merges paths as a trie and reports the added nodes', () => {
    const tree = new DraftTree(0);
    assert.equal(tree.addPath([1, 2, 3], 'retrieval'), 3);
    assert.equal(tree.addPath([1, 2, 4], 'jacobi'), 1);
    assert.equal(tree.addPath([1, 2], 'noise'), 0);
    assert.equal(tree.addPath([5], 'noise'), 1);
    assert.deepEqual(tree.nodes.map((n) => [n.token, n.parent, n.depth, n.source]), [
      [0, -1, 0, 'root'],
      [1, 0, 1, 'retrieval'],
      [2, 1, 2, 'retrieval'],
      [3, 2, 3, 'retrieval'],
      [4, 2, 3, 'jacobi'],
      [5, 0, 1, 'noise'],
    ]);
  });

  it('keeps the source of an existing node', () => {
    const tree = new DraftTree(9);
    tree.addPath([7], 'jacobi');
    tree.addPath([7, 8], 'retrieval');
    assert.equal(tree.nodes[1].source, 'jacobi');
    assert.equal(tree.nodes[2].source, 'retrieval');
  });

  it('stops at the node budget, counting the root', () => {
    const tree = new DraftTree(0, 4);
    assert.equal(tree.addPath([1, 2, 3, 4, 5], 'retrieval'), 3);
    assert.equal(tree.size, 4);
    assert.ok(tree.isFull);
    // A shared prefix still resolves when the tree is full; a new token does not fit.
    assert.equal(tree.addChild(0, 1, 'jacobi'), 1);
    assert.equal(tree.addChild(0, 6, 'jacobi'), -1);
    assert.equal(tree.addPath([1, 2, 3], 'jacobi'), 0);
  });

  it('a path may start below the root', () => {
    const tree = new DraftTree(0);
    tree.addPath([1, 2], 'jacobi');
    assert.equal(tree.addPath([3, 4], 'retrieval', 1), 2);
    assert.deepEqual(pathTo(tree, 4), [0, 1, 3, 4]);
    assert.equal(tree.nodes[4].depth, 3);
  });

  it('child lookup follows insertion order', () => {
    const tree = new DraftTree(0);
    tree.addPath([5], 'jacobi');
    tree.addPath([3], 'jacobi');
    tree.addPath([5, 1], 'jacobi');
    assert.equal(tree.firstChild(0), 1);
    assert.equal(tree.nextSibling(1), 2);
    assert.equal(tree.nextSibling(2), -1);
    assert.equal(tree.childWithToken(0, 3), 2);
    assert.equal(tree.childWithToken(1, 1), 3);
    assert.equal(tree.childWithToken(2, 1), -1);
  });

  it('reset reuses the tree for a new step', () => {
    const tree = new DraftTree(0, 8);
    tree.addPath([1, 2, 3], 'jacobi');
    tree.reset(7, 3);
    assert.equal(tree.size, 1);
    assert.equal(tree.root, 7);
    assert.equal(tree.childWithToken(0, 1), -1);
    assert.equal(tree.addPath([1, 2, 3], 'noise'), 2);
  });

  it('grows past its initial capacity', () => {
    const tree = new DraftTree(0);
    const tokens = Array.from({ length: 3000 }, (_, i) => i + 1);
    assert.equal(tree.addPath(tokens, 'retrieval'), 3000);
    assert.equal(tree.nodes[3000].depth, 3000);
    assert.equal(tree.childWithToken(2999, 3000), 3000);
  });

  it('rejects invalid tokens and budgets', () => {
    assert.throws(() => new DraftTree(-1), RangeError);
    assert.throws(() => new DraftTree(0, 0), RangeError);
    assert.throws(() => new DraftTree(0).addPath([1.5], 'noise'), RangeError);
    assert.throws(() => new DraftTree(0).addChild(3, 1, 'noise'), RangeError);
  });
});

describe('TreeInputsBuffer.build', () => {
  it('a lone root sees the whole past and itself', () => {
    const inputs = treeInputs(new DraftTree(11), 3);
    assert.deepEqual([...inputs.inputIds], [11n]);
    assert.deepEqual([...inputs.positionIds], [3n]);
    assert.deepEqual([...inputs.attentionMask], [0, 0, 0, 0]);
  });

  it('a small tree, spelled out', () => {
    const tree = new DraftTree(10);
    tree.addPath([20, 30], 'jacobi');
    tree.addPath([21], 'retrieval');
    const M = -5;
    const inputs = treeInputs(tree, 2, M);
    assert.deepEqual([...inputs.inputIds], [10n, 20n, 30n, 21n]);
    assert.deepEqual([...inputs.positionIds], [2n, 3n, 4n, 3n]);
    assert.deepEqual([...inputs.attentionMask], [
      0, 0, 0, M, M, M,
      0, 0, 0, 0, M, M,
      0, 0, 0, 0, 0, M,
      0, 0, 0, M, M, 0,
    ]);
  });

  it('uses -1e9 by default', () => {
    const tree = new DraftTree(1);
    tree.addPath([2], 'noise');
    tree.addPath([3], 'noise');
    const mask = treeInputs(tree, 0).attentionMask;
    assert.equal(mask[1], -1e9);
  });

  it('every tree of up to 6 nodes: a node sees the past, its ancestors and itself only', () => {
    let checked = 0;
    for (let size = 1; size <= 6; size++) {
      for (const parents of treeShapes(size)) {
        const nodes = nodesOf(parents, parents.map((_, i) => 100 + i));
        for (const past of [0, 1, 3]) {
          const inputs = treeInputs({ nodes }, past, -7);
          const width = past + size;
          assert.equal(inputs.attentionMask.length, size * width);
          for (let i = 0; i < size; i++) {
            assert.equal(inputs.inputIds[i], BigInt(100 + i));
            assert.equal(inputs.positionIds[i], BigInt(past + nodes[i].depth));
            const visible = ancestorsOrSelf(nodes, i);
            for (let c = 0; c < width; c++) {
              const expected = c < past || visible.has(c - past) ? 0 : -7;
              assert.equal(inputs.attentionMask[i * width + c], expected, `size ${size} parents ${parents} row ${i} col ${c}`);
            }
          }
          checked++;
        }
      }
    }
    assert.equal(checked, 3 * (1 + 1 + 2 + 6 + 24 + 120));
  });

  it('rejects nodes out of order and inconsistent depths', () => {
    assert.throws(() => treeInputs({ nodes: [
      { token: 1, parent: -1, depth: 0, source: 'root' },
      { token: 2, parent: 2, depth: 1, source: 'noise' },
      { token: 3, parent: 0, depth: 1, source: 'noise' },
    ] }, 0), RangeError);
    assert.throws(() => treeInputs({ nodes: [
      { token: 1, parent: -1, depth: 0, source: 'root' },
      { token: 2, parent: 0, depth: 2, source: 'noise' },
    ] }, 0), RangeError);
    assert.throws(() => treeInputs(new DraftTree(1), -1), RangeError);
  });
});

describe('TreeInputsBuffer.build on trees built from random paths', () => {
  it('agrees with the ancestor walk', () => {
    const random = randomBelow(12345);
    for (let trial = 0; trial < 200; trial++) {
      const tree = new DraftTree(random(5), 1 + random(40));
      for (let p = 0; p < 6; p++) {
        tree.addPath(Array.from({ length: 1 + random(6) }, () => random(3)), 'retrieval');
      }
      const past = random(4);
      const inputs = treeInputs(tree, past);
      const width = past + tree.size;
      for (let i = 0; i < tree.size; i++) {
        const visible = new Set(pathTo(tree, i));
        for (let j = 0; j < tree.size; j++) {
          assert.equal(inputs.attentionMask[i * width + past + j], visible.has(j) ? 0 : -1e9);
        }
      }
    }
  });
});

describe('TreeInputsBuffer', () => {
  it('builds the same inputs as buildTreeInputs into reused buffers', () => {
    const random = randomBelow(99);
    const buffer = new TreeInputsBuffer();
    for (let trial = 0; trial < 300; trial++) {
      const tree = new DraftTree(random(5), 1 + random(80));
      for (let p = 0; p < 8; p++) tree.addPath(Array.from({ length: 1 + random(12) }, () => random(4)), 'jacobi');
      const past = random(3) === 0 ? random(3000) : random(20);
      const reused = buffer.build(tree, past, -3);
      const fresh = treeInputs(tree, past, -3);
      assert.equal(reused.attentionMask.length, fresh.attentionMask.length);
      assert.equal(reused.attentionMask.byteOffset, 0);
      assert.deepEqual(reused.inputIds, fresh.inputIds);
      assert.deepEqual(reused.positionIds, fresh.positionIds);
      assert.ok(reused.attentionMask.every((v, i) => v === fresh.attentionMask[i]), `trial ${trial}`);
    }
  });
});
