// The workspace-aware next-token distribution of one request, and its greedy choice:
//   p(v | context) = (1 − λ) · p_model(v | context) + λ · p_ngram(v | context)
// where p_ngram is the distribution of the tokens that followed the longest suffix of the context
// found in the datastore, and λ = λ(match length, occurrences) (mixtureWeights.ts).
//
// The datastore: the workspace index, of the current document only what stands above the prompt's
// prefix (from where the prefix starts, its indexed text holds the prefix and then the cursor's own
// continuation, the text below it), plus the request's own prefix and suffix as two separate
// documents (so a pattern below the cursor can be reused, but the suffix is never continued from the
// cursor). The context is the text order — prefix tokens, then what
// was emitted, then a tree node's path — whatever the prompt's FIM order.
//
// Lossless: the choice at a tree node depends only on that node's logits row and its own context, so
// every strategy (and plain greedy, which runs the same rule) emits the same tokens.
import type { DraftNode } from '../draft/types';
import type { Exclusions, TokenIndex } from '../retrieval/tokenIndex';
import { argmaxOfRow, chooseAlongTree, expSum } from '../engine/logits';
import { lambdaFor, type MatchSource, type MixtureWeights } from './mixtureWeights';
import type { HealingConstraint } from './tokenHealing';

/**
 * Tokens of context a lookup reads: the longest match it can measure. Long, because among many
 * occurrences of a common line (a doc comment's "@api private") only a long match tells which one
 * this is; the indexes must measure as far (their maxMatchLength).
 */
export const MIXTURE_CONTEXT_TOKENS = 256;
const PREFIX_URI = 'request#prefix';
const SUFFIX_URI = 'request#suffix';

/** Chooses the emitted token at every node a greedy walk can reach (-1 elsewhere). */
export interface NextTokenRule {
  /** `emitted`: the tokens this generation emitted before the tree's root was verified. */
  alongTree(logits: Float32Array, nodes: readonly DraftNode[], vocab: number, emitted: readonly number[]): Int32Array;
  /** Text the first emitted tokens spell that is not part of the completion (token healing: tokenHealing.ts). */
  readonly hiddenText: string;
}

export interface NgramDistribution {
  matchLength: number;
  /** The workspace when it holds a longest match, else the request's own text. */
  source: MatchSource;
  /** Occurrences of the longest match. */
  occurrences: number;
  tokens: number[];
  probabilities: number[];
}

/** λ given the model's top probability at the position (it depends on the model's confidence too). */
export type LambdaAt = (confidence: number) => number;

export interface RequestMixtureOptions {
  weights: MixtureWeights;
  /** The workspace index (shared with the strategies' retrieval); absent: the request's own text only. */
  workspace?: TokenIndex;
  /** What of the workspace index is left out: the current document from where the prompt's prefix starts (currentDocumentExclusion). */
  excluded?: Exclusions;
  /** The tokens of the text above the cursor (the prefix window), without the healed ones. */
  prefix: readonly number[];
  /** The tokens of the text below the cursor (the suffix window; empty for a plain prompt). */
  suffix: readonly number[];
  /** The dropped end of the prefix that the first tokens must spell again; absent: none. */
  healing?: HealingConstraint;
  /** Every token's text (for how much of the healed text the emitted tokens spell). */
  tokenTexts: readonly string[];
}

/** Tokens at the end of the prefix that find the cursor in the current document's indexed text. */
const CURSOR_ANCHOR_TOKENS = 48;

/**
 * What of the workspace index the mixture of a request at `uri` leaves out: that document from where
 * the prompt's `prefix` starts in its indexed text, found by the prefix's last tokens (not its very
 * last, which the text after the cursor may spell differently); all of it when they are not found once
 * and only once (an index behind the editor, or repeated text: the cursor could be at either). The
 * text above the prefix stays in: the request's window cut it, the workspace index still holds it.
 */
export function currentDocumentExclusion(workspace: TokenIndex, uri: string, prefix: readonly number[]): Exclusions {
  const anchor = prefix.slice(Math.max(0, prefix.length - 1 - CURSOR_ANCHOR_TOKENS), prefix.length - 1);
  const end = anchor.length < CURSOR_ANCHOR_TOKENS ? -1 : workspace.onlyEndOf(uri, anchor);
  return new Map([[uri, end < 0 ? 0 : Math.max(0, end - (prefix.length - 1))]]);
}

export class RequestMixture implements NextTokenRule {
  readonly hiddenText: string;

  /**
   * `own`: an empty index the request's prefix and suffix go into (TokenIndex has no I/O); `before`: tokens
   * emitted before the generation this rule decodes starts (a replay of part of an earlier one).
   */
  constructor(private readonly options: RequestMixtureOptions, private readonly own: TokenIndex, private readonly before: readonly number[] = []) {
    if (own.documentCount === 0) {
      if (options.prefix.length > 0) own.set(PREFIX_URI, options.prefix);
      if (options.suffix.length > 0) own.set(SUFFIX_URI, options.suffix);
    }
    const healed = options.healing?.text ?? '';
    this.hiddenText = healed.slice(Math.min(healed.length, this.textLength(before, healed.length)));
  }

  /** The text before the first emitted token: the prompt's prefix without its healed end. */
  get leadTokens(): readonly number[] {
    return this.options.prefix;
  }

  /** The same mixture for a generation that starts `tokens` later (a replay of part of this one). */
  after(tokens: readonly number[]): RequestMixture {
    return new RequestMixture(this.options, this.own, [...this.before, ...tokens]);
  }

  /** The n-gram side at a context (text order, ending with the last token before the one predicted). */
  distribution(context: ArrayLike<number>): NgramDistribution | null {
    const fromWorkspace = this.options.workspace?.nextTokenCounts(context, this.options.excluded);
    const fromOwn = this.own.nextTokenCounts(context);
    // The request's own text first: where it holds a match as long as the workspace's, its counts alone. What
    // stands near the cursor is the likelier pattern (this file's `@api public` over the repository's majority).
    const own = fromOwn.matchLength > 0 && fromOwn.matchLength >= (fromWorkspace?.matchLength ?? 0);
    const found = own ? fromOwn : fromWorkspace;
    if (!found || found.matchLength === 0) return null;
    return {
      matchLength: found.matchLength, source: own ? 'own' : 'workspace', occurrences: found.total,
      tokens: found.tokens, probabilities: found.counts.map((c) => c / found.total),
    };
  }

  /** λ for a distribution, by the model's confidence at the position. */
  lambdaAt(d: NgramDistribution): LambdaAt {
    return (confidence) => lambdaFor(this.options.weights, d.source, d.matchLength, d.occurrences, confidence);
  }

  /**
   * The mixture's most probable token at one logits row given the text before it (ties: the lower id,
   * as the model's argmax), among `allowed` tokens when given (healing).
   */
  choose(logits: Float32Array, row: number, vocab: number, context: ArrayLike<number>, allowed?: Int32Array): number {
    const d = this.distribution(context);
    if (allowed) return mixedChoiceAmong(logits, row, vocab, allowed, d, d && this.lambdaAt(d));
    const best = argmaxOfRow(logits, row, vocab);
    return d === null ? best : mixedChoice(logits, row, vocab, best, d, this.lambdaAt(d));
  }

  alongTree(logits: Float32Array, nodes: readonly DraftNode[], vocab: number, emitted: readonly number[]): Int32Array {
    const generated = this.before.length > 0 ? [...this.before, ...emitted] : emitted;
    const healing = this.options.healing;
    const healedLength = healing?.text.length ?? 0;
    const spelt = this.textLength(generated, healedLength);
    return chooseAlongTree(nodes, (i) => {
      const path: number[] = [];
      for (let n = i; nodes[n].parent >= 0; n = nodes[n].parent) path.push(nodes[n].token);
      path.reverse();
      const context = lastTokens([this.options.prefix, generated, path], MIXTURE_CONTEXT_TOKENS);
      const offset = spelt < healedLength ? spelt + this.textLength(path, healedLength) : healedLength;
      return this.choose(logits, i, vocab, context, offset < healedLength ? healing!.allowedAt(offset) : undefined);
    });
  }

  /** Characters `tokens` spell, counted up to `cap`. */
  private textLength(tokens: readonly number[], cap: number): number {
    let length = 0;
    for (let i = 0; i < tokens.length && length < cap; i++) length += this.options.tokenTexts[tokens[i]]?.length ?? 0;
    return length;
  }
}

/**
 * The candidate with the highest (1 − λ) · pModel(v) + λ · pNgram(v); ties go to the lower id, as the
 * model's argmax does (pure). pModel may be any increasing function of the probability when λ = 0.
 */
export function bestUnderMixture(candidates: Iterable<number>, pModel: (v: number) => number, pNgram: (v: number) => number, lambda: number): number {
  let best = -1;
  let bestScore = -Infinity;
  for (const v of candidates) {
    const s = (1 - lambda) * pModel(v) + lambda * pNgram(v);
    if (s > bestScore || (s === bestScore && v < best)) { best = v; bestScore = s; }
  }
  return best;
}

/** The n-gram side's probability of a token (0 for one it never saw follow). */
function ngramProbability(d: NgramDistribution | null): (v: number) => number {
  return (v) => {
    const at = d ? d.tokens.indexOf(v) : -1;
    return at >= 0 ? d!.probabilities[at] : 0;
  };
}

/**
 * The best of the model's argmax and the n-gram tokens under (1 − λ) p_model + λ p_ngram, λ by the
 * model's top probability there (pure).
 */
export function mixedChoice(logits: Float32Array, row: number, vocab: number, argmax: number, d: NgramDistribution, lambdaAt: LambdaAt): number {
  // The model's argmax also first on the n-gram side beats every other token for any λ: no softmax needed.
  const own = d.tokens.indexOf(argmax);
  if (own >= 0 && d.probabilities.every((p, i) => i === own || p < d.probabilities[own])) return argmax;
  const base = row * vocab;
  const top = logits[base + argmax];
  const sum = expSum(logits, row, vocab, top);
  const lambda = lambdaAt(1 / sum);
  if (lambda === 0) return argmax;
  const candidates = [argmax, ...d.tokens.filter((v) => v >= 0 && v < vocab)];
  return bestUnderMixture(candidates, (v) => Math.exp(logits[base + v] - top) / sum, ngramProbability(d), lambda);
}

/** The mixture's best token among `allowed` (ascending ids), the n-gram side restricted to them too (pure). */
export function mixedChoiceAmong(logits: Float32Array, row: number, vocab: number, allowed: Int32Array, d: NgramDistribution | null, lambdaAt: LambdaAt | null): number {
  const base = row * vocab;
  // The model alone: the largest logit among the allowed.
  const modelAlone = () => bestUnderMixture(allowed, (v) => logits[base + v], () => 0, 0);
  if (d === null || lambdaAt === null) return modelAlone();
  const top = logits[base + argmaxOfRow(logits, row, vocab)];
  const sum = expSum(logits, row, vocab, top);
  const lambda = lambdaAt(1 / sum);
  if (lambda === 0) return modelAlone();
  return bestUnderMixture(allowed, (v) => Math.exp(logits[base + v] - top) / sum, ngramProbability(d), lambda);
}

/** The last `count` tokens of the concatenated parts (a fresh array). */
function lastTokens(parts: readonly (readonly number[])[], count: number): number[] {
  const out: number[] = [];
  for (let p = parts.length - 1; p >= 0 && out.length < count; p--) {
    const part = parts[p];
    for (let i = part.length - 1; i >= 0 && out.length < count; i--) out.push(part[i]);
  }
  return out.reverse();
}
