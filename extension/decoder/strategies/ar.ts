// Plain greedy decoding: the tree is the root alone, one token per forward pass.

import { DraftTree } from '../draft/tree';
import type { DraftStrategy, DraftTreeView } from '../draft/types';

export class AutoregressiveStrategy implements DraftStrategy {
  readonly name = 'ar' as const;
  private readonly tree = new DraftTree(0, 1);

  begin(): void {}

  draft(root: number): DraftTreeView {
    return this.tree.reset(root, 1);
  }

  observe(): void {}
}
