// Greedy verification of a draft tree: which drafts the model itself would have emitted.

import type { Acceptance, DraftTreeView } from './types';

/**
 * Walks from the root: the model's argmax at the current node is the next emitted
 * token; if a child carries exactly that token the walk moves to it, else it stops.
 * `emitted` is the argmax at every visited node, so it holds the accepted drafts
 * followed by one bonus token, and equals what plain greedy decoding would emit.
 *
 * Computed in one pass over the nodes (parents come first): a node is reachable when
 * its parent is reachable and its token is the parent's argmax; the deepest reachable
 * node ends the path. In a trie that path is unique; with duplicate siblings the
 * first-indexed of the deepest wins, which changes nothing that is emitted.
 */
export function acceptGreedy(tree: DraftTreeView, argmaxPerNode: Int32Array): Acceptance {
  const nodes = tree.nodes;
  const q = nodes.length;
  if (q === 0) throw new RangeError('a draft tree has at least its root');
  if (argmaxPerNode.length < q) throw new RangeError(`need an argmax for each of the ${q} nodes, got ${argmaxPerNode.length}`);
  const reachable = new Uint8Array(q);
  reachable[0] = 1;
  let deepest = 0;
  for (let i = 1; i < q; i++) {
    const { parent, token } = nodes[i];
    if (reachable[parent] === 1 && argmaxPerNode[parent] === token) {
      reachable[i] = 1;
      if (nodes[i].depth > nodes[deepest].depth) deepest = i;
    }
  }
  const path: number[] = [];
  for (let n = deepest; n !== -1; n = nodes[n].parent) path.push(n);
  path.reverse();
  const emitted = path.map((n) => argmaxPerNode[n]);
  const acceptedBySource = { jacobi: 0, retrieval: 0, noise: 0 };
  for (let i = 1; i < path.length; i++) {
    const source = nodes[path[i]].source;
    if (source !== 'root') acceptedBySource[source]++;
  }
  return { path, emitted, acceptedBySource };
}
