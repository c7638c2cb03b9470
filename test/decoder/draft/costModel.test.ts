import assert from 'node:assert/strict';
import { AcceptanceStats, DEFAULT_RELATIVE_LATENCY, LatencyCurve, StepCost, StepOverhead, ValueCalibration, bestPrefixSize } from '../../../extension/decoder/draft/costModel';

describe('LatencyCurve', () => {
  const curve = () => new LatencyCurve({ 1: 2, 2: 2.1, 4: 2.2, 8: 2.5, 16: 3, 32: 4.5, 64: 6.6 });

  it('returns the measured points and interpolates linearly between them', () => {
    const c = curve();
    assert.equal(c.latency(1), 2);
    assert.equal(c.latency(8), 2.5);
    assert.ok(Math.abs(c.latency(12) - 2.75) < 1e-12);
    assert.ok(Math.abs(c.latency(48) - 5.55) < 1e-12);
  });

  it('is flat below the first point and extends the last slope beyond the last', () => {
    const c = new LatencyCurve({ 4: 3, 8: 5 });
    assert.equal(c.latency(1), 3);
    assert.equal(c.latency(16), 9);
  });

  it('accepts string keys (ModelInfo.latencyCurve) and ignores junk', () => {
    const c = new LatencyCurve({ '1': 2, '16': 4, 'x': 1, '0': 5, '8': -1 });
    assert.deepEqual(c.toRecord(), { '1': 2, '16': 4 });
    assert.throws(() => new LatencyCurve({}), RangeError);
  });

  it('moves towards observed times, clamping outliers', () => {
    const c = curve();
    for (let i = 0; i < 400; i++) c.observe(8, 3.5);
    assert.ok(Math.abs(c.latency(8) - 3.5) < 0.05, `${c.latency(8)}`);
    const before = c.latency(16);
    c.observe(16, 1e6);
    assert.ok(c.latency(16) <= before * 1.25, 'one outlier moves it by a bounded step');
    const frozen = LatencyCurve.defaultCurve();
    frozen.observe(4, 100);
    assert.equal(frozen.latency(4), DEFAULT_RELATIVE_LATENCY[4]);
  });

  it('stays monotone in q whatever it observes', () => {
    const c = curve();
    for (let i = 0; i < 500; i++) c.observe(16, 0.1);
    for (let q = 2; q <= 64; q++) assert.ok(c.latency(q) >= c.latency(q - 1) - 1e-12, `latency(${q}) < latency(${q - 1})`);
  });

  it('follows a load change at every q', () => {
    const c = curve();
    const base = [1, 4, 16, 64].map((q) => c.latency(q));
    for (let i = 0; i < 300; i++) for (const q of [1, 4, 16, 64]) c.observe(q, 1.5 * base[[1, 4, 16, 64].indexOf(q)]);
    [1, 4, 16, 64].forEach((q, k) => assert.ok(Math.abs(c.latency(q) / base[k] - 1.5) < 0.05, `q=${q}: ${c.latency(q) / base[k]}`));
  });

  it('learns what a longer past costs, without changing the shorter past', () => {
    const c = curve();
    c.setPast(100);
    const short = c.latency(8);
    c.setPast(2000);
    for (let i = 0; i < 300; i++) c.observe(8, 2 * short);
    assert.ok(Math.abs(c.latency(8) / short - 2) < 0.1, `at past 2000: ${c.latency(8) / short}x`);
    c.setPast(2300);
    assert.ok(c.latency(8) > 1.5 * short, 'an unseen longer past costs at least what the nearest shorter one does');
    c.setPast(100);
    assert.ok(Math.abs(c.latency(8) / short - 1) < 0.3, `at past 100: ${c.latency(8) / short}x`);
  });
});

describe('AcceptanceStats', () => {
  it('has the cold-start priors of the design', () => {
    const stats = new AcceptanceStats();
    assert.ok(Math.abs(stats.probability(stats.jacobiFeature(1, 0)) - 0.3) < 1e-12);
    assert.ok(stats.probability(stats.jacobiFeature(2, 0)) < 0.3);
    assert.ok(stats.probability(stats.jacobiFeature(1, 1)) < stats.probability(stats.jacobiFeature(1, 0)));
    assert.ok(Math.abs(stats.probability(stats.retrievalFeature('workspace', 3, 0)) - 0.6) < 1e-12);
    assert.ok(stats.probability(stats.retrievalFeature('context', 8, 0)) > stats.probability(stats.retrievalFeature('context', 3, 0)));
    assert.ok(stats.probability(stats.retrievalFeature('context', 3, 4)) > stats.probability(stats.retrievalFeature('context', 3, 0)));
    assert.ok(stats.probability(stats.noiseFeature(1)) < 0.1);
  });

  it('features are distinct buckets', () => {
    const stats = new AcceptanceStats();
    const features = new Set<number>();
    let count = 0;
    for (let d = 1; d <= 16; d++) for (let r = 0; r < 16; r++, count++) features.add(stats.jacobiFeature(d, r));
    for (let d = 1; d <= 16; d++, count++) features.add(stats.noiseFeature(d));
    for (const o of ['context', 'workspace', 'history'] as const) {
      for (const m of [1, 2, 3, 4, 5, 8, 16]) for (let p = 0; p < 16; p++, count++) features.add(stats.retrievalFeature(o, m, p));
    }
    assert.equal(features.size, count);
    // Out-of-range arguments fall into the edge buckets.
    assert.equal(stats.jacobiFeature(99, 99), stats.jacobiFeature(16, 15));
    assert.equal(stats.retrievalFeature('context', 6, 0), stats.retrievalFeature('context', 5, 0));
    assert.equal(stats.retrievalFeature('context', 40, 99), stats.retrievalFeature('context', 16, 15));
  });

  it('learns online and forgets old evidence', () => {
    const stats = new AcceptanceStats({ decay: 0.9, priorWeight: 2 });
    const f = stats.jacobiFeature(1, 0);
    for (let i = 0; i < 200; i++) stats.record(f, true);
    assert.ok(stats.probability(f) > 0.85, `${stats.probability(f)}`);
    for (let i = 0; i < 60; i++) stats.record(f, false);
    assert.ok(stats.probability(f) < 0.06, `${stats.probability(f)}`);
    assert.ok(stats.observations(f) < 10.01);
    assert.equal(stats.probability(stats.jacobiFeature(2, 0)), stats.prior(stats.jacobiFeature(2, 0)));
  });
});

describe('bestPrefixSize', () => {
  it('matches a brute-force maximisation of expected tokens per ms', () => {
    const latency = new LatencyCurve({ 1: 2, 4: 2.2, 8: 2.5, 16: 3, 32: 4.5, 64: 6.6 });
    let state = 1;
    const random = () => ((state = (Math.imul(state, 48271) % 2147483647 + 2147483647) % 2147483647) / 2147483647);
    for (let trial = 0; trial < 300; trial++) {
      const n = Math.floor(random() * 40);
      let v = 1;
      const values = Array.from({ length: n }, () => (v *= 0.5 + 0.5 * random()));
      values.sort((a, b) => b - a);
      let best = 0;
      let bestSpeed = 1 / latency.latency(1);
      for (let k = 1; k <= n; k++) {
        const speed = (1 + values.slice(0, k).reduce((s, x) => s + x, 0)) / latency.latency(k + 1);
        if (speed > bestSpeed + 1e-12) { best = k; bestSpeed = speed; }
      }
      assert.equal(bestPrefixSize(values, n, latency), best);
    }
  });

  it('a flat curve takes everything, a steep one nothing', () => {
    assert.equal(bestPrefixSize([0.5, 0.2, 0.01], 3, new LatencyCurve({ 1: 1, 64: 1 })), 3);
    assert.equal(bestPrefixSize([0.5, 0.2], 2, new LatencyCurve({ 1: 1, 2: 10 })), 0);
    assert.equal(bestPrefixSize([0.5, 0.2], 2, new LatencyCurve({ 1: 1, 2: 10 }), 1), 1);
    assert.equal(bestPrefixSize([], 0, new LatencyCurve({ 1: 1 }), 3), 0);
  });

  it('on the design\'s CPU curve a likely chain pays and a long unlikely one does not', () => {
    const curve = LatencyCurve.defaultCurve();
    const chain = [0.9, 0.81, 0.73, 0.66, 0.59, 0.53, 0.48, 0.43];
    assert.equal(bestPrefixSize(chain, chain.length, curve), 8);
    const weak = Array.from({ length: 30 }, () => 0.02);
    assert.equal(bestPrefixSize(weak, weak.length, curve), 0);
  });
});

describe('StepOverhead and StepCost', () => {
  it('fits the time outside the forward pass as a + b * q + c * emitted tokens', () => {
    const overhead = new StepOverhead();
    assert.equal(overhead.at(8), 0);
    assert.equal(overhead.perToken(), 0);
    for (let i = 0; i < 400; i++) {
      const q = 1 + (i % 16);
      const emitted = 1 + ((i * 7) % 5) + (q >> 2); // bigger trees emit more, not in lockstep
      overhead.observe(q, emitted, 1.5 + 0.2 * q + 0.25 * emitted);
    }
    assert.ok(Math.abs(overhead.at(1) - 1.7) < 0.05, `${overhead.at(1)}`);
    assert.ok(Math.abs(overhead.at(16) - 4.7) < 0.05, `${overhead.at(16)}`);
    assert.ok(Math.abs(overhead.perToken() - 0.25) < 0.01, `${overhead.perToken()}`);
  });

  it('charges a slope only once its regressor varies, and never a negative one', () => {
    const constant = new StepOverhead();
    for (let i = 0; i < 50; i++) constant.observe(10, 3, 2);
    assert.equal(constant.at(1), 2);
    assert.equal(constant.at(30), 2);
    assert.equal(constant.perToken(), 0);
    const falling = new StepOverhead();
    for (let i = 0; i < 50; i++) falling.observe(1 + (i % 8), 1 + (i % 3), 5 - 0.5 * (i % 8) + 0.1 * (i % 3));
    assert.ok(falling.at(1) === falling.at(60));
    assert.ok(falling.perToken() > 0);
  });

  it('charges what each emitted token costs per token, so it does not make big trees look cheaper', () => {
    const observe = (overhead: StepOverhead, withEmitted: boolean) => {
      for (let i = 0; i < 300; i++) {
        const emitted = 1 + ((i * 5) % 7);
        overhead.observe(12 + (i % 8), withEmitted ? emitted : 0, 0.3 * emitted);
      }
      return overhead;
    };
    const overhead = observe(new StepOverhead(), true);
    assert.ok(overhead.at(16) < 0.05, `${overhead.at(16)}`);
    assert.ok(Math.abs(overhead.perToken() - 0.3) < 0.01, `${overhead.perToken()}`);
    const forward = new LatencyCurve({ 1: 1, 8: 1.3, 16: 1.8, 32: 3 });
    const values = Array.from({ length: 30 }, (_, i) => 0.9 * 0.8 ** i);
    const cost = new StepCost(forward, overhead);
    // Per token it is the same for every tree: the choice is the forward pass's alone.
    assert.equal(bestPrefixSize(values, values.length, cost), bestPrefixSize(values, values.length, forward));
    // The same time charged per step (the emitted tokens not known) is spread over more tokens by a bigger tree.
    const perStep = new StepCost(forward, observe(new StepOverhead(), false));
    assert.ok(bestPrefixSize(values, values.length, perStep) > bestPrefixSize(values, values.length, cost));
  });

  it('adds the overhead to curves in ms only, and it makes big trees dearer', () => {
    const overhead = new StepOverhead();
    for (let i = 0; i < 100; i++) overhead.observe(1 + (i % 32), 1, 0.3 * (1 + (i % 32)));
    const ms = new LatencyCurve({ 1: 2, 64: 8 });
    const cost = new StepCost(ms, overhead);
    assert.ok(Math.abs(cost.latency(32) - (ms.latency(32) + overhead.at(32))) < 1e-12);
    const relative = new StepCost(LatencyCurve.defaultCurve(), overhead);
    assert.equal(relative.latency(32), DEFAULT_RELATIVE_LATENCY[32]);
    const values = Array.from({ length: 30 }, (_, i) => 0.9 * 0.85 ** i);
    assert.ok(bestPrefixSize(values, values.length, cost) < bestPrefixSize(values, values.length, ms));
  });
});

describe('ValueCalibration', () => {
  it('trusts values until it has seen them, then scales each bin by accepted / predicted', () => {
    const calibration = new ValueCalibration();
    assert.equal(calibration.calibrated(0.3), 0.3);
    assert.equal(calibration.calibrated(0), 0);
    // Values near 0.15 are accepted half as often as predicted; values near 0.8 as predicted.
    for (let i = 0; i < 2000; i++) {
      calibration.record(0.15, i % 40 < 3);
      calibration.record(0.8, i % 5 !== 0);
    }
    assert.ok(Math.abs(calibration.calibrated(0.15) - 0.075) < 0.01, `${calibration.calibrated(0.15)}`);
    assert.ok(Math.abs(calibration.calibrated(0.8) - 0.8) < 0.02, `${calibration.calibrated(0.8)}`);
    assert.equal(calibration.calibrated(0.03), 0.03);
  });

  it('never calibrates a value past 1', () => {
    const calibration = new ValueCalibration();
    for (let i = 0; i < 500; i++) calibration.record(0.9, true);
    assert.ok(calibration.calibrated(0.95) <= 1);
  });
});
