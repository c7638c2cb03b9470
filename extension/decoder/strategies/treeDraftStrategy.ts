// The machinery shared by the drafting strategies: keep the request's context indexed,
// gather Jacobi guesses, noise and retrieved continuations, let the planner size the
// tree by the cost model, and learn from every verified step. `jacobi`, `pld` and
// `tr-jacobi` are configurations of it (strategies/index.ts).

import type { StrategyName } from '../../protocol';
import { AcceptanceStats, LatencyCurve, StepCost, type RetrievalOrigin } from '../draft/costModel';
import { JacobiGate } from '../draft/jacobiGate';
import { TreePlanner, type JacobiTable, type PlannedContinuation } from '../draft/planner';
import { SeededRandom } from '../draft/prng';
import type { DraftStrategy, DraftTreeView, StepOutcome } from '../draft/types';
import type { OutputHistory } from '../retrieval/outputHistory';
import { TokenIndex } from '../retrieval/tokenIndex';

export interface RetrievalSettings {
  maxContinuations: number;
  /** Tokens per continuation at most. */
  length: number;
  minMatch: number;
}

export interface TreeDraftOptions {
  name: StrategyName;
  stats: AcceptanceStats;
  latency: LatencyCurve;
  /** Fixed number of draft nodes per step; 0 or undefined: sized by the cost model. */
  treeBudget?: number;
  /** Most draft nodes the cost model may choose. */
  maxDrafts: number;
  /** Fewest draft nodes the cost model may choose. */
  minDrafts: number;
  /** Nodes added past the most likely path for their logits (Jacobi strategies; see the planner). */
  trajectoryTail?: number;
  /** Jacobi guesses: the top `ranks` at each of up to `maxDepth` depths. */
  jacobi?: { ranks: number; maxDepth: number };
  /** When sizing automatically, draft the Jacobi guesses (and their noise and tail) only while they pay (draft/jacobiGate.ts). */
  gateJacobi?: boolean;
  /** Fill Jacobi slots without a guess with tokens drawn from the context. */
  noise: boolean;
  /** Prompt-lookup over the request's own context (orders of its n-gram index). */
  context?: RetrievalSettings & { orders: readonly number[] };
  /** Lookup in the workspace index, shared with the corpus. */
  workspace?: RetrievalSettings & { index: TokenIndex };
  /** Lookup in what the model emitted for earlier requests (retrieval/outputHistory.ts), shared per model. */
  history?: RetrievalSettings & { outputs: OutputHistory };
  seed: number;
  /** Milliseconds clock for the per-step overhead (performance.now unless a test pins it). */
  now?: () => number;
}

const CONTEXT_URI = 'context';
/** Every EXPLORE_EVERY-th automatically sized step verifies EXPLORE_NODES more nodes than the cost model asks for. */
const EXPLORE_EVERY = 8;
const EXPLORE_NODES = 4;

export class TreeDraftStrategy implements DraftStrategy {
  readonly name: StrategyName;
  private readonly planner: TreePlanner;
  private readonly random: SeededRandom;
  private readonly contextIndex: TokenIndex | null;
  private indexedContextLength = 0;
  private readonly table: JacobiTable;
  private context: readonly number[] = [];
  private steps = 0;
  private readonly cost: StepCost;
  private readonly now: () => number;
  /** When the current step's draft() began, and its tree size and forward time once observed. */
  private stepStart = NaN;
  private observedQ = 0;
  private observedEmitted = 0;
  private observedForwardMs = NaN;
  private readonly drawNoise = () => this.context[this.random.below(this.context.length)];
  private readonly jacobiGate: JacobiGate | null;
  /** Whether the tree drafted last had Jacobi guesses to draft (a table that knew something). */
  private draftedGuesses = false;

  constructor(private readonly options: TreeDraftOptions) {
    this.name = options.name;
    this.cost = new StepCost(options.latency);
    this.now = options.now ?? (() => performance.now());
    this.planner = new TreePlanner(options.stats, this.cost);
    this.random = new SeededRandom(options.seed);
    this.contextIndex = options.context ? new TokenIndex({ orders: options.context.orders, minGarbageForCompaction: 0 }) : null;
    const ranks = options.jacobi?.ranks ?? 1;
    const depth = options.jacobi?.maxDepth ?? 0;
    this.table = { tokens: new Int32Array(Math.max(1, ranks * depth)).fill(-1), stride: ranks, knownDepth: 0 };
    this.jacobiGate = options.jacobi && options.gateJacobi ? new JacobiGate() : null;
  }

  /** Whether this step drafts Jacobi guesses (always, under a fixed tree budget: its noise fills the budget). */
  private get jacobiDrafting(): boolean {
    return this.options.jacobi !== undefined && (Boolean(this.options.treeBudget) || (this.jacobiGate?.drafting ?? true));
  }

  /** Expected tokens per step of the last drafted tree, by the cost model. */
  get expectedTokens(): number {
    return this.planner.expectedTokens;
  }

  begin(promptTokens: readonly number[]): void {
    this.random.reseed(this.options.seed);
    this.table.knownDepth = 0;
    this.steps = 0;
    this.stepStart = NaN; // the gap since the last request's step is no step's overhead
    this.observedForwardMs = NaN;
    this.context = promptTokens;
    this.options.history?.outputs.start(promptTokens);
    if (this.contextIndex) {
      this.contextIndex.clear();
      this.contextIndex.append(CONTEXT_URI, promptTokens);
      this.indexedContextLength = promptTokens.length;
    }
  }

  draft(root: number, context: readonly number[], tokensLeft = Number.MAX_SAFE_INTEGER): DraftTreeView {
    const { options } = this;
    this.measureOverhead();
    this.context = context;
    // The pass verifies this tree over the cached context: price it at that past length.
    this.options.latency.setPast(context.length - 1);
    const continuations: PlannedContinuation[] = [];
    if (this.contextIndex && options.context) {
      this.syncContext(context);
      this.retrieve(this.contextIndex, options.context, 'context', context, continuations);
    }
    if (options.workspace) this.retrieve(options.workspace.index, options.workspace, 'workspace', context, continuations);
    if (options.history) this.retrieve(options.history.outputs.index, options.history, 'history', context, continuations);
    const jacobi = this.jacobiDrafting;
    this.draftedGuesses = jacobi && this.table.knownDepth > 0;
    return this.planner.plan({
      root,
      jacobi: jacobi ? { table: this.table, ranks: options.jacobi!.ranks, maxDepth: options.jacobi!.maxDepth } : undefined,
      noise: jacobi && options.noise && context.length > 0 ? this.drawNoise : undefined,
      continuations,
      maxDepth: tokensLeft - 1,
      budget: options.treeBudget,
      maxDrafts: options.maxDrafts,
      minDrafts: options.minDrafts,
      trajectoryTail: jacobi ? options.trajectoryTail : 0,
      explore: ++this.steps % EXPLORE_EVERY === 0 ? EXPLORE_NODES : 0,
    });
  }

  observe(outcome: StepOutcome): void {
    this.options.history?.outputs.record(outcome.acceptance.emitted);
    if (outcome.tree !== this.planner.tree) {
      // The runtime verified a tree of its own (root only: near the context limit, or a replay that did not line up). Its
      // step is no tree's overhead, and the guesses still stand for their positions, one token on.
      this.observedForwardMs = NaN;
      this.shiftJacobiTable(outcome.acceptance.path.length, 0);
      return;
    }
    this.planner.learn(outcome.acceptance);
    this.options.latency.observe(outcome.tree.nodes.length, outcome.forwardMs);
    this.observedQ = outcome.tree.nodes.length;
    this.observedEmitted = outcome.acceptance.emitted.length;
    this.observedForwardMs = outcome.forwardMs;
    const jacobi = this.jacobiDrafting;
    this.jacobiGate?.observe(outcome.acceptance.acceptedBySource.jacobi, jacobi && this.draftedGuesses);
    if (jacobi && this.jacobiDrafting) this.updateJacobiTable(outcome);
    else this.table.knownDepth = 0; // no guesses kept while off: the first step back starts cold
  }

  /** Time the generator spent elsewhere between steps (other requests, corpus indexing): no tree's cost. */
  exclude(ms: number): void {
    if (Number.isFinite(this.stepStart) && ms > 0) this.stepStart += ms;
  }

  /**
   * A step runs from one draft() to the next; whatever of it was not the forward pass is
   * overhead the cost model must charge to the tree that step verified.
   */
  private measureOverhead(): void {
    const now = this.now();
    if (Number.isFinite(this.stepStart) && Number.isFinite(this.observedForwardMs)) {
      this.cost.overhead.observe(this.observedQ, this.observedEmitted, now - this.stepStart - this.observedForwardMs);
    }
    this.stepStart = now;
    this.observedForwardMs = NaN;
  }

  /**
   * Next step's Jacobi guesses: below the last accepted node, follow the most promising
   * child (the first one the planner took) down the tree; the top-k of the logits at the
   * d-th node of that chain guess the token d places after the new root (the bonus
   * token). Past that chain, guesses of the previous table that were not verified this
   * step still stand for their positions (shifted by the tokens just emitted), as in a
   * Jacobi window; past those, the planner falls back to noise.
   */
  private updateJacobiTable(outcome: StepOutcome): void {
    const tree = this.planner.tree;
    const table = this.table;
    const { ranks, maxDepth } = this.options.jacobi!;
    const path = outcome.acceptance.path;
    // Old row r guessed the position r + 1 after the old root; the new root sits
    // path.length positions later, so new row r' is old row r' + path.length.
    const shift = path.length;
    let node = tree.firstChild(path[path.length - 1]);
    let depth = 0;
    while (node !== -1 && depth < maxDepth) {
      const top = outcome.topK(node, ranks);
      const row = depth * ranks;
      for (let r = 0; r < ranks; r++) table.tokens[row + r] = r < top.length ? top[r] : -1;
      depth++;
      node = tree.firstChild(node);
    }
    this.shiftJacobiTable(shift, depth);
  }

  /**
   * Rows from `from` on take the guesses of the rows `shift` further (the root moved `shift` tokens on);
   * the table then knows as far as those reached.
   */
  private shiftJacobiTable(shift: number, from: number): void {
    const table = this.table;
    const maxDepth = this.options.jacobi?.maxDepth ?? 0;
    const ranks = this.options.jacobi?.ranks ?? 1;
    const oldKnownDepth = table.knownDepth;
    let depth = from;
    // Rows read below lie at or beyond depth + shift, past every row written before `from`.
    while (depth < maxDepth && depth + shift < oldKnownDepth) {
      table.tokens.copyWithin(depth * ranks, (depth + shift) * ranks, (depth + shift + 1) * ranks);
      depth++;
    }
    table.knownDepth = depth;
  }

  private syncContext(context: readonly number[]): void {
    const index = this.contextIndex!;
    if (context.length < this.indexedContextLength) {
      index.clear();
      this.indexedContextLength = 0;
    }
    if (context.length > this.indexedContextLength) {
      index.append(CONTEXT_URI, context.slice(this.indexedContextLength));
      this.indexedContextLength = context.length;
    }
  }

  private retrieve(index: TokenIndex, settings: RetrievalSettings, origin: RetrievalOrigin, context: readonly number[], out: PlannedContinuation[]): void {
    const found = index.query(context, { maxContinuations: settings.maxContinuations, length: settings.length, minMatch: settings.minMatch });
    for (const c of found) out.push({ tokens: c.tokens, matchLength: c.matchLength, origin });
  }
}
