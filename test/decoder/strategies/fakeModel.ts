// A stand-in "model" for strategy tests: a pure function from the context to a ranking
// of the vocabulary (best first), plus a tiny decoding loop that verifies trees with
// acceptGreedy exactly as the runtime does.

import { acceptGreedy } from '../../../extension/decoder/draft/acceptance';
import type { DraftStrategy, DraftTreeView } from '../../../extension/decoder/draft/types';

export interface FakeModel {
  vocab: number;
  /** All token ids, best next token first. */
  ranking(sequence: readonly number[]): readonly number[];
}

function mixHash(a: number, b: number, c: number, seed: number): number {
  let h = Math.imul(a + 0x9e3779b9 + seed, 0x85ebca6b) ^ Math.imul(b + 0x7f4a7c15, 0xc2b2ae35) ^ Math.imul(c + 0x165667b1, 0x27d4eb2f);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  return (h ^ (h >>> 13)) >>> 0;
}

/** Next token = a hash of the last two tokens: a random-looking but deterministic language. */
export function hashModel(vocab: number, seed: number): FakeModel {
  const cache = new Map<number, number[]>();
  return {
    vocab,
    ranking(sequence) {
      const a = sequence.length > 1 ? sequence[sequence.length - 2] : -1;
      const b = sequence[sequence.length - 1];
      const key = (a + 1) * (vocab + 1) + b;
      let ranking = cache.get(key);
      if (!ranking) {
        ranking = Array.from({ length: vocab }, (_, t) => t).sort((x, y) => mixHash(a, b, x, seed) - mixHash(a, b, y, seed) || x - y);
        cache.set(key, ranking);
      }
      return ranking;
    },
  };
}

/** Continues `text` where the last two tokens occur in it (first occurrence), else like hashModel. */
export function textModel(text: readonly number[], vocab: number, seed: number): FakeModel {
  const fallback = hashModel(vocab, seed);
  const firstAt = new Map<number, number>();
  for (let i = 0; i + 2 < text.length; i++) {
    const key = text[i] * vocab + text[i + 1];
    if (!firstAt.has(key)) firstAt.set(key, i);
  }
  return {
    vocab,
    ranking(sequence) {
      const base = fallback.ranking(sequence);
      if (sequence.length < 2) return base;
      const at = firstAt.get(sequence[sequence.length - 2] * vocab + sequence[sequence.length - 1]);
      if (at === undefined) return base;
      const next = text[at + 2];
      return [next, ...base.filter((t) => t !== next)];
    },
  };
}

/** Next token = f(last token) only. */
export function unaryModel(vocab: number, f: (last: number) => number): FakeModel {
  return {
    vocab,
    ranking(sequence) {
      const best = f(sequence[sequence.length - 1]);
      return [best, ...Array.from({ length: vocab }, (_, t) => t).filter((t) => t !== best)];
    },
  };
}

/** Plain greedy decoding: the reference every strategy must reproduce. */
export function greedyReference(model: FakeModel, prompt: readonly number[], maxTokens: number): number[] {
  const sequence = [...prompt];
  const out: number[] = [];
  while (out.length < maxTokens) {
    const next = model.ranking(sequence)[0];
    out.push(next);
    sequence.push(next);
  }
  return out;
}

export interface LoopResult {
  tokens: number[];
  passes: number;
  trees: DraftTreeView[];
  treeSizes: number[];
  draftMs: number;
  /** Wall time of each draft() call. */
  draftTimes: number[];
}

/** The decoding loop of the runtime, with the fake model in place of the ONNX session. */
export function decodeWith(strategy: DraftStrategy, model: FakeModel, prompt: readonly number[], maxTokens: number, keepTrees = false): LoopResult {
  const context = [...prompt];
  const tokens: number[] = [];
  const trees: DraftTreeView[] = [];
  const treeSizes: number[] = [];
  let passes = 0;
  let draftMs = 0;
  const draftTimes: number[] = [];
  strategy.begin(prompt);
  while (tokens.length < maxTokens) {
    const root = context[context.length - 1];
    const started = performance.now();
    const tree = strategy.draft(root, context);
    const elapsed = performance.now() - started;
    draftMs += elapsed;
    draftTimes.push(elapsed);
    if (keepTrees) trees.push({ nodes: tree.nodes.map((n) => ({ ...n })) });
    treeSizes.push(tree.nodes.length);
    // The model's ranking at every node: the context (which ends with the root) followed
    // by the drafts on the path to the node.
    const rankings = tree.nodes.map((_, i) => {
      const path: number[] = [];
      for (let n = i; n > 0; n = tree.nodes[n].parent) path.push(tree.nodes[n].token);
      return model.ranking(context.concat(path.reverse()));
    });
    const acceptance = acceptGreedy(tree, Int32Array.from(rankings, (r) => r[0]));
    strategy.observe({
      tree,
      acceptance,
      topK: (node, k) => Int32Array.from(rankings[node].slice(0, k)),
      forwardMs: 1 + 0.05 * tree.nodes.length,
    });
    passes++;
    for (const token of acceptance.emitted) {
      if (tokens.length >= maxTokens) break;
      tokens.push(token);
      context.push(token);
    }
  }
  return { tokens, passes, trees, treeSizes, draftMs, draftTimes };
}
