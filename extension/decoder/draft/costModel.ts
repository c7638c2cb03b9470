// The hardware-aware cost model that sizes draft trees.
//
// One decoding step verifies a tree of q tokens (the root plus q - 1 drafts) in one
// forward pass and emits 1 + (accepted drafts) tokens. So
//
//   speed(tree) = E[tokens emitted] / latency(q) = (1 + sum over drafts of value(node)) / latency(q)
//
// where value(node) is the probability that the node is accepted, i.e. that its whole
// path from the root is accepted. With p(node) the probability that a node is accepted
// given that its parent was, value(node) = value(parent) * p(node), a product along the
// path. Sibling drafts carry different tokens (the tree is a trie), so at most one of
// them is accepted and their values simply add up.
//
// - latency(q) is the measured forward-pass time for q query tokens (LatencyCurve):
//   on a CPU it grows with q (docs/decoding.md: q=16 costs ~1.9x a single token here), so a bigger
//   tree must earn its keep.
// - p(node) comes from online, exponentially decayed acceptance counts
//   (AcceptanceStats), bucketed by what predicts acceptance: for a Jacobi candidate its
//   depth and rank among the previous step's top-k; for a retrieved continuation the
//   length of the suffix match, where it was found (the request's own context or the
//   workspace) and the position inside the continuation; for noise tokens the depth.
//   Each bucket starts from a prior so the first request is sensible.
//
// Choosing the tree: candidates are taken greedily by value (a node is only available
// once its parent is in: its value never exceeds its parent's), and of the prefixes of
// that order the one with the highest (1 + sum values) / latency(q) wins — the idea of
// EAGLE-2's dynamic trees and Sequoia's hardware-aware trees. A fixed budget
// (--tree-budget) takes exactly that many draft nodes instead.

import relativeLatency from './relativeLatency.json';

// ---- latency ----

/**
 * Relative cost per forward pass by q on this project's CPUs (measured; docs/decoding.md), when nothing was
 * measured. One file with training/acceptance.py, which reads the same numbers.
 */
export const DEFAULT_RELATIVE_LATENCY: Readonly<Record<number, number>> = Object.fromEntries(
  Object.entries(relativeLatency.ratio_by_q).map(([q, ratio]) => [Number(q), ratio]),
);

const LATENCY_SMOOTHING = 0.05;
/** Past lengths are bucketed by this many cached rows for the past-length factor. */
export const PAST_BUCKET_ROWS = 256;
const PAST_BUCKETS = 33;

/**
 * Median ms per forward pass at a few q, linearly interpolated in between, scaled by the cost of the
 * current past length. Online, each observed pass moves the q points (kept monotone: more query
 * tokens never cost less) and the factor of its past-length bucket; outliers (GC pauses, a busy core)
 * are clamped to [0.5x, 2x] of the prediction. The KV cache is what grows a step's cost on a CPU,
 * so a curve measured at one past length alone mis-sizes trees at another.
 */
export class LatencyCurve {
  private readonly qs: number[];
  private readonly ms: number[];
  /** Cost at each past-length bucket relative to the q points (1 until observed). */
  private readonly pastFactor = new Float64Array(PAST_BUCKETS).fill(1);
  private readonly pastSeen = new Uint8Array(PAST_BUCKETS);
  private past = 0;

  /** `online`: fold observed forward-pass times into the curve (only for curves in ms). */
  constructor(points: Record<string | number, number>, readonly online = true) {
    const entries = Object.entries(points)
      .map(([q, ms]) => [Number(q), ms] as const)
      .filter(([q, ms]) => Number.isFinite(q) && q >= 1 && Number.isFinite(ms) && ms > 0)
      .sort((a, b) => a[0] - b[0]);
    if (entries.length === 0) throw new RangeError('a latency curve needs at least one point with q >= 1 and ms > 0');
    this.qs = entries.map((e) => e[0]);
    this.ms = entries.map((e) => e[1]);
    this.makeMonotone();
  }

  static defaultCurve(): LatencyCurve {
    return new LatencyCurve(DEFAULT_RELATIVE_LATENCY, false);
  }

  /** The past length the next predictions and observations are for (cached rows). */
  setPast(past: number): void {
    this.past = Math.max(0, past);
  }

  /** Milliseconds for q query tokens at the current past; flat below the first point, linear beyond the last. */
  latency(q: number): number {
    return this.atPast(q) * this.factor(this.past);
  }

  /** The factor for `past`: the bucket's, or the nearest observed one below it (costs grow with the past). */
  factor(past: number): number {
    let bucket = Math.min(PAST_BUCKETS - 1, Math.floor(past / PAST_BUCKET_ROWS));
    while (bucket > 0 && this.pastSeen[bucket] === 0) bucket--;
    return this.pastFactor[bucket];
  }

  observe(q: number, observedMs: number): void {
    if (!this.online || !(observedMs > 0) || !(q >= 1)) return;
    const predicted = this.latency(q);
    const clamped = Math.min(2 * predicted, Math.max(0.5 * predicted, observedMs));
    const ratio = clamped / predicted;
    // The surprise is split (square root each); the past-length factor adapts faster (load changes quickly).
    const bucket = Math.min(PAST_BUCKETS - 1, Math.floor(this.past / PAST_BUCKET_ROWS));
    const factor = this.factor(this.past);
    this.pastFactor[bucket] = factor * (1 + LATENCY_SMOOTHING * (Math.sqrt(ratio) - 1) * 4);
    this.pastSeen[bucket] = 1;
    const pointRatio = Math.sqrt(ratio);
    const { qs, ms } = this;
    let i = 0;
    while (i < qs.length - 1 && qs[i + 1] <= q) i++;
    if (q <= qs[0] || i === qs.length - 1) {
      const k = q <= qs[0] ? 0 : qs.length - 1;
      ms[k] *= 1 + LATENCY_SMOOTHING * (pointRatio - 1);
    } else {
      const t = (q - qs[i]) / (qs[i + 1] - qs[i]);
      ms[i] *= 1 + LATENCY_SMOOTHING * (1 - t) * (pointRatio - 1);
      ms[i + 1] *= 1 + LATENCY_SMOOTHING * t * (pointRatio - 1);
    }
    this.makeMonotone();
  }

  toRecord(): Record<string, number> {
    return Object.fromEntries(this.qs.map((q, i) => [String(q), this.ms[i]]));
  }

  private atPast(q: number): number {
    const { qs, ms } = this;
    const n = qs.length;
    if (q <= qs[0] || n === 1) return ms[0];
    let i = 1;
    while (i < n - 1 && qs[i] < q) i++;
    const q0 = qs[i - 1];
    const q1 = qs[i];
    const t = (q - q0) / (q1 - q0);
    return Math.max(ms[0], ms[i - 1] + t * (ms[i] - ms[i - 1]));
  }

  /** More query tokens never cost less: a running maximum over the q points. */
  private makeMonotone(): void {
    for (let i = 1; i < this.ms.length; i++) if (this.ms[i] < this.ms[i - 1]) this.ms[i] = this.ms[i - 1];
  }
}

// ---- per-step overhead ----

/** What the planner needs to price a tree: the time of one decoding step with q query tokens. */
export interface StepLatency {
  latency(q: number): number;
}

const OVERHEAD_DECAY = 0.99;
/** Pseudo-observations that pull each fitted slope towards 0 until its regressor varies enough to measure it. */
const OVERHEAD_SLOPE_PRIOR_WEIGHT = 4;

/**
 * The time a decoding step spends outside the forward pass, fitted online as a + b * q + c * e by decayed
 * least squares (q query tokens, e tokens emitted). Part of it grows with q (building the tree mask over the
 * whole past, argmax and top-k over q rows of logits, committing KV rows), so leaving it out makes big trees
 * look cheaper than they are; part of it grows with e (the workspace mixture's choice at every emitted
 * token, stop rules, detokenizing). That part costs every tree the same per token, so it changes no choice
 * of tree (tokens / (time + c * tokens) ranks trees as tokens / time does) and the planner leaves it out;
 * charged per step instead, it would look like a fixed cost that a bigger tree spreads over more tokens.
 */
export class StepOverhead {
  private weight = 0;
  private sumQ = 0;
  private sumE = 0;
  private sumMs = 0;
  private sumQQ = 0;
  private sumEE = 0;
  private sumQE = 0;
  private sumQMs = 0;
  private sumEMs = 0;

  observe(q: number, emitted: number, overheadMs: number): void {
    if (!(q >= 1) || !(emitted >= 0) || !Number.isFinite(overheadMs)) return;
    const ms = Math.max(0, overheadMs);
    const d = OVERHEAD_DECAY;
    this.weight = this.weight * d + 1;
    this.sumQ = this.sumQ * d + q;
    this.sumE = this.sumE * d + emitted;
    this.sumMs = this.sumMs * d + ms;
    this.sumQQ = this.sumQQ * d + q * q;
    this.sumEE = this.sumEE * d + emitted * emitted;
    this.sumQE = this.sumQE * d + q * emitted;
    this.sumQMs = this.sumQMs * d + q * ms;
    this.sumEMs = this.sumEMs * d + emitted * ms;
  }

  /** The fitted a, b (ms per query token) and c (ms per emitted token), slopes never negative; zeros before any observation. */
  private fit(): { a: number; b: number; c: number } {
    if (this.weight === 0) return { a: 0, b: 0, c: 0 };
    const w = this.weight;
    const meanQ = this.sumQ / w;
    const meanE = this.sumE / w;
    const meanMs = this.sumMs / w;
    // Centred (co)variances, each slope with its ridge prior.
    const vqq = this.sumQQ - w * meanQ * meanQ + OVERHEAD_SLOPE_PRIOR_WEIGHT;
    const vee = this.sumEE - w * meanE * meanE + OVERHEAD_SLOPE_PRIOR_WEIGHT;
    const vqe = this.sumQE - w * meanQ * meanE;
    const cq = this.sumQMs - w * meanQ * meanMs;
    const ce = this.sumEMs - w * meanE * meanMs;
    const det = vqq * vee - vqe * vqe;
    let b = (cq * vee - ce * vqe) / det;
    let c = (ce * vqq - cq * vqe) / det;
    // A negative slope is noise: drop it, and fit the other alone.
    if (b < 0 && c < 0) b = c = 0;
    else if (b < 0) [b, c] = [0, Math.max(0, ce / vee)];
    else if (c < 0) [b, c] = [Math.max(0, cq / vqq), 0];
    return { a: meanMs - b * meanQ - c * meanE, b, c };
  }

  /** Fitted ms per step for q query tokens, without what its emitted tokens cost (perToken); 0 before any observation. */
  at(q: number): number {
    const { a, b } = this.fit();
    return Math.max(0, a + b * q);
  }

  /** Fitted ms per emitted token. */
  perToken(): number {
    return this.fit().c;
  }
}

/**
 * Step time = forward pass (the latency curve) + overhead. The overhead is in ms, so it
 * only applies to curves in ms (online ones), not to the relative default curve.
 */
export class StepCost implements StepLatency {
  constructor(readonly forward: LatencyCurve, readonly overhead: StepOverhead = new StepOverhead()) {}

  latency(q: number): number {
    return this.forward.latency(q) + (this.forward.online ? this.overhead.at(q) : 0);
  }
}

// ---- acceptance statistics ----

/** Which index a retrieved continuation came from: the request's own context, the workspace, or earlier outputs. */
export type RetrievalOrigin = 'context' | 'workspace' | 'history';

export interface AcceptanceStatsOptions {
  /** Weight kept by old observations at each new one in the same bucket. */
  decay?: number;
  /** How many observations the prior is worth. */
  priorWeight?: number;
}

export const MAX_JACOBI_DEPTH = 16;
export const MAX_JACOBI_RANK = 16;
const MATCH_BUCKETS = 7; // 1, 2, 3, 4, 5-7, 8-15, 16+
const MAX_CONTINUATION_POSITION = 16;
const ORIGINS: readonly RetrievalOrigin[] = ['context', 'workspace', 'history'];

const JACOBI_BASE = 0;
const NOISE_BASE = JACOBI_BASE + MAX_JACOBI_DEPTH * MAX_JACOBI_RANK;
const RETRIEVAL_BASE = NOISE_BASE + MAX_JACOBI_DEPTH;
const FEATURE_COUNT = RETRIEVAL_BASE + ORIGINS.length * MATCH_BUCKETS * MAX_CONTINUATION_POSITION;

/** Cold-start acceptance of a retrieved token by match-length bucket. */
const RETRIEVAL_PRIOR_BY_MATCH = [0.2, 0.4, 0.6, 0.7, 0.75, 0.8, 0.85];

function matchBucket(matchLength: number): number {
  if (matchLength <= 4) return Math.max(0, matchLength - 1);
  if (matchLength < 8) return 4;
  return matchLength < 16 ? 5 : 6;
}

/**
 * Online estimates of p(node accepted | parent accepted), per feature bucket. A feature
 * is a small integer naming a bucket; strategies get them from the *Feature methods.
 */
export class AcceptanceStats {
  private readonly accepted = new Float64Array(FEATURE_COUNT);
  private readonly tested = new Float64Array(FEATURE_COUNT);
  private readonly priors = new Float64Array(FEATURE_COUNT);
  private readonly decay: number;
  private readonly priorWeight: number;

  constructor(options: AcceptanceStatsOptions = {}) {
    this.decay = options.decay ?? 0.995;
    this.priorWeight = options.priorWeight ?? 4;
    for (let depth = 1; depth <= MAX_JACOBI_DEPTH; depth++) {
      for (let rank = 0; rank < MAX_JACOBI_RANK; rank++) {
        // The best guess one step ahead is right ~30% of the time for an MSN model;
        // deeper guesses were made from noisier inputs, lower ranks are less likely.
        this.priors[this.jacobiFeature(depth, rank)] = (0.3 * 0.9 ** (depth - 1)) / (1 + rank) ** 1.5;
      }
      this.priors[this.noiseFeature(depth)] = 0.03;
    }
    for (const origin of ORIGINS) {
      for (let bucket = 0; bucket < MATCH_BUCKETS; bucket++) {
        const base = RETRIEVAL_PRIOR_BY_MATCH[bucket];
        for (let position = 0; position < MAX_CONTINUATION_POSITION; position++) {
          // Once a copied continuation is right, the next token of it is more likely right too.
          const p = base + (1 - base) * 0.5 * (1 - 0.7 ** position);
          this.priors[RETRIEVAL_BASE + (ORIGINS.indexOf(origin) * MATCH_BUCKETS + bucket) * MAX_CONTINUATION_POSITION + position] = p;
        }
      }
    }
  }

  /** Jacobi candidate of `rank` (0 = best) among the top-k for tree depth `depth` (>= 1). */
  jacobiFeature(depth: number, rank: number): number {
    return JACOBI_BASE + (clamp(depth, 1, MAX_JACOBI_DEPTH) - 1) * MAX_JACOBI_RANK + clamp(rank, 0, MAX_JACOBI_RANK - 1);
  }

  /** A noise token (drawn from the context) at tree depth `depth`. */
  noiseFeature(depth: number): number {
    return NOISE_BASE + clamp(depth, 1, MAX_JACOBI_DEPTH) - 1;
  }

  /** Token `position` (0 = first) of a continuation retrieved after a `matchLength`-token match. */
  retrievalFeature(origin: RetrievalOrigin, matchLength: number, position: number): number {
    const o = ORIGINS.indexOf(origin);
    return RETRIEVAL_BASE + (o * MATCH_BUCKETS + matchBucket(matchLength)) * MAX_CONTINUATION_POSITION + clamp(position, 0, MAX_CONTINUATION_POSITION - 1);
  }

  /** p(accepted | parent accepted) for a feature: decayed counts shrunk towards the prior. */
  probability(feature: number): number {
    return (this.accepted[feature] + this.priorWeight * this.priors[feature]) / (this.tested[feature] + this.priorWeight);
  }

  prior(feature: number): number {
    return this.priors[feature];
  }

  /** One test of a node whose parent was accepted: was the node accepted too? */
  record(feature: number, wasAccepted: boolean): void {
    this.accepted[feature] = this.accepted[feature] * this.decay + (wasAccepted ? 1 : 0);
    this.tested[feature] = this.tested[feature] * this.decay + 1;
  }

  /** Decayed number of observations of a feature. */
  observations(feature: number): number {
    return this.tested[feature];
  }
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

// ---- calibration of node values ----

/** Upper edges of the value bins; values above the last edge fall in the last bin. */
const CALIBRATION_EDGES = [0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.7, 0.85];
const CALIBRATION_DECAY = 0.998;
/** How many expected acceptances the assumption "values are right" is worth, per bin. */
const CALIBRATION_PRIOR = 2;

/**
 * Online reliability calibration of node values: per bin of predicted value, the ratio
 * of nodes actually accepted to the sum of their predicted values. The per-bucket
 * estimates are individually fair but the planner picks the candidates whose estimates
 * are highest (and merged proposals keep the highest one), and treats the steps of a
 * path as independent, so the values of the nodes it takes run high, the more so the
 * smaller and the more uncertain they are — exactly the marginal nodes that decide the
 * tree size. Measured on the planner's own choices, this corrects all of it at once.
 */
export class ValueCalibration {
  private readonly predicted = new Float64Array(CALIBRATION_EDGES.length + 1);
  private readonly accepted = new Float64Array(CALIBRATION_EDGES.length + 1);

  /** One verified draft node: its value when planned, and whether it was accepted. */
  record(value: number, wasAccepted: boolean): void {
    if (!(value > 0)) return;
    const bin = valueBin(value);
    this.predicted[bin] = this.predicted[bin] * CALIBRATION_DECAY + value;
    this.accepted[bin] = this.accepted[bin] * CALIBRATION_DECAY + (wasAccepted ? 1 : 0);
  }

  /** The value corrected by its bin's accepted/predicted ratio, shrunk towards 1; at most 1. */
  calibrated(value: number): number {
    if (!(value > 0)) return 0;
    const bin = valueBin(value);
    const ratio = (this.accepted[bin] + CALIBRATION_PRIOR) / (this.predicted[bin] + CALIBRATION_PRIOR);
    return Math.min(1, value * ratio);
  }
}

function valueBin(value: number): number {
  let bin = 0;
  while (bin < CALIBRATION_EDGES.length && value > CALIBRATION_EDGES[bin]) bin++;
  return bin;
}

// ---- choosing the tree size ----

/**
 * Given node values in the order a planner adds them (values[i] for the (i+1)-th draft
 * node), the number of draft nodes that maximises (1 + sum of their values) / latency(1 + n).
 * `minDrafts` forces a floor (e.g. to keep a Jacobi trajectory alive).
 */
export function bestPrefixSize(values: ArrayLike<number>, count: number, latency: StepLatency, minDrafts = 0): number {
  let expected = 1;
  let bestSize = 0;
  let bestSpeed = expected / latency.latency(1);
  for (let n = 1; n <= count; n++) {
    expected += values[n - 1];
    const speed = expected / latency.latency(n + 1);
    if (speed > bestSpeed) {
      bestSpeed = speed;
      bestSize = n;
    }
  }
  return Math.max(bestSize, Math.min(minDrafts, count));
}
