import { strict as assert } from 'node:assert';
import type { SpeedupMeasurement } from '../extension/protocol';
import { median, plainTokensPerSecond, replayedSpeedup, SLOWDOWN_IN_PROPORTION } from '../extension/speedup';

const close = (a: number, b: number) => Math.abs(a - b) < 1e-12;

describe('replayedSpeedup', () => {
  const m = (liveMs: number, treeIdleMs: number, arIdleMs: number): SpeedupMeasurement => ({ strategy: 'tr-jacobi', tokens: 40, liveMs, treeIdleMs, arIdleMs });
  it('on an idle machine (as it ran = as replayed) is plain greedy\'s replay over the tree\'s', () => {
    assert.ok(close(replayedSpeedup([m(100, 100, 200)]), 2));
  });
  it('charges what slowed the completion as it ran to plain greedy too, a share in proportion to its time, the rest as time', () => {
    // The editor took 50 ms from a completion the trees decode in 100 (1.5x): plain greedy, 200 idle, is
    // slowed x 1.25 for the proportional half and by 25 ms for the rest: 250 + 25 = 275.
    assert.equal(SLOWDOWN_IN_PROPORTION, 0.5);
    assert.ok(close(replayedSpeedup([m(150, 100, 200)]), 275 / 150));
    // Between charging it all as time (250 / 150) and all in proportion (300 / 150).
    assert.ok(275 / 150 > 250 / 150 && 275 / 150 < 300 / 150);
  });
  it('pools completions by their time, so a short one counts for little', () => {
    assert.ok(close(replayedSpeedup([m(100, 100, 200), m(10, 10, 10)]), 210 / 110));
  });
  it('says 0 with no measurement or no time', () => {
    assert.equal(replayedSpeedup([]), 0);
    assert.equal(replayedSpeedup([m(0, 0, 0)]), 0);
  });
  it('plain greedy\'s tokens/s: the tokens over the time it would have taken', () => {
    assert.ok(close(plainTokensPerSecond(m(150, 100, 200)), 40000 / 275));
    assert.equal(plainTokensPerSecond(m(0, 0, 0)), 0);
  });
});

describe('median', () => {
  it('of odd and even counts, unsorted input left as it was', () => {
    const values = [3, 1, 2];
    assert.equal(median(values), 2);
    assert.deepEqual(values, [3, 1, 2]);
    assert.equal(median([4, 1, 3, 2]), 2.5);
  });
});
