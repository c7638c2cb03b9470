// Maximum-likelihood fit of the mixture weights λ(n, c) from observed positions (pure).
// At each position of real code after a cursor, with n-gram match length n and c occurrences,
// the model gave the true next token probability pModel and the n-gram side pNgram; λ of a cell
// maximises Σ log((1 − λ) pModel + λ pNgram) over its positions, a concave function of λ.
// Greedy decoding then uses the mixture's most probable token, which likelihood does not score:
// a cell where that choice is right less often than the model's own on the fit's positions gets λ = 0.
import { bucketOf, MATCH_SOURCES, type MatchSource, type MixtureWeights } from './mixtureWeights';

export interface Observation {
  source: MatchSource;
  /** The model's top probability at the position. */
  confidence: number;
  matchLength: number;
  occurrences: number;
  pModel: number;
  pNgram: number;
  /** Whether greedy choice is right at this position: the model's, and the mixture's under λ. */
  modelRight: boolean;
  mixtureRight: (lambda: number) => boolean;
}

/** Largest λ a fit may return: p_model always keeps a share, so no token is ever impossible. */
export const MAX_LAMBDA = 0.99;
/**
 * Positions below which a cell is not fitted on its own: it takes its row's λ when the row has enough,
 * else the λ of the same count one match bucket shorter (a longer match is no weaker evidence), else the overall λ.
 */
export const MIN_CELL_POSITIONS = 30;

function logLikelihood(points: readonly Observation[], lambda: number): number {
  let sum = 0;
  for (const p of points) sum += Math.log((1 - lambda) * p.pModel + lambda * p.pNgram);
  return sum;
}

/** The λ in [0, MAX_LAMBDA] maximising the likelihood of `points`, by golden-section search. */
export function fitOne(points: readonly Observation[]): number {
  if (points.length === 0) return 0;
  const ratio = (Math.sqrt(5) - 1) / 2;
  let lo = 0;
  let hi = MAX_LAMBDA;
  for (let i = 0; i < 60; i++) {
    const a = hi - ratio * (hi - lo);
    const b = lo + ratio * (hi - lo);
    if (logLikelihood(points, a) < logLikelihood(points, b)) lo = a;
    else hi = b;
  }
  const lambda = (lo + hi) / 2;
  // The end points too: the likelihood may be largest at λ = 0 (the n-grams never help there).
  return logLikelihood(points, 0) >= logLikelihood(points, lambda) - 1e-9 ? 0 : lambda;
}

export interface CellFit {
  positions: number;
  lambda: number;
  /** Mean log-likelihood gain over the model alone, nats per position. */
  gain: number;
  /** Positions where greedy choice was right: the model's, the mixture's (at this λ). */
  modelRight: number;
  mixtureRight: number;
}

/**
 * One table, and each cell's fit, for the given bucket edges. A cell with too few positions takes
 * `fallback`'s λ for it when given, else its row's, else the shorter match's, else the overall λ.
 */
export function fitTable(points: readonly Observation[], matchEdges: number[], countEdges: number[], fallback?: number[][]): { lambda: number[][]; cells: CellFit[][] } {
  const cellsOf = matchEdges.map(() => countEdges.map((): Observation[] => []));
  for (const p of points) {
    const m = bucketOf(matchEdges, p.matchLength);
    const c = bucketOf(countEdges, p.occurrences);
    if (m >= 0 && c >= 0) cellsOf[m][c].push(p);
  }
  const overall = fitOne(points.filter((p) => bucketOf(matchEdges, p.matchLength) >= 0));
  const lambda: number[][] = [];
  const cells: CellFit[][] = [];
  for (let m = 0; m < matchEdges.length; m++) {
    const row = cellsOf[m].flat();
    const rowLambda = fallback ? undefined : row.length >= MIN_CELL_POSITIONS ? fitOne(row) : undefined;
    lambda.push([]);
    cells.push([]);
    for (let c = 0; c < countEdges.length; c++) {
      const cell = cellsOf[m][c];
      let l = cell.length >= MIN_CELL_POSITIONS ? fitOne(cell) : fallback?.[m][c] ?? rowLambda ?? (m > 0 ? cells[m - 1][c].lambda : overall);
      const modelRight = cell.filter((p) => p.modelRight).length;
      let mixtureRight = cell.filter((p) => p.mixtureRight(l)).length;
      if (cell.length >= MIN_CELL_POSITIONS && mixtureRight < modelRight) {
        l = 0;
        mixtureRight = modelRight;
      }
      const gain = cell.length > 0 ? (logLikelihood(cell, l) - logLikelihood(cell, 0)) / cell.length : 0;
      lambda[m].push(Number(l.toFixed(4)));
      cells[m].push({ positions: cell.length, lambda: l, gain, modelRight, mixtureRight });
    }
  }
  return { lambda, cells };
}

/**
 * Both sources' tables, one per confidence bucket; a sparse cell of a confidence bucket takes the λ of
 * the same cell fitted over every confidence.
 */
export function fitWeights(
  points: readonly Observation[], matchEdges: number[], countEdges: number[], confidenceEdges: number[],
): { weights: MixtureWeights; cells: Record<MatchSource, CellFit[][][]> } {
  const lambda = {} as Record<MatchSource, number[][][]>;
  const cells = {} as Record<MatchSource, CellFit[][][]>;
  for (const source of MATCH_SOURCES) {
    const ofSource = points.filter((p) => p.source === source);
    const pooled = fitTable(ofSource, matchEdges, countEdges);
    const fits = confidenceEdges.map((_, k) =>
      fitTable(ofSource.filter((p) => bucketOf(confidenceEdges, p.confidence) === k), matchEdges, countEdges, pooled.lambda));
    lambda[source] = fits.map((f) => f.lambda);
    cells[source] = fits.map((f) => f.cells);
  }
  return { weights: { matchEdges, countEdges, confidenceEdges, lambda }, cells };
}
