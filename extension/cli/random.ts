// Deterministic pseudo-random numbers for reproducible benchmark samples, from the
// decoder's seeded generator (one mulberry32 implementation in the project).
import { SeededRandom } from '../decoder/draft/prng';

export type Random = () => number;

export function seededRandom(seed: number): Random {
  const generator = new SeededRandom(seed);
  return () => generator.nextUint32() / 4294967296;
}

export function randomInt(random: Random, below: number): number {
  return Math.floor(random() * below);
}
