// A cancel that arrives while a forward pass runs (the decoding process reads messages during a
// pass, since passes run in a worker thread): the generation ends 'cancelled' without waiting for
// the pass, keeps no row of it, and the next request decodes exactly what it would have without
// the cancel. The pass is made slow and deterministic by holding it until the test lets it go.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DecoderEngine } from '../../../extension/decoder/engine/decoderEngine';
import { createStrategySet } from '../../../extension/decoder/engine/strategySet';
import type { MsnConfig } from '../../../extension/decoder/model/msnConfig';
import { OnnxModel, type ForwardInputs, type ForwardOutputs, type ModelSession, type SessionSettings } from '../../../extension/decoder/model/onnxModel';
import type { StrategyName } from '../../../extension/protocol';
import { FIXTURE_MODEL_DIR, seededRandom } from './fixtureModel';

/** The fixture session, whose passes the test can hold: they still run one at a time, in call order. */
class HeldModel implements ModelSession {
  passes = 0;
  /** The pass (counted from 1) to hold, or 0. */
  private holdPass = 0;
  private letGo: (() => void) | null = null;
  private reached: (() => void) | null = null;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly inner: ModelSession) {}

  /** Holds the `ahead`-th pass from now; resolves once that pass was called. */
  holdAfter(ahead: number): Promise<void> {
    this.holdPass = this.passes + ahead;
    return new Promise((resolve) => { this.reached = resolve; });
  }

  get holding(): boolean {
    return this.letGo !== null;
  }

  release(): Promise<void> {
    return this.inner.release();
  }

  /** Lets the held pass run (the inner model then computes it, on the cache as it is now). */
  letGoOfPass(): void {
    const letGo = this.letGo;
    this.letGo = null;
    letGo?.();
  }

  forward(inputs: ForwardInputs): Promise<ForwardOutputs> {
    const index = ++this.passes;
    const pass = this.tail.then(async () => {
      if (index === this.holdPass) {
        const held = new Promise<void>((resolve) => { this.letGo = resolve; });
        this.reached?.();
        await held;
      }
      return this.inner.forward(inputs);
    });
    this.tail = pass.catch(() => undefined);
    return pass;
  }
}

describe('a cancel during a forward pass (fixture model)', function () {
  this.timeout(60_000);
  let cacheDir: string;
  let held: HeldModel;
  let engine: DecoderEngine;
  let reference: DecoderEngine;
  const running = { isCancelled: () => false };

  before(async () => {
    cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'msn-cancel-pass-'));
    const heldOpener = async (modelPath: string, config: MsnConfig, settings: SessionSettings) => {
      held = new HeldModel(await OnnxModel.open(modelPath, config, settings));
      return held;
    };
    engine = new DecoderEngine({ strategies: createStrategySet, openSession: heldOpener, cacheDir });
    reference = new DecoderEngine({ strategies: createStrategySet, openSession: OnnxModel.open, cacheDir });
    await engine.load(FIXTURE_MODEL_DIR, 1);
    await reference.load(FIXTURE_MODEL_DIR, 1);
  });
  after(async () => {
    await engine.close();
    await reference.close();
    fs.rmSync(cacheDir, { recursive: true, force: true });
  });

  function prompt(length: number, seed: number): number[] {
    const random = seededRandom(seed);
    return Array.from({ length }, () => 10 + Math.floor(random() * 900));
  }

  /** Starts `run` with a signal, holds its `pass`-th forward pass, cancels it there. */
  async function cancelAtPass(tokens: number[], strategy: StrategyName, pass: number) {
    const cancel = new AbortController();
    const reached = held.holdAfter(pass);
    const run = engine.run({ prompt: tokens, maxTokens: 40, strategy }, { isCancelled: () => cancel.signal.aborted, signal: cancel.signal });
    await reached;
    cancel.abort();
    const waited = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the cancelled request waited for its pass')), 5000).unref());
    const { result } = await Promise.race([run, waited]);
    assert.equal(held.holding, true, 'the request ended while its pass was still running');
    return result;
  }

  it('inside a prefill chunk: ends at once, keeps only the chunks that returned, and the next request is unchanged', async () => {
    const tokens = prompt(600, 1);
    const expected = (await reference.run({ prompt: tokens, maxTokens: 40, strategy: 'ar' }, running)).result.tokens;
    const result = await cancelAtPass(tokens, 'ar', 3); // chunks of 128: two returned
    assert.equal(result.stopReason, 'cancelled');
    assert.deepEqual(result.tokens, []);
    assert.equal(engine.kvCache.length, 256);
    assert.deepEqual(engine.cachedTokens, tokens.slice(0, 256), 'no row of the abandoned pass');

    // The next request's first pass queues behind the held one, so it writes no row that pass still reads.
    const next = engine.run({ prompt: tokens, maxTokens: 40, strategy: 'ar' }, running);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(held.holding, true);
    held.letGoOfPass();
    const { result: after } = await next;
    assert.equal(after.reusedPromptTokens, 256);
    assert.deepEqual(after.tokens, expected);
  });

  for (const strategy of ['ar', 'tr-jacobi'] as StrategyName[]) {
    it(`inside a decoding step (${strategy}): the tokens so far, the cache matches them, and the next request is unchanged`, async () => {
      const tokens = prompt(200, 2);
      const expected = (await reference.run({ prompt: tokens, maxTokens: 40, strategy }, running)).result.tokens;
      // Pass 1-2: prefill (199 tokens), then decoding steps.
      const result = await cancelAtPass(tokens, strategy, 6);
      assert.equal(result.stopReason, 'cancelled');
      assert.ok(result.tokens.length > 0 && result.tokens.length < expected.length, `${result.tokens.length} tokens`);
      assert.deepEqual(result.tokens, expected.slice(0, result.tokens.length));
      const cached = engine.cachedTokens;
      assert.equal(cached.length, engine.kvCache.length);
      assert.deepEqual(cached, [...tokens, ...result.tokens].slice(0, cached.length));

      const next = engine.run({ prompt: tokens, maxTokens: 40, strategy }, running);
      held.letGoOfPass();
      assert.deepEqual((await next).result.tokens, expected);
    });
  }

  it('a cancel before the pass starts leaves the cache as it was', async () => {
    const tokens = prompt(300, 3);
    await engine.run({ prompt: tokens, maxTokens: 4, strategy: 'ar' }, running);
    const cachedBefore = [...engine.cachedTokens];
    const cancel = new AbortController();
    cancel.abort();
    const { result } = await engine.run({ prompt: prompt(300, 4), maxTokens: 4, strategy: 'ar' }, { isCancelled: () => true, signal: cancel.signal });
    assert.equal(result.stopReason, 'cancelled');
    assert.deepEqual(engine.cachedTokens, cachedBefore);
  });
});
