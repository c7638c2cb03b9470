// The decoding engine as the CLI tools use it: in-process, progress on stderr.
import * as path from 'node:path';
import { DecoderEngine } from '../decoder/engine/decoderEngine';
import { createStrategySet } from '../decoder/engine/strategySet';
import { OnnxModel } from '../decoder/model/onnxModel';
import { WorkerModel } from '../decoder/model/workerModel';

export interface EngineSetup {
  quiet?: boolean;
  /** Run the forward passes in this thread instead of the worker thread the editor's decoder uses. */
  inThread?: boolean;
}

/** dist/decoder/forwardWorker.js, next to the CLI bundles in dist/cli/. */
const WORKER_SCRIPT = path.join(__dirname, '../decoder/forwardWorker.js');

export async function openEngine(modelDir: string, threads: number, setup: EngineSetup = {}): Promise<DecoderEngine> {
  const engine = new DecoderEngine({
    strategies: createStrategySet,
    openSession: setup.inThread ? OnnxModel.open : WorkerModel.opener({ script: WORKER_SCRIPT }),
    onProgress: (p) => {
      if (!setup.quiet && (p.phase !== 'calibrating' || p.done === undefined)) process.stderr.write(`[${p.phase}] ${p.message}\n`);
    },
  });
  await engine.load(modelDir, threads);
  return engine;
}

export function formatLatencyCurve(curve: Record<number, number>): string {
  return Object.entries(curve).map(([q, ms]) => `q=${q}: ${ms.toFixed(3)} ms`).join(', ');
}
