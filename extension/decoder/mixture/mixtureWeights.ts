// The weights of the workspace mixture: λ, the share of the n-gram distribution in
//   p = (1 − λ) · p_model + λ · p_ngram
// as a table over the model's confidence (its top probability at that position), the length n of the
// longest suffix match and the number c of its occurrences, one table per source of that match: the
// workspace, or only the request's own text (prefix and suffix).
// Fitted per model by maximum likelihood on training-split packages (extension/cli/fitMixture.ts)
// and shipped beside the model as `mixture.json`. Pure: parsing and lookup only.

export const MIXTURE_FORMAT = 'msn-mixture/1';
export const MIXTURE_FILE = 'mixture.json';

/** Where the longest match was found: another document of the workspace, or only the request's own text. */
export type MatchSource = 'workspace' | 'own';
export const MATCH_SOURCES: readonly MatchSource[] = ['workspace', 'own'];

export interface MixtureWeights {
  /** Lower edges of the match-length buckets, ascending; matches shorter than the first get λ = 0. */
  matchEdges: number[];
  /** Lower edges of the occurrence-count buckets, ascending, the first 1. */
  countEdges: number[];
  /** Lower edges of the buckets of the model's top probability, ascending, the first 0. */
  confidenceEdges: number[];
  /** λ per source, per [confidence bucket][match bucket][count bucket], each in [0, 1). */
  lambda: Record<MatchSource, number[][][]>;
}

/** Index of the last edge that `value` reaches, or -1 below the first. */
export function bucketOf(edges: readonly number[], value: number): number {
  let at = -1;
  for (let i = 0; i < edges.length && value >= edges[i]; i++) at = i;
  return at;
}

/**
 * λ for a match of `matchLength` tokens seen `count` times in `source`, where the model's top
 * probability is `confidence`; 0 where there is no match.
 */
export function lambdaFor(weights: MixtureWeights, source: MatchSource, matchLength: number, count: number, confidence: number): number {
  const m = bucketOf(weights.matchEdges, matchLength);
  const c = bucketOf(weights.countEdges, count);
  const k = Math.max(0, bucketOf(weights.confidenceEdges, confidence));
  return m < 0 || c < 0 ? 0 : weights.lambda[source][k][m][c];
}

function ascendingIntegers(value: unknown, name: string): number[] {
  if (!Array.isArray(value) || value.length === 0 || !value.every((v) => Number.isInteger(v) && v >= 1)) {
    throw new Error(`${name} must be a non-empty list of positive integers`);
  }
  for (let i = 1; i < value.length; i++) if (value[i] <= value[i - 1]) throw new Error(`${name} must be ascending`);
  return value as number[];
}

/** Checks a parsed mixture.json; throws one sentence naming what is wrong. */
export function parseMixtureWeights(json: unknown): MixtureWeights {
  const o = json as Record<string, unknown> | null;
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new Error('mixture.json is not a JSON object');
  if (o.format !== MIXTURE_FORMAT) throw new Error(`mixture.json has format ${JSON.stringify(o.format)}, expected "${MIXTURE_FORMAT}"`);
  const matchEdges = ascendingIntegers(o.match_edges, 'match_edges');
  const countEdges = ascendingIntegers(o.count_edges, 'count_edges');
  if (countEdges[0] !== 1) throw new Error('count_edges must start at 1');
  const confidenceEdges = o.confidence_edges;
  if (!Array.isArray(confidenceEdges) || confidenceEdges[0] !== 0 || !confidenceEdges.every((x, i) => typeof x === 'number' && x >= 0 && x < 1 && (i === 0 || x > confidenceEdges[i - 1]))) {
    throw new Error('confidence_edges must be ascending numbers in [0, 1) starting at 0');
  }
  const validRow = (row: unknown) => Array.isArray(row) && row.length === countEdges.length && row.every((x) => typeof x === 'number' && x >= 0 && x < 1);
  const validTable = (table: unknown) => Array.isArray(table) && table.length === matchEdges.length && table.every(validRow);
  const tables = o.lambda as Record<string, unknown> | null;
  const lambda = {} as Record<MatchSource, number[][][]>;
  for (const source of MATCH_SOURCES) {
    const perConfidence = typeof tables === 'object' && tables !== null ? tables[source] : undefined;
    if (!Array.isArray(perConfidence) || perConfidence.length !== confidenceEdges.length || !perConfidence.every(validTable)) {
      throw new Error(`lambda.${source} must be ${confidenceEdges.length} tables of ${matchEdges.length} rows of ${countEdges.length} numbers in [0, 1)`);
    }
    lambda[source] = perConfidence as number[][][];
  }
  return { matchEdges, countEdges, confidenceEdges: confidenceEdges as number[], lambda };
}
