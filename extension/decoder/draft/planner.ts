// Builds the draft tree of one step from its candidate sources, sized by the cost model
// (costModel.ts), and learns from the outcome.
//
// Candidates form a trie that is expanded lazily, best first: a max-heap holds the
// candidates whose parent is already in the tree, keyed by value (the probability that
// the whole path is accepted). Taking a candidate expands it, i.e. asks its sources for
// its children:
// - Jacobi: a candidate at depth d that came from the Jacobi table proposes the top-k
//   guesses for depth d + 1 (ranks 0..k-1); past the known depths it proposes one noise
//   token, so the trajectory keeps going (cold start is all noise).
// - Retrieval: a candidate at token i of a retrieved continuation proposes token i + 1.
// Children proposing the same token merge into one node (the trie) that keeps every
// proposal's statistics feature and continues every proposal's source.

import { AcceptanceStats, ValueCalibration, bestPrefixSize, type RetrievalOrigin, type StepLatency } from './costModel';
import { DraftTree } from './tree';
import type { Acceptance, DraftSource } from './types';

export interface JacobiTable {
  /** Row d - 1 holds the top-`stride` token guesses for depth d, best first. */
  tokens: Int32Array;
  stride: number;
  /** Depths with known guesses (0 on a cold start). */
  knownDepth: number;
}

export interface PlannedContinuation {
  tokens: ArrayLike<number>;
  matchLength: number;
  origin: RetrievalOrigin;
}

export interface PlanRequest {
  root: number;
  /** Jacobi candidates; omit for strategies without Jacobi drafts. */
  jacobi?: { table: JacobiTable; ranks: number; maxDepth: number };
  /** Draws a noise token for Jacobi slots without a guess; omit for no noise. */
  noise?: () => number;
  continuations: readonly PlannedContinuation[];
  /** Deepest draft node worth verifying: tokens the request may still emit, minus the bonus token. */
  maxDepth?: number;
  /** A fixed number of draft nodes (--tree-budget); undefined or 0 sizes the tree by the cost model. */
  budget?: number;
  /** Largest number of draft nodes considered when sizing automatically. */
  maxDrafts: number;
  /** Fewest draft nodes when sizing automatically (keeps a Jacobi trajectory alive). */
  minDrafts: number;
  /**
   * Extra draft nodes beyond the cost model's choice, taken in the same value order.
   * Statistics only learn about nodes that get verified; strategies explore now and
   * then so that a pessimistic prior cannot keep a good (e.g. deeper) tree out forever.
   */
  explore?: number;
  /**
   * Draft nodes added below the end of the most likely path, when sizing automatically.
   * They are there for their logits: the next step's Jacobi guesses are the model's
   * predictions at the nodes just past the accepted part, so without a tail a fully
   * accepted path would leave only noise for the next step.
   */
  trajectoryTail?: number;
}

const NONE = -1;

export class TreePlanner {
  readonly tree = new DraftTree(0);
  /** Expected tokens per step of the last plan (1 + sum of node values). */
  expectedTokens = 1;

  // Candidate trie, struct-of-arrays, reused between steps.
  private capacity = 0;
  private count = 0;
  private token = new Int32Array(0);
  private parent = new Int32Array(0);
  private probability = new Float64Array(0);
  private value = new Float64Array(0);
  private source = new Uint8Array(0);
  private jacobiDepth = new Int32Array(0);
  private firstChild = new Int32Array(0);
  private nextSibling = new Int32Array(0);
  private featureHead = new Int32Array(0);
  private retrievalHead = new Int32Array(0);
  private draftIndex = new Int32Array(0);
  private expanded = new Uint8Array(0);
  // Linked pools: features and retrieval cursors of each candidate.
  private featureCode: number[] = [];
  private featureNext: number[] = [];
  private cursorContinuation: number[] = [];
  private cursorPosition: number[] = [];
  private cursorNext: number[] = [];
  // Max-heap of candidate ids by value.
  private heap = new Int32Array(0);
  private heapSize = 0;
  // Planned tree bookkeeping.
  private taken: number[] = [];
  private draftToCandidate = new Int32Array(64);
  private request: PlanRequest | null = null;

  /** Corrects the systematic optimism of node values (see ValueCalibration) before sizing. */
  readonly calibration = new ValueCalibration();

  constructor(readonly stats: AcceptanceStats, readonly latency: StepLatency) {
    this.grow(256);
  }

  /** Plans the tree for one step; the returned tree is reused by the next call. */
  plan(request: PlanRequest): DraftTree {
    this.request = request;
    this.count = 0;
    this.heapSize = 0;
    this.featureCode.length = this.featureNext.length = 0;
    this.cursorContinuation.length = this.cursorPosition.length = this.cursorNext.length = 0;
    this.taken.length = 0;

    const root = this.newCandidate(request.root, NONE, 1, SOURCE_ROOT, request.jacobi ? 0 : NONE);
    this.value[root] = 1;
    for (let c = 0; c < request.continuations.length; c++) this.addCursor(root, c, -1);

    const fixed = request.budget !== undefined && request.budget > 0;
    const limit = fixed ? request.budget! : request.maxDrafts;
    this.expand(root);
    while (this.taken.length < limit && this.heapSize > 0) {
      const next = this.popBest();
      this.taken.push(next);
      this.expand(next);
    }
    const values = this.taken.map((c) => this.calibration.calibrated(this.value[c]));
    const drafts = fixed
      ? this.taken.length
      : Math.min(values.length, bestPrefixSize(values, values.length, this.latency, request.minDrafts) + (request.explore ?? 0));
    const chosen = this.taken.slice(0, drafts);
    if (!fixed && request.trajectoryTail) {
      let expected = 1;
      for (let i = 0; i < drafts; i++) expected += values[i];
      this.extendMostLikelyPath(chosen, request.trajectoryTail, expected);
    }
    return this.buildTree(request.root, chosen);
  }

  /**
   * Appends up to `tail` nodes below the end of the chosen tree's most likely path, each
   * only while it pays for itself: a tail node is worth its own (calibrated) value plus
   * the Jacobi guess its logits give the next step — which counts only if the step gets
   * that far (the value of its parent) and the next step's guesses before it are right.
   */
  private extendMostLikelyPath(chosen: number[], tail: number, expected: number): void {
    const inTree = new Uint8Array(this.count);
    inTree[0] = 1;
    for (const c of chosen) inTree[c] = 1;
    let end = 0;
    for (let next = this.bestChild(end, inTree, 1); next !== NONE; next = this.bestChild(end, inTree, 1)) end = next;
    const stats = this.stats;
    let guessesRight = 1;
    for (let added = 0; added < tail; added++) {
      if (this.expanded[end] === 0) this.expand(end);
      const child = this.bestChild(end, inTree, 0);
      if (child === NONE) return;
      guessesRight *= stats.probability(stats.jacobiFeature(added + 1, 0));
      const worth = this.calibration.calibrated(this.value[child]) + this.value[end] * guessesRight;
      const q = chosen.length + 1;
      if ((expected + worth) / this.latency.latency(q + 1) <= expected / this.latency.latency(q)) return;
      expected += worth;
      chosen.push(child);
      end = child;
    }
  }

  /** The most valuable child of `node` whose inTree mark equals `mark` (candidates created later count as 0). */
  private bestChild(node: number, inTree: Uint8Array, mark: number): number {
    let best = NONE;
    for (let c = this.firstChild[node]; c !== NONE; c = this.nextSibling[c]) {
      if ((c < inTree.length ? inTree[c] : 0) === mark && (best === NONE || this.better(c, best))) best = c;
    }
    return best;
  }

  /** Updates the acceptance statistics from the verified tree of the last plan. */
  learn(acceptance: Acceptance): void {
    const tree = this.tree;
    const q = tree.size;
    const onPath = new Uint8Array(q);
    for (const n of acceptance.path) onPath[n] = 1;
    for (let i = 1; i < q; i++) this.calibration.record(this.value[this.draftToCandidate[i]], onPath[i] === 1);
    for (let i = 1; i < q; i++) {
      if (onPath[tree.nodes[i].parent] === 0) continue; // never tested: its parent was rejected
      const accepted = onPath[i] === 1;
      for (let f = this.featureHead[this.draftToCandidate[i]]; f !== NONE; f = this.featureNext[f]) {
        this.stats.record(this.featureCode[f], accepted);
      }
    }
  }

  // ---- candidates ----

  private expand(node: number): void {
    this.expanded[node] = 1;
    const request = this.request!;
    const stats = this.stats;
    const depth = this.nodeDepth(node) + 1;
    if (request.maxDepth !== undefined && depth > request.maxDepth) return;
    const firstNew = this.count;
    const jacobi = request.jacobi;
    const jd = this.jacobiDepth[node];
    if (jacobi && jd !== NONE && jd < jacobi.maxDepth) {
      const { table, ranks } = jacobi;
      if (jd < table.knownDepth) {
        const row = jd * table.stride;
        for (let r = 0; r < Math.min(ranks, table.stride); r++) {
          const token = table.tokens[row + r];
          if (token < 0) continue;
          this.propose(node, token, stats.probability(stats.jacobiFeature(depth, r)), stats.jacobiFeature(depth, r), SOURCE_JACOBI, jd + 1);
        }
      } else if (request.noise) {
        const feature = stats.noiseFeature(depth);
        this.propose(node, request.noise(), stats.probability(feature), feature, SOURCE_NOISE, jd + 1);
      }
    }
    for (let k = this.retrievalHead[node]; k !== NONE; k = this.cursorNext[k]) {
      const continuation = request.continuations[this.cursorContinuation[k]];
      const position = this.cursorPosition[k] + 1;
      if (position >= continuation.tokens.length) continue;
      const feature = stats.retrievalFeature(continuation.origin, continuation.matchLength, position);
      const child = this.propose(node, continuation.tokens[position], stats.probability(feature), feature, SOURCE_RETRIEVAL, NONE);
      this.addCursor(child, this.cursorContinuation[k], position);
    }
    for (let c = firstNew; c < this.count; c++) {
      this.value[c] = this.value[node] * this.probability[c];
      this.pushHeap(c);
    }
  }

  /** Adds a proposal for a child of `parent`, merging it into an existing child with the same token. */
  private propose(parent: number, token: number, probability: number, feature: number, source: number, jacobiDepth: number): number {
    let child = NONE;
    for (let c = this.firstChild[parent]; c !== NONE; c = this.nextSibling[c]) {
      if (this.token[c] === token) {
        child = c;
        break;
      }
    }
    if (child === NONE) {
      child = this.newCandidate(token, parent, probability, source, jacobiDepth);
    } else {
      if (probability > this.probability[child]) {
        this.probability[child] = probability;
        this.source[child] = source;
      }
      if (jacobiDepth !== NONE) this.jacobiDepth[child] = jacobiDepth;
    }
    this.featureCode.push(feature);
    this.featureNext.push(this.featureHead[child]);
    this.featureHead[child] = this.featureCode.length - 1;
    return child;
  }

  private newCandidate(token: number, parent: number, probability: number, source: number, jacobiDepth: number): number {
    if (this.count === this.capacity) this.grow(this.capacity * 2);
    const c = this.count++;
    this.token[c] = token;
    this.parent[c] = parent;
    this.probability[c] = probability;
    this.value[c] = 0;
    this.source[c] = source;
    this.jacobiDepth[c] = jacobiDepth;
    this.firstChild[c] = NONE;
    this.nextSibling[c] = NONE;
    this.featureHead[c] = NONE;
    this.retrievalHead[c] = NONE;
    this.draftIndex[c] = NONE;
    this.expanded[c] = 0;
    if (parent !== NONE) {
      // Prepend: sibling order does not matter, the heap decides what is taken first.
      this.nextSibling[c] = this.firstChild[parent];
      this.firstChild[parent] = c;
    }
    return c;
  }

  private addCursor(node: number, continuation: number, position: number): void {
    this.cursorContinuation.push(continuation);
    this.cursorPosition.push(position);
    this.cursorNext.push(this.retrievalHead[node]);
    this.retrievalHead[node] = this.cursorContinuation.length - 1;
  }

  private nodeDepth(node: number): number {
    let depth = 0;
    for (let n = this.parent[node]; n !== NONE; n = this.parent[n]) depth++;
    return depth;
  }

  /** The tree of the root and `chosen` candidates (each after its parent). */
  private buildTree(root: number, chosen: readonly number[]): DraftTree {
    const drafts = chosen.length;
    const tree = this.tree.reset(root, drafts + 1);
    if (this.draftToCandidate.length < drafts + 1) this.draftToCandidate = new Int32Array(2 * (drafts + 1));
    this.draftIndex[0] = 0;
    this.draftToCandidate[0] = 0;
    let expected = 1;
    for (let i = 0; i < drafts; i++) {
      const c = chosen[i];
      const index = tree.addChild(this.draftIndex[this.parent[c]], this.token[c], SOURCES[this.source[c]]);
      this.draftIndex[c] = index;
      this.draftToCandidate[index] = c;
      expected += this.value[c];
    }
    this.expectedTokens = expected;
    return tree;
  }

  private grow(capacity: number): void {
    const copy = <T extends Int32Array | Float64Array | Uint8Array>(old: T, make: (n: number) => T): T => {
      const bigger = make(capacity);
      bigger.set(old as never);
      return bigger;
    };
    const int = (n: number) => new Int32Array(n);
    this.token = copy(this.token, int);
    this.parent = copy(this.parent, int);
    this.probability = copy(this.probability, (n) => new Float64Array(n));
    this.value = copy(this.value, (n) => new Float64Array(n));
    this.source = copy(this.source, (n) => new Uint8Array(n));
    this.jacobiDepth = copy(this.jacobiDepth, int);
    this.firstChild = copy(this.firstChild, int);
    this.nextSibling = copy(this.nextSibling, int);
    this.featureHead = copy(this.featureHead, int);
    this.retrievalHead = copy(this.retrievalHead, int);
    this.draftIndex = copy(this.draftIndex, int);
    this.expanded = copy(this.expanded, (n) => new Uint8Array(n));
    this.heap = copy(this.heap, int);
    this.capacity = capacity;
  }

  // ---- heap (ties: the older candidate first, so plans are deterministic) ----

  private better(a: number, b: number): boolean {
    const va = this.value[a];
    const vb = this.value[b];
    return va > vb || (va === vb && a < b);
  }

  private pushHeap(c: number): void {
    const heap = this.heap;
    let i = this.heapSize++;
    heap[i] = c;
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (!this.better(heap[i], heap[up])) break;
      [heap[i], heap[up]] = [heap[up], heap[i]];
      i = up;
    }
  }

  private popBest(): number {
    const heap = this.heap;
    const best = heap[0];
    heap[0] = heap[--this.heapSize];
    let i = 0;
    while (true) {
      const l = 2 * i + 1;
      const r = l + 1;
      let top = i;
      if (l < this.heapSize && this.better(heap[l], heap[top])) top = l;
      if (r < this.heapSize && this.better(heap[r], heap[top])) top = r;
      if (top === i) break;
      [heap[i], heap[top]] = [heap[top], heap[i]];
      i = top;
    }
    return best;
  }
}

const SOURCE_ROOT = 0;
const SOURCE_JACOBI = 1;
const SOURCE_RETRIEVAL = 2;
const SOURCE_NOISE = 3;
const SOURCES: readonly DraftSource[] = ['root', 'jacobi', 'retrieval', 'noise'];
