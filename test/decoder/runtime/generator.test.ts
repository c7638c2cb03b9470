import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DecoderEngine, REPLAYED_TOKENS_MAX } from '../../../extension/decoder/engine/decoderEngine';
import { PreemptionGate } from '../../../extension/decoder/engine/preemption';
import { createStrategySet } from '../../../extension/decoder/engine/strategySet';
import { OnnxModel } from '../../../extension/decoder/model/onnxModel';
import type { StrategyName } from '../../../extension/protocol';
import { FIXTURE_MODEL_DIR, seededRandom } from './fixtureModel';
import { MIN_SPEED_TOKENS } from '../../../extension/speedup';
import { RecordedTreesStrategy } from '../../../extension/decoder/strategies/recordedTrees';

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

  it('measureSpeedup replays the last tree generation on its cache, with its trees and with plain greedy, and leaves the cache reusable', async () => {
    const prompt = engine.plainPrompt('def area(radius):\n    return 3.14159 * radius * radius\n\n'.repeat(3), 40);
    const { result, stats, replayable } = await engine.run({ prompt, maxTokens: 40, strategy: 'pld' }, running);
    assert.ok(result.tokens.length >= MIN_SPEED_TOKENS, `${result.tokens.length} tokens`);
    assert.equal(result.steps!.length, result.forwardPasses, 'every step recorded');
    const cached = [...engine.cachedTokens];
    const measured = await engine.measureSpeedup(() => false, replayable);
    assert.ok(measured, 'a measurement');
    assert.equal(measured.strategy, 'pld');
    assert.equal(measured.tokens, result.tokens.length, 'a short generation is replayed whole');
    assert.ok(measured.liveMs <= stats.elapsedMs && measured.liveMs > 0.9 * stats.elapsedMs, `its steps as they ran are its decoding time: ${measured.liveMs} of ${stats.elapsedMs} ms`);
    assert.ok(measured.treeIdleMs > 0 && measured.arIdleMs > 0);
    assert.deepEqual(engine.cachedTokens, cached, 'the replays leave the cache holding what it held');
    assert.equal(await engine.measureSpeedup(() => false, replayable), null, 'each generation is measured once (its replays used the cache)');
    const again = await engine.run({ prompt, maxTokens: 40, strategy: 'pld' }, running);
    assert.deepEqual(again.result.tokens, result.tokens);
    assert.equal(again.stats.reusedPromptTokens, prompt.length - 1, 'the prompt rows are still reusable after the replay');
  });

  it('measureSpeedup: nothing for ar, a short generation, a cancelled replay, a cache used since, or when not asked', async () => {
    const prompt = engine.plainPrompt('class Point:\n    def __init__(self, x, y):\n        self.x = x\n'.repeat(3), 40);
    const ar = await engine.run({ prompt, maxTokens: 40, strategy: 'ar' }, running);
    assert.equal(ar.replayable, null, 'plain greedy is its own baseline');
    const short = await engine.run({ prompt, maxTokens: MIN_SPEED_TOKENS - 1, strategy: 'tr-jacobi' }, running);
    assert.equal(await engine.measureSpeedup(() => false, short.replayable), null, 'too short to mean anything');
    const waiting = await engine.run({ prompt, maxTokens: 40, strategy: 'tr-jacobi' }, running);
    assert.equal(await engine.measureSpeedup(() => true, waiting.replayable), null, 'work waits: no replay');
    const earlier = await engine.run({ prompt, maxTokens: 40, strategy: 'tr-jacobi' }, running);
    await engine.run({ prompt: engine.plainPrompt('import os\n', 8), maxTokens: 8, strategy: 'ar' }, running);
    assert.equal(await engine.measureSpeedup(() => false, earlier.replayable), null, 'another request used the cache since');
    const unasked = await engine.run({ prompt, maxTokens: 40, strategy: 'tr-jacobi', measureSpeedup: false }, running);
    assert.equal(unasked.replayable, null, 'the bench times ar itself');
    await engine.run({ prompt, maxTokens: 40, strategy: 'tr-jacobi' }, running);
    const recalled = await engine.run({ prompt, maxTokens: 40, strategy: 'tr-jacobi', memo: true }, running);
    const again = await engine.run({ prompt, maxTokens: 40, strategy: 'tr-jacobi', memo: true }, running);
    assert.ok(again.stats.fromMemo && again.replayable === null, `a memo answer (${recalled.stats.fromMemo}) is no generation to measure`);
    const after = await engine.run({ prompt, maxTokens: 40, strategy: 'ar' }, running);
    const reference = await engine.run({ prompt, maxTokens: 40, strategy: 'tr-jacobi' }, running);
    assert.deepEqual(reference.result.tokens, after.result.tokens, 'still lossless after the replays');
  });

  it('measureSpeedup replays a long generation\'s last steps only, from a step boundary', async () => {
    const random = seededRandom(7);
    const prompt = Array.from({ length: 64 }, () => 10 + Math.floor(random() * 500));
    const ar = await engine.run({ prompt, maxTokens: 200, strategy: 'ar' }, running);
    const { result, replayable } = await engine.run({ prompt, maxTokens: 200, strategy: 'jacobi' }, running);
    assert.deepEqual(result.tokens, ar.result.tokens);
    assert.ok(result.tokens.length > REPLAYED_TOKENS_MAX, `${result.tokens.length} tokens`);
    const measured = (await engine.measureSpeedup(() => false, replayable))!;
    assert.ok(measured.tokens <= REPLAYED_TOKENS_MAX && measured.tokens > REPLAYED_TOKENS_MAX / 2, `${measured.tokens} tokens replayed`);
    const boundaries = result.steps!.map((step) => prompt.length - 1 + result.tokens.length - step.past);
    assert.ok(boundaries.includes(measured.tokens), 'the replay starts where a step started');
  });

  it('RecordedTreesStrategy verifies the recorded tree where it lines up, else the root alone', () => {
    const tree = { nodes: [{ token: 5, parent: -1, depth: 0, source: 'root' as const }, { token: 6, parent: 0, depth: 1, source: 'retrieval' as const }] };
    const replay = new RecordedTreesStrategy('tr-jacobi', [{ past: 3, tree, draftMs: 0.1 }]);
    assert.equal(replay.draft(5, [1, 2, 3, 5]), tree);
    assert.equal(replay.draft(9, [1, 2, 3, 9]).nodes.length, 1, 'another root at that position');
    assert.deepEqual(replay.draft(5, [1, 2, 3, 4, 5]).nodes, [{ token: 5, parent: -1, depth: 0, source: 'root' }], 'no step recorded there');
  });
});
