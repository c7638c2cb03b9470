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

/** Deterministic pseudo-random numbers (mulberry32). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
