import { strict as assert } from 'node:assert';
import { loadInflation, measuredSpeedup, median } from '../extension/speedup';

const close = (a: number, b: number) => Math.abs(a - b) < 1e-12;

describe('measuredSpeedup', () => {
  it('is plain greedy\'s time for the tokens (median plain step each) over the time they took, with no load', () => {
    // 40 tokens in 100 ms; plain greedy 5 ms a step would take 200 ms.
    assert.ok(close(measuredSpeedup({ baselineStepMs: [5, 5, 6], stepLoad: [1, 1, 1], tokens: 40, elapsedMs: 100 }), 2));
  });
  it('a slow plain step among the few timed does not move it (median)', () => {
    assert.ok(close(measuredSpeedup({ baselineStepMs: [5, 40, 5], stepLoad: [1, 1], tokens: 40, elapsedMs: 100 }), 2));
  });
  it('load that slowed some of the completion\'s steps is charged to plain greedy too (mean over median of the loads)', () => {
    // Two of five steps ran at 2x and 3x their typical cost: the mean load is 1.6x the median one.
    const loads = [1, 1, 1, 2, 3];
    assert.ok(close(loadInflation(loads), 8 / 5));
    assert.ok(close(measuredSpeedup({ baselineStepMs: [5], stepLoad: loads, tokens: 40, elapsedMs: 100 }), 2 * 8 / 5));
  });
  it('is 1 for ar over its own steps: its median step times its inflation is its mean step', () => {
    const steps = [2, 2.2, 2.1, 6, 2.3, 9];
    const elapsedMs = steps.reduce((a, b) => a + b, 0);
    const stepLoad = steps.map((ms) => ms / 1.7); // over any calibrated cost of a one-token pass
    assert.ok(Math.abs(measuredSpeedup({ baselineStepMs: steps, stepLoad, tokens: steps.length, elapsedMs }) - 1) < 1e-12);
  });
  it('says 0 when nothing was timed or nothing generated, and takes no inflation without loads', () => {
    assert.equal(measuredSpeedup({ baselineStepMs: [], stepLoad: [1], tokens: 10, elapsedMs: 10 }), 0);
    assert.equal(measuredSpeedup({ baselineStepMs: [1], stepLoad: [1], tokens: 0, elapsedMs: 10 }), 0);
    assert.equal(measuredSpeedup({ baselineStepMs: [1], stepLoad: [1], tokens: 10, elapsedMs: 0 }), 0);
    assert.equal(loadInflation([]), 1);
  });
  it('median of odd and even counts, unsorted input left as it was', () => {
    const values = [3, 1, 2];
    assert.equal(median(values), 2);
    assert.deepEqual(values, [3, 1, 2]);
    assert.equal(median([4, 1, 3, 2]), 2.5);
  });
});
