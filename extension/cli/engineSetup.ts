// The decoding engine as the CLI tools use it: in-process, progress on stderr.
import { DecoderEngine } from '../decoder/engine/decoderEngine';
import { createStrategySet } from '../decoder/engine/strategySet';

export async function openEngine(modelDir: string, threads: number, quiet = false): Promise<DecoderEngine> {
  const engine = new DecoderEngine({
    strategies: createStrategySet,
    onProgress: (p) => {
      if (!quiet && (p.phase !== 'calibrating' || p.done === undefined)) process.stderr.write(`[${p.phase}] ${p.message}\n`);
    },
  });
  await engine.load(modelDir, threads);
  return engine;
}

export function formatLatencyCurve(curve: Record<number, number>): string {
  return Object.entries(curve).map(([q, ms]) => `q=${q}: ${ms.toFixed(3)} ms`).join(', ');
}
