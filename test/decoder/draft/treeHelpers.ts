// What the tests ask of a draft tree that the decoder itself never needs.
import { TreeInputsBuffer } from '../../../extension/decoder/draft/tree';
import type { DraftTreeView, TreeInputs } from '../../../extension/decoder/draft/types';

/** Node indexes from the root to `node`, root first. */
export function pathTo(tree: DraftTreeView, node: number): number[] {
  const path: number[] = [];
  for (let n = node; n >= 0; n = tree.nodes[n].parent) path.push(n);
  return path.reverse();
}

/** The tree's inputs in arrays of their own (a fresh buffer each call). */
export function treeInputs(tree: DraftTreeView, pastLength: number, maskValue?: number): TreeInputs {
  return new TreeInputsBuffer().build(tree, pastLength, maskValue);
}
