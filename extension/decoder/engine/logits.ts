// Small pure helpers over a [q, vocab] logits buffer.

/** The k largest entries of one row, best first (ties: lower id first). */
export function topKOfRow(logits: Float32Array, row: number, vocab: number, k: number): Int32Array {
  const count = Math.max(0, Math.min(k, vocab));
  const ids = new Int32Array(count);
  const values = new Float32Array(count).fill(-Infinity);
  let filled = 0;
  const base = row * vocab;
  for (let v = 0; v < vocab; v++) {
    const x = logits[base + v];
    if (filled === count && !(x > values[count - 1])) continue;
    // Insertion into the small sorted list; strict '>' keeps lower ids ahead on ties.
    let i = filled < count ? filled : count - 1;
    while (i > 0 && x > values[i - 1]) {
      values[i] = values[i - 1];
      ids[i] = ids[i - 1];
      i--;
    }
    values[i] = x;
    ids[i] = v;
    if (filled < count) filled++;
  }
  return ids;
}

/** The largest entry of one row (ties: lower id first). */
export function argmaxOfRow(logits: Float32Array, row: number, vocab: number): number {
  const base = row * vocab;
  let best = 0;
  let bestValue = logits[base];
  for (let v = 1; v < vocab; v++) {
    if (logits[base + v] > bestValue) {
      bestValue = logits[base + v];
      best = v;
    }
  }
  return best;
}

/**
 * `choose(node)` only where greedy acceptance can look: the root and nodes whose parent is
 * reached and chose them. Others get -1. Scanning the vocabulary at every node of a
 * 64-node tree costs about as much as a small model's forward pass; most nodes are never
 * reached. Nodes come parents-first, so one pass suffices.
 */
export function chooseAlongTree(nodes: ReadonlyArray<{ token: number; parent: number }>, choose: (node: number) => number): Int32Array {
  const chosen = new Int32Array(nodes.length).fill(-1);
  for (let i = 0; i < nodes.length; i++) {
    const parent = nodes[i].parent;
    if (parent < 0 || (chosen[parent] >= 0 && chosen[parent] === nodes[i].token)) chosen[i] = choose(i);
  }
  return chosen;
}

/** The model's argmax where greedy acceptance can look (chooseAlongTree). */
export function argmaxAlongTree(logits: Float32Array, nodes: ReadonlyArray<{ token: number; parent: number }>, vocab: number): Int32Array {
  return chooseAlongTree(nodes, (node) => argmaxOfRow(logits, node, vocab));
}

/** Softmax denominator of a row relative to `top` (its largest logit). */
export function expSum(logits: Float32Array, row: number, vocab: number, top: number): number {
  const base = row * vocab;
  let sum = 0;
  for (let v = 0; v < vocab; v++) sum += Math.exp(logits[base + v] - top);
  return sum;
}
