import assert from 'node:assert/strict';
import { fitOne, fitWeights, MAX_LAMBDA, type Observation } from '../../../extension/decoder/mixture/fitLambda';
import { bucketOf, lambdaFor, parseMixtureWeights, MIXTURE_FORMAT } from '../../../extension/decoder/mixture/mixtureWeights';

const table = (rows: number, cols: number, value: number) => Array.from({ length: rows }, () => Array(cols).fill(value));
const valid = () => ({
  format: MIXTURE_FORMAT, match_edges: [2, 4], count_edges: [1, 3], confidence_edges: [0, 0.5],
  lambda: { workspace: [[[0.1, 0.2], [0.5, 0.6]], table(2, 2, 0.05)], own: [table(2, 2, 0.3), table(2, 2, 0.3)] },
});

const point = (pModel: number, pNgram: number, extra: Partial<Observation> = {}): Observation => ({
  source: 'workspace', confidence: 0.1, matchLength: 4, occurrences: 1, pModel, pNgram, modelRight: false, mixtureRight: () => false, ...extra,
});

describe('mixture weights (mixture.json)', () => {
  it('buckets by the last edge a value reaches', () => {
    assert.equal(bucketOf([2, 4, 8], 1), -1);
    assert.equal(bucketOf([2, 4, 8], 2), 0);
    assert.equal(bucketOf([2, 4, 8], 7), 1);
    assert.equal(bucketOf([2, 4, 8], 100), 2);
  });

  it('looks λ up by source, model confidence, match length and count; no match gives 0', () => {
    const w = parseMixtureWeights(valid());
    assert.equal(lambdaFor(w, 'workspace', 1, 5, 0.1), 0);
    assert.equal(lambdaFor(w, 'workspace', 3, 1, 0.1), 0.1);
    assert.equal(lambdaFor(w, 'workspace', 3, 7, 0.1), 0.2);
    assert.equal(lambdaFor(w, 'workspace', 40, 3, 0.1), 0.6);
    assert.equal(lambdaFor(w, 'workspace', 40, 3, 0.9), 0.05, 'a confident model leans on the n-grams less');
    assert.equal(lambdaFor(w, 'own', 40, 3, 0.1), 0.3);
  });

  it('refuses a malformed file with one sentence naming the field', () => {
    assert.throws(() => parseMixtureWeights([]), /not a JSON object/);
    assert.throws(() => parseMixtureWeights({ ...valid(), format: 'x' }), /format "x"/);
    assert.throws(() => parseMixtureWeights({ ...valid(), match_edges: [4, 2] }), /match_edges must be ascending/);
    assert.throws(() => parseMixtureWeights({ ...valid(), count_edges: [2, 3] }), /count_edges must start at 1/);
    assert.throws(() => parseMixtureWeights({ ...valid(), confidence_edges: [0.1, 0.5] }), /confidence_edges must be ascending numbers in \[0, 1\) starting at 0/);
    assert.throws(() => parseMixtureWeights({ ...valid(), lambda: { workspace: [table(2, 2, 1), table(2, 2, 0)], own: valid().lambda.own } }), /lambda.workspace must be 2 tables of 2 rows of 2 numbers in \[0, 1\)/);
    assert.throws(() => parseMixtureWeights({ ...valid(), lambda: { workspace: valid().lambda.workspace } }), /lambda.own/);
  });
});

describe('fitting λ by maximum likelihood', () => {
  it('finds the analytic optimum: 3 right n-gram guesses and 1 wrong at p_model 0.1 give λ = 2.6/3.6', () => {
    const points = [point(0.1, 1), point(0.1, 1), point(0.1, 1), point(0.1, 0)];
    assert.ok(Math.abs(fitOne(points) - 2.6 / 3.6) < 1e-6);
  });

  it('gives 0 where the n-gram side never helps, and stays below MAX_LAMBDA where it always does', () => {
    assert.equal(fitOne([point(0.5, 1), point(0.5, 0)]), 0);
    assert.equal(fitOne([]), 0);
    const always = fitOne([point(0.01, 1), point(0.01, 1)]);
    assert.ok(always > 0.98 && always <= MAX_LAMBDA);
  });

  it('fits each source on its own positions; a sparse cell borrows from its row, then the shorter match, and per confidence from all confidences', () => {
    const many = (n: number, p: Observation) => Array.from({ length: n }, () => p);
    const points = [
      ...many(40, point(0.1, 1, { matchLength: 8 })),
      ...many(40, point(0.5, 0, { matchLength: 2, source: 'own' })),
      ...many(5, point(0.1, 1, { matchLength: 2 })),
      ...many(3, point(0.9, 0, { matchLength: 8, confidence: 0.9 })),
    ];
    const { weights, cells } = fitWeights(points, [2, 8], [1], [0, 0.5]);
    assert.ok(weights.lambda.workspace[0][1][0] > 0.9);
    assert.equal(cells.workspace[0][0][0].positions, 5);
    assert.equal(weights.lambda.own[0][0][0], 0);
    // Three confident positions are too few for a cell: the λ fitted over every confidence stands.
    assert.equal(cells.workspace[1][1][0].positions, 3);
    const pooled = fitOne(points.filter((p) => p.source === 'workspace' && p.matchLength === 8));
    assert.ok(Math.abs(weights.lambda.workspace[1][1][0] - pooled) < 1e-4);
  });

  it('sets λ to 0 in a cell where the mixture is right less often than the model', () => {
    const misleading = Array.from({ length: 40 }, (_, i) =>
      point(0.1, i < 30 ? 1 : 0, { modelRight: true, mixtureRight: (lambda) => lambda === 0 }));
    const { weights, cells } = fitWeights(misleading, [2], [1], [0]);
    assert.equal(weights.lambda.workspace[0][0][0], 0);
    assert.equal(cells.workspace[0][0][0].mixtureRight, cells.workspace[0][0][0].modelRight);
  });
});
