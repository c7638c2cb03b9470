import * as assert from 'node:assert/strict';
import { CompletionMemo } from '../../../extension/decoder/engine/completionMemo';
import { fixtureEngineForSuite, seededRandom } from './fixtureModel';

const running = { isCancelled: () => false };

describe('completion memo', () => {
  it('recalls the rest of a continuation the new prompt extends, and nothing else', () => {
    const memo = new CompletionMemo(4);
    memo.remember([1, 2, 3], [4, 5, 6], 'line', 'eos');
    assert.deepEqual(memo.recall([1, 2, 3], 'line', 10), { tokens: [4, 5, 6], endedBy: 'eos' });
    assert.deepEqual(memo.recall([1, 2, 3, 4, 5], 'line', 10), { tokens: [6], endedBy: 'eos' });
    assert.deepEqual(memo.recall([1, 2, 3, 4, 5, 6], 'line', 10), { tokens: [], endedBy: 'eos' }, 'end-of-text comes next');
    assert.deepEqual(memo.recall([1, 2, 3, 4], 'line', 1), { tokens: [5], endedBy: 'max-tokens' });
    assert.equal(memo.recall([1, 2], 'line', 10), null, 'a shorter prompt is another prompt');
    assert.equal(memo.recall([1, 2, 3, 9], 'line', 10), null);
    assert.equal(memo.recall([1, 2, 3], 'block', 10), null, 'other stop rules');
    memo.remember([7], [8, 9], 'line', 'max-tokens');
    assert.equal(memo.recall([7, 8], 'line', 5), null, 'what came after a max-tokens end is unknown');
    assert.deepEqual(memo.recall([7, 8], 'line', 1), { tokens: [9], endedBy: 'max-tokens' });
    memo.remember([5], [6], 'line', 'cancelled');
    assert.equal(memo.recall([5], 'line', 5), null, 'a cancelled generation is not kept');
  });

  describe('in the engine (fixture model)', function () {
    this.timeout(60_000);
    const engineOf = fixtureEngineForSuite();

    it('a prompt extended by generated tokens gets, with no forward pass, exactly what decoding gives', async () => {
      const engine = engineOf();
      const random = seededRandom(3);
      let checked = 0;
      for (let trial = 0; trial < 12; trial++) {
        const prompt = Array.from({ length: 20 + Math.floor(random() * 40) }, () => 10 + Math.floor(random() * 900));
        const first = await engine.run({ prompt, maxTokens: 24, strategy: 'tr-jacobi', memo: true }, running);
        if (first.result.tokens.length < 2) continue;
        const typed = 1 + Math.floor(random() * (first.result.tokens.length - 1));
        const extended = [...prompt, ...first.result.tokens.slice(0, typed)];
        const recalled = await engine.run({ prompt: extended, maxTokens: 24 - typed, strategy: 'tr-jacobi', memo: true }, running);
        const decoded = await engine.run({ prompt: extended, maxTokens: 24 - typed, strategy: 'ar' }, running);
        assert.equal(recalled.stats.fromMemo, true);
        assert.equal(recalled.stats.forwardPasses, 0);
        assert.deepEqual(recalled.result.tokens, decoded.result.tokens);
        assert.equal(recalled.result.text, decoded.result.text);
        checked++;
      }
      assert.ok(checked >= 3, `only ${checked} prompts produced two or more tokens`);
    });

    it('with the loop rule: after generations that ended in a loop, the memo still answers exactly what decoding gives', async () => {
      const engine = engineOf();
      const random = seededRandom(5);
      let recalled = 0;
      let loopStops = 0;
      for (let trial = 0; trial < 16; trial++) {
        const prompt = Array.from({ length: 20 + Math.floor(random() * 40) }, () => 10 + Math.floor(random() * 900));
        const first = await engine.run({ prompt, maxTokens: 48, strategy: 'tr-jacobi', memo: true, stopOnLoop: true }, running);
        if (first.result.stopReason === 'stop-string') loopStops++;
        if (first.result.tokens.length < 2) continue;
        const typed = 1 + Math.floor(random() * (first.result.tokens.length - 1));
        const extended = [...prompt, ...first.result.tokens.slice(0, typed)];
        const again = await engine.run({ prompt: extended, maxTokens: 48 - typed, strategy: 'tr-jacobi', memo: true, stopOnLoop: true }, running);
        const decoded = await engine.run({ prompt: extended, maxTokens: 48 - typed, strategy: 'ar', stopOnLoop: true }, running);
        if (again.stats.fromMemo) recalled++;
        assert.deepEqual(again.result.tokens, decoded.result.tokens);
        assert.equal(again.result.text, decoded.result.text);
      }
      assert.ok(loopStops > 0, 'some generation ended in a loop (the case under test)');
      assert.ok(recalled > 0, 'some answer came from the memo');
    });
  });
});
