import assert from 'node:assert/strict';
import { acceptGreedy } from '../../../extension/decoder/draft/acceptance';
import { DraftTree } from '../../../extension/decoder/draft/tree';
import type { DraftNode } from '../../../extension/decoder/draft/types';
import { assignments, isTrie, nodesOf, treeShapes } from './smallTrees';

/** Reference: the longest root-to-node path whose every draft equals its parent's argmax. */
function bruteForceLongest(nodes: DraftNode[], argmax: number[]): { length: number; paths: number[][] } {
  let best: number[][] = [];
  let bestLength = 0;
  for (let end = 0; end < nodes.length; end++) {
    const path: number[] = [];
    for (let n = end; n !== -1; n = nodes[n].parent) path.unshift(n);
    const valid = path.every((n, k) => k === 0 || nodes[n].token === argmax[path[k - 1]]);
    if (!valid) continue;
    if (path.length > bestLength) {
      bestLength = path.length;
      best = [path];
    } else if (path.length === bestLength) {
      best.push(path);
    }
  }
  return { length: bestLength, paths: best };
}

describe('acceptGreedy', () => {
  it('root only: emits the argmax at the root', () => {
    const result = acceptGreedy(new DraftTree(5), Int32Array.of(9));
    assert.deepEqual(result, { path: [0], emitted: [9], acceptedBySource: { jacobi: 0, retrieval: 0, noise: 0 } });
  });

  it('follows matching children and adds the bonus token', () => {
    const tree = new DraftTree(0);
    tree.addPath([1, 2, 3], 'retrieval'); // nodes 1,2,3
    tree.addPath([1, 4], 'jacobi');       // node 4 under 1
    tree.addPath([5], 'noise');           // node 5
    // argmax: root->1, node1->4, node4->8 (bonus)
    const argmax = Int32Array.of(1, 4, 0, 0, 8, 0);
    const result = acceptGreedy(tree, argmax);
    assert.deepEqual(result.path, [0, 1, 4]);
    assert.deepEqual(result.emitted, [1, 4, 8]);
    assert.deepEqual(result.acceptedBySource, { jacobi: 1, retrieval: 1, noise: 0 });
  });

  it('stops at the first mismatch even if a deeper node matches later', () => {
    const tree = new DraftTree(0);
    tree.addPath([1, 2, 3], 'jacobi');
    const result = acceptGreedy(tree, Int32Array.of(7, 2, 3, 4));
    assert.deepEqual(result.path, [0]);
    assert.deepEqual(result.emitted, [7]);
  });

  it('rejects a missing argmax', () => {
    const tree = new DraftTree(0);
    tree.addPath([1], 'jacobi');
    assert.throws(() => acceptGreedy(tree, Int32Array.of(1)), RangeError);
  });

  it('every tree of up to 5 nodes, 3 tokens, every argmax: equals the brute-force reference', () => {
    let cases = 0;
    for (let size = 1; size <= 5; size++) {
      for (const parents of treeShapes(size)) {
        for (const draftTokens of assignments(size - 1, 3)) {
          const nodes = nodesOf(parents, [0, ...draftTokens]);
          const trie = isTrie(nodes);
          for (const argmax of assignments(size, 3)) {
            const result = acceptGreedy({ nodes }, Int32Array.from(argmax));
            const reference = bruteForceLongest(nodes, argmax);
            // Plain comparisons first: assert.deepEqual on half a million cases is slow.
            const samePathAsReference = reference.paths.some((p) => p.length === result.path.length && p.every((n, k) => n === result.path[k]));
            const emittedIsArgmaxAlongPath = result.emitted.length === result.path.length && result.emitted.every((e, k) => e === argmax[result.path[k]]);
            const bySource = { jacobi: 0, retrieval: 0, noise: 0 };
            for (const n of result.path.slice(1)) bySource[nodes[n].source as 'jacobi' | 'retrieval' | 'noise']++;
            const countsMatch = bySource.jacobi === result.acceptedBySource.jacobi && bySource.retrieval === result.acceptedBySource.retrieval && bySource.noise === result.acceptedBySource.noise;
            if (!samePathAsReference || !emittedIsArgmaxAlongPath || !countsMatch || (trie && reference.paths.length !== 1)) {
              assert.fail(`parents ${parents} tokens ${draftTokens} argmax ${argmax}: got ${JSON.stringify(result)}, reference ${JSON.stringify(reference)}`);
            }
            cases++;
          }
        }
      }
    }
    // sizes 1..5: shapes (k-1)!, draft labelings 3^(k-1), argmax 3^k
    const expected = [1, 2, 3, 4, 5].reduce((sum, k) => {
      let shapes = 1;
      for (let i = 2; i < k; i++) shapes *= i;
      return sum + shapes * 3 ** (k - 1) * 3 ** k;
    }, 0);
    assert.equal(cases, expected);
  });

  it('emits what step-by-step greedy decoding emits (tree built with DraftTree)', () => {
    // A "model" as a table: next token after the sequence so far = f(last token).
    const next = (t: number) => (t * 7 + 3) % 5;
    let state = 7;
    const random = (n: number) => {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      return (state >>> 8) % n;
    };
    for (let trial = 0; trial < 500; trial++) {
      const root = random(5);
      const tree = new DraftTree(root, 2 + random(12));
      for (let p = 0; p < 4; p++) tree.addPath(Array.from({ length: 1 + random(5) }, () => random(5)), 'jacobi');
      const argmax = Int32Array.from(tree.nodes, (n) => next(n.token));
      const { emitted } = acceptGreedy(tree, argmax);
      let token = root;
      for (const e of emitted) {
        token = next(token);
        assert.equal(e, token);
      }
    }
  });
});
