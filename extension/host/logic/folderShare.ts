// The corpus's file cap (corpus.maxFiles) shared across the folders of a multi-root workspace.

/**
 * The first items of each list, at most `cap` in all: every list gets an equal share and what a
 * short list leaves unused goes to the others, so a big first folder cannot take the whole cap and
 * leave the next folders unindexed. Each list keeps its order; with one list this is `slice(0, cap)`.
 */
export function shareCap<T>(lists: readonly (readonly T[])[], cap: number): T[][] {
  const taken = lists.map(() => 0);
  let left = Math.max(0, Math.floor(cap));
  let open = lists.filter((list) => list.length > 0).length;
  while (left > 0 && open > 0) {
    const share = Math.max(1, Math.floor(left / open));
    open = 0;
    for (const [i, list] of lists.entries()) {
      const take = Math.min(share, list.length - taken[i], left);
      taken[i] += take;
      left -= take;
      if (taken[i] < list.length) open++;
    }
  }
  return lists.map((list, i) => list.slice(0, taken[i]));
}
