// The four drafting strategies behind one factory. Every strategy only decides what is
// checked each step; the runtime always emits the model's greedy tokens.
//
// Create one strategy per loaded model and reuse it across requests: begin() resets the
// per-request state, while acceptance statistics and the latency curve keep learning.

import type { StrategyName } from '../../protocol';
import { AcceptanceStats, LatencyCurve } from '../draft/costModel';
import type { DraftStrategy } from '../draft/types';
import type { OutputHistory } from '../retrieval/outputHistory';
import type { TokenIndex } from '../retrieval/tokenIndex';
import { AutoregressiveStrategy } from './ar';
import { TreeDraftStrategy } from './treeDraftStrategy';

export interface StrategyDeps {
  /** Median ms per forward pass by q (ModelInfo.latencyCurve), or a live curve to share. */
  latencyCurve?: Record<string, number> | LatencyCurve;
  /** Fixed number of draft nodes (root excluded) per forward pass; 0 or omitted: automatic. */
  treeBudget?: number;
  /** The workspace retrieval index (tr-jacobi); the corpus keeps it up to date. */
  workspace?: TokenIndex;
  /** What the model emitted for earlier requests (tr-jacobi drafts from it); one per model. */
  outputs?: OutputHistory;
  /** Seed of the noise drawn from the context. */
  seed?: number;
  /** Acceptance statistics to share (e.g. across strategy instances); fresh priors if omitted. */
  stats?: AcceptanceStats;
  /** The clock step overheads are measured with (tests run on simulated time). */
  now?: () => number;
}

/** Largest tree the cost model considers: q = 64, the end of the calibrated curve. */
export const MAX_AUTO_DRAFTS = 63;
/** Tokens proposed after a retrieval match (32 measured no better: 2.29 vs 2.26 tokens per pass on express). */
export const RETRIEVED_LENGTH = 16;

export function createStrategy(name: StrategyName, deps: StrategyDeps = {}): DraftStrategy {
  if (name === 'ar') return new AutoregressiveStrategy();
  const latency = deps.latencyCurve instanceof LatencyCurve
    ? deps.latencyCurve
    : deps.latencyCurve && Object.keys(deps.latencyCurve).length > 0
      ? new LatencyCurve(deps.latencyCurve)
      : LatencyCurve.defaultCurve();
  const common = {
    name,
    stats: deps.stats ?? new AcceptanceStats(),
    latency,
    treeBudget: deps.treeBudget && deps.treeBudget > 0 ? Math.floor(deps.treeBudget) : undefined,
    seed: deps.seed ?? 0x5eed,
    now: deps.now,
  };
  switch (name) {
    case 'jacobi':
      // Vanilla Jacobi: one chain of guesses, each the previous step's argmax one place
      // further; noise where there is no guess yet.
      return new TreeDraftStrategy({ ...common, jacobi: { ranks: 1, maxDepth: 16 }, noise: true, maxDrafts: 16, minDrafts: 0, trajectoryTail: 2 });
    case 'pld':
      // Prompt lookup: the continuation of the longest (<= 3 token) suffix match in the context.
      return new TreeDraftStrategy({
        ...common, noise: false, maxDrafts: MAX_AUTO_DRAFTS, minDrafts: 0,
        context: { orders: [1, 2, 3], maxContinuations: 1, length: Math.max(10, common.treeBudget ?? 0), minMatch: 1 },
      });
    case 'tr-jacobi':
      return new TreeDraftStrategy({
        ...common,
        jacobi: { ranks: 4, maxDepth: 8 },
        gateJacobi: true,
        noise: true,
        maxDrafts: MAX_AUTO_DRAFTS,
        minDrafts: 0,
        trajectoryTail: 2,
        context: { orders: [1, 2, 3, 4], maxContinuations: 3, length: RETRIEVED_LENGTH, minMatch: 1 },
        workspace: deps.workspace ? { index: deps.workspace, maxContinuations: 3, length: RETRIEVED_LENGTH, minMatch: 2 } : undefined,
        history: deps.outputs ? { outputs: deps.outputs, maxContinuations: 2, length: RETRIEVED_LENGTH, minMatch: 3 } : undefined,
      });
    default:
      throw new RangeError(`unknown strategy: ${String(name)}`);
  }
}
