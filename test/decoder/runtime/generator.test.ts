import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DecoderEngine, PLAIN_STEPS_REPLAYED } from '../../../extension/decoder/engine/decoderEngine';
import { probePhase } from '../../../extension/decoder/engine/generator';
import { PreemptionGate } from '../../../extension/decoder/engine/preemption';
import { createStrategySet } from '../../../extension/decoder/engine/strategySet';
import { OnnxModel } from '../../../extension/decoder/model/onnxModel';
import type { StrategyName } from '../../../extension/protocol';
import { FIXTURE_MODEL_DIR, seededRandom } from './fixtureModel';
import { measuredSpeedup } from '../../../extension/speedup';

const running = { isCancelled: () => false };

describe('generation loop (fixture model)', function () {
  this.timeout(60_000);
  let engine: DecoderEngine;
  let cacheDir: string;

  before(async () => {
    cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'msn-generator-'));
    engine = new DecoderEngine({ strategies: createStrategySet, openSession: OnnxModel.open, cacheDir });
    await engine.load(FIXTURE_MODEL_DIR, 1);
  });
  after(async () => {
    await engine.close();
    fs.rmSync(cacheDir, { recursive: true, force: true });
  });

  it('stops at the end of the context window, identically for every strategy', async () => {
    const window = engine.model.config.maxPositions;
    const random = seededRandom(1);
    const prompt = Array.from({ length: window - 6 }, () => 10 + Math.floor(random() * 500));
    const outputs = new Map<StrategyName, number[]>();
    for (const strategy of ['ar', 'jacobi', 'pld', 'tr-jacobi'] as StrategyName[]) {
      const { result } = await engine.run({ prompt, maxTokens: 100, strategy }, running);
      // Each emitted token needs its predecessor's row in the cache: window - prompt + 1 at most.
      assert.ok(result.tokens.length <= 7, `${strategy}: ${result.tokens.length} tokens past a full window`);
      if (result.stopReason !== 'eos') assert.equal(result.stopReason, 'max-tokens');
      outputs.set(strategy, result.tokens);
    }
    for (const tokens of outputs.values()) assert.deepEqual(tokens, outputs.get('ar'));
    assert.ok(engine.promptBudget(100) + 100 < window);
  });

  it('reuses the KV rows of a repeated prompt prefix without changing the output', async () => {
    const prompt = engine.plainPrompt('def area(radius):\n    return 3.14159 * radius * radius\n\n'.repeat(4), 32);
    const first = await engine.run({ prompt: [5, ...prompt.slice(1)], maxTokens: 32, strategy: 'ar' }, running);
    const second = await engine.run({ prompt, maxTokens: 32, strategy: 'ar' }, running);
    const third = await engine.run({ prompt, maxTokens: 32, strategy: 'tr-jacobi' }, running);
    assert.equal(first.result.reusedPromptTokens, 0);
    assert.equal(second.result.reusedPromptTokens, 0, 'the first token differed, nothing to reuse');
    assert.equal(third.result.reusedPromptTokens, prompt.length - 1);
    assert.deepEqual(third.result.tokens, second.result.tokens);
  });

  it('a stop string cuts the text before it; streamed chunks concatenate to the final text', async () => {
    const prompt = engine.plainPrompt('class Foo:\n  def __init__(self):', 40);
    const free = await engine.run({ prompt, maxTokens: 40, strategy: 'ar' }, running);
    const text = free.result.text;
    assert.ok(text.length >= 6, JSON.stringify(text));
    const stop = text.slice(3, 5);
    for (const strategy of ['ar', 'tr-jacobi'] as StrategyName[]) {
      const chunks: string[] = [];
      const { result, stats } = await engine.run({ prompt, maxTokens: 40, strategy, stop: [stop], onText: (c) => chunks.push(c) }, running);
      assert.equal(stats.stopReason, 'stop-string');
      assert.equal(result.text, text.slice(0, text.indexOf(stop)));
      assert.equal(chunks.join(''), result.text);
    }
  });

  it('a request cancelled before it starts returns at once with nothing generated', async () => {
    const { result, stats } = await engine.run({ prompt: engine.plainPrompt('x = 1\n', 10), maxTokens: 10, strategy: 'tr-jacobi' }, { isCancelled: () => true });
    assert.equal(stats.stopReason, 'cancelled');
    assert.deepEqual(result.tokens, []);
  });

  it('a completion run between the steps of a long generation changes neither of them', async () => {
    const random = seededRandom(11);
    let long: number[] = [];
    let alone = { tokens: [] as number[] };
    for (let attempt = 0; attempt < 20 && alone.tokens.length < 12; attempt++) {
      long = Array.from({ length: 80 }, () => 10 + Math.floor(random() * 900));
      alone = (await engine.run({ prompt: long, maxTokens: 48, strategy: 'tr-jacobi' }, running)).result;
    }
    assert.ok(alone.tokens.length >= 12, 'found a prompt with a long continuation');
    const short = Array.from({ length: 30 }, () => 10 + Math.floor(random() * 900));
    const shortAlone = (await engine.run({ prompt: short, maxTokens: 16, strategy: 'tr-jacobi' }, running)).result;
    const gate = new PreemptionGate();
    let checks = 0;
    let shortInside: Promise<{ result: { tokens: number[] } }> | undefined;
    const control = {
      isCancelled: () => {
        if (++checks === 4) shortInside = gate.run(() => engine.run({ prompt: short, maxTokens: 16, strategy: 'tr-jacobi' }, running));
        return false;
      },
    };
    const interrupted = await engine.run({ prompt: long, maxTokens: 48, strategy: 'tr-jacobi', preemption: gate }, control);
    assert.ok(shortInside, 'the completion was queued during the generation');
    assert.deepEqual((await shortInside).result.tokens, shortAlone.tokens);
    assert.deepEqual(interrupted.result.tokens, alone.tokens);
  });

  it('a cancelled request keeps the KV rows the next request can reuse', async () => {
    const prompt = engine.plainPrompt('class Point:\n    def __init__(self, x, y):\n        self.x = x\n'.repeat(4), 8);
    await engine.run({ prompt, maxTokens: 8, strategy: 'ar' }, running);
    const other = engine.plainPrompt('import sys\n', 8);
    await engine.run({ prompt: other, maxTokens: 8, strategy: 'ar' }, { isCancelled: () => true });
    const { stats } = await engine.run({ prompt, maxTokens: 8, strategy: 'ar' }, running);
    assert.equal(stats.reusedPromptTokens, prompt.length - 1, 'every prompt row but the root was still cached');
  });

  it('DecodeStats: a completion too short for plain probes is measured on ar steps replayed over the last cached tokens, which keep the cache reusable', async () => {
    const prompt = engine.plainPrompt('def area(radius):\n    return 3.14159 * radius * radius\n\n'.repeat(3), 40);
    const SHORT = 4; // at most 4 steps: no probe (the 5th and 6th steps)
    const first = await engine.run({ prompt, maxTokens: SHORT, strategy: 'pld' }, running);
    assert.equal(first.stats.baselineSteps, 0, 'nothing replayed yet');
    assert.equal(first.stats.speedupVsAr, 0, 'no figure without a measured baseline');
    const cached = engine.kvCache.length;
    await engine.replayPlainSteps(() => false);
    assert.equal(engine.kvCache.length, cached, 'the replay decodes the last cached tokens again, as ar would, and no more');
    const { result, stats } = await engine.run({ prompt, maxTokens: SHORT, strategy: 'pld' }, running);
    assert.deepEqual(result.tokens, first.result.tokens);
    assert.equal(stats.reusedPromptTokens, prompt.length - 1, 'the prompt rows are still reusable after the replay');
    assert.equal(stats.baselineSteps, PLAIN_STEPS_REPLAYED - 1, 'the replay\'s first pass only warms up');
    assert.ok(stats.arTokensPerSecond > 0);
    assert.ok(stats.stepLoad.length <= stats.forwardPasses && stats.stepLoad.every((load) => load > 0), 'a load per drafting step');
    assert.ok(Math.abs(stats.speedupVsAr / measuredSpeedup(stats) - 1) < 0.01, "the figure is measuredSpeedup of the steps reported (to their rounding)");
    assert.deepEqual(engine.recentStats.at(-1), stats);
    const unmeasured = await engine.run({ prompt, maxTokens: SHORT, strategy: 'pld' }, running);
    assert.equal(unmeasured.stats.baselineSteps, 0, 'each replay is reported once');
    await engine.replayPlainSteps(() => true);
    assert.equal((await engine.run({ prompt, maxTokens: SHORT, strategy: 'pld' }, running)).stats.baselineSteps, 0, 'a replay stops when work waits');
    await engine.replayPlainSteps(() => false);
    assert.equal((await engine.run({ prompt, maxTokens: SHORT, strategy: 'pld', measureBaseline: false }, running)).stats.baselineSteps, 0);
    const ar = await engine.run({ prompt, maxTokens: 40, strategy: 'ar' }, running);
    assert.equal(ar.stats.baselineSteps, ar.result.forwardPasses, 'every ar step is a plain greedy step');
    assert.equal(ar.stats.stepLoad.length, ar.result.forwardPasses, 'every ar step has a load');
    assert.ok(Math.abs(ar.stats.speedupVsAr - 1) < 0.05, `ar is its own baseline: ${ar.stats.speedupVsAr}`);
    assert.equal(stats.meanAcceptedPerPass, stats.tokens / stats.forwardPasses);
  });

  it('probe steps come in pairs, the second timed: steps 4 and 5 (0-based), then two every 16', () => {
    const probes = { first: 4, every: 16 };
    const phases = Array.from({ length: 40 }, (_, step) => probePhase(step, probes));
    assert.deepEqual(phases.flatMap((phase, step) => (phase === 'warm-up' ? [step] : [])), [4, 20, 36]);
    assert.deepEqual(phases.flatMap((phase, step) => (phase === 'timed' ? [step] : [])), [5, 21, 37]);
    assert.equal(probePhase(5, undefined), null);
  });

  it('a tree generation times plain probe steps of its own (pairs of root-only steps, the second timed), still identical to ar', async () => {
    const random = seededRandom(7);
    const prompt = Array.from({ length: 64 }, () => 10 + Math.floor(random() * 500));
    const ar = await engine.run({ prompt, maxTokens: 200, strategy: 'ar' }, running);
    await engine.replayPlainSteps(() => false); // a replayed baseline is waiting, and loses to the probes
    const { result, stats } = await engine.run({ prompt, maxTokens: 200, strategy: 'jacobi' }, running);
    assert.deepEqual(result.tokens, ar.result.tokens);
    const steps = result.forwardPasses;
    assert.ok(steps >= 48, `${steps} steps: enough for probes`);
    assert.equal(stats.baselineSteps, 1 + Math.floor((steps - 6) / 16), 'steps 4 and 5 (0-based), the second timed, then two every 16');
    assert.ok(stats.stepLoad.length <= steps - 2 * stats.baselineSteps, 'probe steps (one node) carry no load');
    assert.ok(stats.arTokensPerSecond > 0);
    const unmeasured = await engine.run({ prompt, maxTokens: 200, strategy: 'jacobi', measureBaseline: false }, running);
    assert.equal(unmeasured.stats.baselineSteps, 0, 'no probes when no baseline is asked for (the bench times ar itself)');
    assert.deepEqual(unmeasured.result.tokens, ar.result.tokens);
  });
});
