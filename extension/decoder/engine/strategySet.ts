// Wires the draft strategies to a loaded model: one workspace retrieval index per model
// (fed by the corpus), one history of the model's outputs, one live latency curve (the calibrated one, refined online by the
// strategies), and one strategy instance per (name, tree budget), reused across requests
// so its acceptance statistics keep learning (begin() resets the per-request state).
import type { StrategyName } from '../../protocol';
import { AcceptanceStats, LatencyCurve } from '../draft/costModel';
import type { DraftStrategy } from '../draft/types';
import type { LoadedModel } from '../model/modelDir';
import { OutputHistory } from '../retrieval/outputHistory';
import { TokenIndex } from '../retrieval/tokenIndex';
import { MIXTURE_CONTEXT_TOKENS } from '../mixture/workspaceMixture';
import { createStrategy } from '../strategies';
import type { StrategySet } from './decoderEngine';
import type { MeasuredLatencies } from './latencyCalibration';

export const WORKSPACE_ORDERS = [2, 4, 8, 16];

export function createStrategySet(_model: LoadedModel, curve: MeasuredLatencies): StrategySet {
  // Orders 8 and 16 find long verbatim matches in a large workspace, where the newest occurrences of a
  // common 4-gram (all its chain walk examines) rarely hold the longest one (the mixture's lookups, drafts).
  const workspace = new TokenIndex({ orders: WORKSPACE_ORDERS, maxMatchLength: MIXTURE_CONTEXT_TOKENS });
  const outputs = new OutputHistory();
  const latency = new LatencyCurve(curve);
  const statsByName = new Map<StrategyName, AcceptanceStats>();
  const instances = new Map<string, DraftStrategy>();
  return {
    workspace,
    outputs,
    create(name, { treeBudget }) {
      const key = `${name}:${treeBudget ?? 0}`;
      let strategy = instances.get(key);
      if (!strategy) {
        let stats = statsByName.get(name);
        if (!stats) statsByName.set(name, (stats = new AcceptanceStats()));
        strategy = createStrategy(name, { latencyCurve: latency, treeBudget, workspace, outputs, stats });
        instances.set(key, strategy);
      }
      return strategy;
    },
  };
}
