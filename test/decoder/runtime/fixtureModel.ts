// Shared helpers for runtime tests: the committed random-init fixture model.
import * as path from 'node:path';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { DecoderEngine } from '../../../extension/decoder/engine/decoderEngine';
import { createStrategySet } from '../../../extension/decoder/engine/strategySet';
import { loadModelDir, type LoadedModel } from '../../../extension/decoder/model/modelDir';
import { OnnxModel } from '../../../extension/decoder/model/onnxModel';

export const FIXTURE_MODEL_DIR = path.resolve(__dirname, '../../fixtures/tiny-model');

let shared: Promise<LoadedModel> | null = null;

/** One session for all tests of a run (in this thread; 1 thread: the machine is shared). */
export function fixtureModel(): Promise<LoadedModel> {
  shared ??= loadModelDir(FIXTURE_MODEL_DIR, OnnxModel.open, { threads: 1 });
  return shared;
}

export { seededRandom } from '../../../extension/cli/random';

/**
 * A DecoderEngine with the fixture model loaded, for the suite it is called in (mocha before/after),
 * with its latency cache in a scratch folder. `engine()` gives it once `before` has run.
 */
export function fixtureEngineForSuite(): () => DecoderEngine {
  let engine: DecoderEngine | undefined;
  let cacheDir = '';
  before(async () => {
    cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'msn-engine-'));
    engine = new DecoderEngine({ strategies: createStrategySet, openSession: OnnxModel.open, cacheDir });
    await engine.load(FIXTURE_MODEL_DIR, 1);
  });
  after(async () => {
    await engine?.close();
    fs.rmSync(cacheDir, { recursive: true, force: true });
  });
  return () => engine!;
}
