// A stand-in "model" for strategy tests: a pure function from the context to a ranking of the
// vocabulary (best first), served through the forward-pass contract so the tests run the
// runtime's own decoding loop (Generator), acceptance and KV bookkeeping included.

import type { DraftStrategy, DraftTreeView } from '../../../extension/decoder/draft/types';
import { Generator, type ForwardModel } from '../../../extension/decoder/engine/generator';
import type { ForwardInputs, ForwardOutputs } from '../../../extension/decoder/model/onnxModel';

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
  /** Tokens the request could still emit at each draft (deeper nodes are not drafted). */
  tokensLeft: number[];
}

/**
 * The FakeModel behind the msn-onnx/1 forward contract, so strategy tests drive the runtime's own
 * decoding loop (Generator): each key row carries its token id, so a pass reads the context from the
 * cache it is given and the tree nodes each row may attend to from the mask. Time is simulated: a pass
 * of q tokens takes 1 + 0.05 q ms on `clock`.
 */
export class FakeForward implements ForwardModel {
  static readonly ROW = 2; // kv_heads x head_dim of the stand-in cache
  readonly clock = { ms: 0, now: () => this.clock.ms };

  constructor(readonly model: FakeModel) {}

  async forward(inputs: ForwardInputs): Promise<ForwardOutputs> {
    const { inputIds, attentionMask, past } = inputs;
    const q = inputIds.length;
    const width = past + q;
    const vocab = this.model.vocab;
    const context: number[] = [];
    for (let row = 0; row < past; row++) context.push(inputs.pastKeys[0][row * FakeForward.ROW]);
    const logits = new Float32Array(q * vocab);
    for (let i = 0; i < q; i++) {
      const sequence = [...context];
      for (let j = 0; j < q; j++) if (attentionMask[i * width + past + j] === 0) sequence.push(Number(inputIds[j]));
      const ranking = this.model.ranking(sequence);
      for (let r = 0; r < ranking.length; r++) logits[i * vocab + ranking[r]] = vocab - r;
    }
    const rows = new Float32Array(q * FakeForward.ROW);
    for (let i = 0; i < q; i++) rows[i * FakeForward.ROW] = Number(inputIds[i]);
    this.clock.ms += 1 + 0.05 * q;
    return { logits, newKeys: [rows], newValues: [rows.slice()] };
  }
}

/** Decodes with the runtime's Generator over the fake model; the strategy's trees are recorded. */
export async function decodeWith(strategy: DraftStrategy, model: FakeModel, prompt: readonly number[], maxTokens: number, keepTrees = false): Promise<LoopResult> {
  const forward = new FakeForward(model);
  const config = {
    numLayers: 1, maxPositions: 8192, numKvHeads: 1, headDim: FakeForward.ROW,
    eosTokenId: model.vocab, // never produced: these models have no end-of-text
    maskValue: -1e9, vocabSize: model.vocab,
  };
  const tokenizer = { decode: (ids: readonly number[]) => ids.map(() => 'x').join(''), allSpecialIds: new Set<number>() };
  const generator = new Generator(forward, tokenizer, config, forward.clock.now);
  const trees: DraftTreeView[] = [];
  const treeSizes: number[] = [];
  const draftTimes: number[] = [];
  const tokensLeftAt: number[] = [];
  const recording: DraftStrategy = {
    name: strategy.name,
    begin: (tokens) => strategy.begin(tokens),
    draft: (root, context, tokensLeft) => {
      const started = performance.now();
      const tree = strategy.draft(root, context, tokensLeft);
      draftTimes.push(performance.now() - started);
      tokensLeftAt.push(tokensLeft ?? Number.MAX_SAFE_INTEGER);
      if (keepTrees) trees.push({ nodes: tree.nodes.map((n) => ({ ...n })) });
      treeSizes.push(tree.nodes.length);
      return tree;
    },
    observe: (outcome) => strategy.observe(outcome),
    exclude: (ms) => strategy.exclude?.(ms),
  };
  const result = await generator.generate(prompt, { maxTokens, stopRules: { stopStrings: [] }, strategy: recording });
  return {
    tokens: result.tokens, passes: result.forwardPasses, trees, treeSizes,
    draftMs: draftTimes.reduce((sum, ms) => sum + ms, 0), draftTimes, tokensLeft: tokensLeftAt,
  };
}
