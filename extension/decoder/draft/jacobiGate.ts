// Whether a tree strategy drafts Jacobi guesses: only while they pay. Jacobi's cost is partly fixed
// per step (the next table's top-k at every chain node, its candidates, the noise and tail nodes in the
// plan), so a source that adds almost no accepted tokens slows every step. With msn-code-v5 on held-out
// packages Jacobi gave 0.01-0.05 accepted tokens per step (docs/decoding.md "Jacobi where it pays").
// A model that Jacobi suits (the paper's MSN models) keeps it on; one that it does not gets a fresh
// probe every JACOBI_RETRY_AFTER_STEPS steps, so a change of code or model is noticed. Pure.

/** Accepted Jacobi tokens per step below which the guesses are not drafted. */
export const JACOBI_MIN_TOKENS_PER_STEP = 0.1;
/** Steps with guesses measured before the first decision of an on-period. */
export const JACOBI_PROBE_STEPS = 8;
/** Steps without Jacobi before it is probed again. */
export const JACOBI_RETRY_AFTER_STEPS = 64;
/** Weight of a new step in the running rate once an on-period's probe is over. */
const RATE_WEIGHT = 0.1;

export class JacobiGate {
  private on = true;
  /** Steps of the current period (on: those measured; off: all). */
  private steps = 0;
  private probeTokens = 0;
  private rate = 0;

  /** Whether the next step drafts Jacobi guesses. */
  get drafting(): boolean {
    return this.on;
  }

  /** Accepted Jacobi tokens per measured step, as last estimated (0 before the first probe ends). */
  get tokensPerStep(): number {
    return this.rate;
  }

  /**
   * One verified step: `jacobiTokens` of its accepted tokens came from Jacobi guesses. `hadGuesses`:
   * the step had guesses to draft (a request's first step, or the first after an off-period, has none:
   * it says nothing about them).
   */
  observe(jacobiTokens: number, hadGuesses: boolean): void {
    if (!this.on) {
      if (++this.steps >= JACOBI_RETRY_AFTER_STEPS) this.switchTo(true);
      return;
    }
    if (!hadGuesses) return;
    this.steps++;
    if (this.steps < JACOBI_PROBE_STEPS) {
      this.probeTokens += jacobiTokens;
      return;
    }
    if (this.steps === JACOBI_PROBE_STEPS) this.rate = (this.probeTokens + jacobiTokens) / JACOBI_PROBE_STEPS;
    else this.rate += RATE_WEIGHT * (jacobiTokens - this.rate);
    if (this.rate < JACOBI_MIN_TOKENS_PER_STEP) this.switchTo(false);
  }

  private switchTo(on: boolean): void {
    this.on = on;
    this.steps = 0;
    this.probeTokens = 0;
  }
}
