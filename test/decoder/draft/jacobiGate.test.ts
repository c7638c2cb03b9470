import { strict as assert } from 'node:assert';
import { JacobiGate, JACOBI_MIN_TOKENS_PER_STEP, JACOBI_PROBE_STEPS, JACOBI_RETRY_AFTER_STEPS } from '../../../extension/decoder/draft/jacobiGate';

/** Feeds `steps` steps of `tokens` accepted Jacobi tokens each (with guesses). */
function feed(gate: JacobiGate, steps: number, tokens: number, hadGuesses = true): void {
  for (let i = 0; i < steps; i++) gate.observe(tokens, hadGuesses);
}

describe('JacobiGate', () => {
  it('drafts Jacobi from the start, and decides only after a probe of measured steps', () => {
    const gate = new JacobiGate();
    assert.equal(gate.drafting, true);
    feed(gate, JACOBI_PROBE_STEPS - 1, 0);
    assert.equal(gate.drafting, true, 'still probing');
    feed(gate, 1, 0);
    assert.equal(gate.drafting, false, 'no accepted guesses over the probe: off');
  });

  it('steps without guesses to draft (a cold table) are not measured', () => {
    const gate = new JacobiGate();
    feed(gate, 100, 0, false);
    assert.equal(gate.drafting, true);
  });

  it('keeps Jacobi while it pays, and turns it off when its rate falls', () => {
    const gate = new JacobiGate();
    feed(gate, 50, 1);
    assert.equal(gate.drafting, true);
    assert.ok(gate.tokensPerStep > 0.9);
    feed(gate, 10, 0);
    assert.equal(gate.drafting, true, 'one bad stretch moves the running rate only part of the way');
    feed(gate, 30, 0);
    assert.equal(gate.drafting, false);
    assert.ok(gate.tokensPerStep < JACOBI_MIN_TOKENS_PER_STEP);
  });

  it('a rate at the threshold keeps it; just below turns it off', () => {
    const keeps = new JacobiGate();
    for (let i = 0; i < JACOBI_PROBE_STEPS; i++) keeps.observe(i === 0 ? JACOBI_MIN_TOKENS_PER_STEP * JACOBI_PROBE_STEPS : 0, true);
    assert.equal(keeps.drafting, true);
    const drops = new JacobiGate();
    for (let i = 0; i < JACOBI_PROBE_STEPS; i++) drops.observe(i === 0 ? JACOBI_MIN_TOKENS_PER_STEP * JACOBI_PROBE_STEPS * 0.99 : 0, true);
    assert.equal(drops.drafting, false);
  });

  it('probes again after a while off, with a fresh probe that can turn it back on', () => {
    const gate = new JacobiGate();
    feed(gate, JACOBI_PROBE_STEPS, 0);
    assert.equal(gate.drafting, false);
    feed(gate, JACOBI_RETRY_AFTER_STEPS - 1, 0, false);
    assert.equal(gate.drafting, false);
    feed(gate, 1, 0, false);
    assert.equal(gate.drafting, true, 'retried');
    feed(gate, JACOBI_PROBE_STEPS, 2);
    assert.equal(gate.drafting, true, 'now it pays');
    assert.equal(gate.tokensPerStep, 2);
  });
});
