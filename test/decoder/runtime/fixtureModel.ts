// Shared helpers for runtime tests: the committed random-init fixture model.
import * as path from 'node:path';
import { loadModelDir, type LoadedModel } from '../../../extension/decoder/model/modelDir';

export const FIXTURE_MODEL_DIR = path.resolve(__dirname, '../../fixtures/tiny-model');

let shared: Promise<LoadedModel> | null = null;

/** One session for all tests of a run (1 thread: the machine is shared). */
export function fixtureModel(): Promise<LoadedModel> {
  shared ??= loadModelDir(FIXTURE_MODEL_DIR, { threads: 1 });
  return shared;
}

export { seededRandom } from '../../../extension/cli/random';
