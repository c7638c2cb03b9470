// Wires the draft strategies to a loaded model: one retrieval index per model (fed by
// the workspace corpus) and the measured latency curve.
// TEMPORARY: until extension/decoder/strategies lands, every name runs a root-only draft.
import type { StrategyName } from '../../protocol';
import { DraftTree } from '../draft/tree';
import type { DraftStrategy } from '../draft/types';
import type { LoadedModel } from '../model/modelDir';
import { TokenIndex } from '../retrieval/tokenIndex';
import type { StrategySet } from './decoderEngine';
import type { LatencyCurve } from './latencyCalibration';

export function createStrategySet(_model: LoadedModel, _curve: LatencyCurve): StrategySet {
  const index = new TokenIndex();
  return {
    corpusSink: index,
    create(name: StrategyName): DraftStrategy {
      return { name, begin() {}, draft: (root) => new DraftTree(root), observe() {} };
    },
  };
}
