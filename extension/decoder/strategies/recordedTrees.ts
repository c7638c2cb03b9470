// The trees a generation verified, verified again: replaying a tree strategy's steps on the same cache
// rows without drafting anew (drafting now would see the generation's own text in the workspace and
// in the output history, and accept more than it did). Where a step does not line up (another root at
// that position), it verifies the root alone: the output stays the model's greedy tokens whatever.

import type { StrategyName } from '../../protocol';
import type { DraftStrategy, DraftTreeView } from '../draft/types';
import { rootOnlyTree, type RecordedStep } from '../engine/generator';

export class RecordedTreesStrategy implements DraftStrategy {
  private readonly byPast = new Map<number, DraftTreeView>();

  constructor(readonly name: StrategyName, steps: readonly RecordedStep[]) {
    for (const step of steps) this.byPast.set(step.past, step.tree);
  }

  begin(): void {}

  draft(root: number, context: readonly number[]): DraftTreeView {
    const tree = this.byPast.get(context.length - 1);
    return tree && tree.nodes[0].token === root ? tree : rootOnlyTree(root);
  }

  observe(): void {}
}
