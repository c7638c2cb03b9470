import * as assert from 'node:assert/strict';
import { buildFimPrompt, buildPlainPrompt, splitBudget } from '../../../extension/decoder/engine/fimPrompt';
import type { LoadedModel } from '../../../extension/decoder/model/modelDir';
import { fixtureModel } from './fixtureModel';

describe('prompt building', () => {
  let m: LoadedModel;
  before(async () => {
    m = await fixtureModel();
  });

  it('splitBudget keeps everything that fits and favours the prefix otherwise', () => {
    assert.deepEqual(splitBudget(10, 5, 20), { prefixTokens: 10, suffixTokens: 5 });
    assert.deepEqual(splitBudget(100, 100, 40), { prefixTokens: 30, suffixTokens: 10 });
    assert.deepEqual(splitBudget(5, 100, 40), { prefixTokens: 5, suffixTokens: 35 });
    assert.deepEqual(splitBudget(100, 2, 40), { prefixTokens: 38, suffixTokens: 2 });
  });

  it('is <fim_prefix> prefix <fim_suffix> suffix <fim_middle>, with special tokens as single ids', () => {
    const { tokenizer } = m;
    const s = tokenizer.special;
    const prompt = buildFimPrompt(tokenizer, 'def add(a, b):\n    ', '\n\nprint(add(1, 2))\n', 1000);
    const prefixIds = tokenizer.encode('def add(a, b):\n    ');
    const suffixIds = tokenizer.encode('\n\nprint(add(1, 2))\n');
    assert.deepEqual(prompt, [s.fimPrefix, ...prefixIds, s.fimSuffix, ...suffixIds, s.fimMiddle]);
    assert.equal(tokenizer.decode(prompt), '<|fim_prefix|>def add(a, b):\n    <|fim_suffix|>\n\nprint(add(1, 2))\n<|fim_middle|>');
  });

  it('plain text containing a special-token string never yields its id', () => {
    const { tokenizer } = m;
    const ids = tokenizer.encode('a <|endoftext|> b <|fim_middle|>');
    const specials = Object.values(tokenizer.special);
    assert.ok(ids.every((id) => !specials.includes(id)));
    assert.equal(tokenizer.decode(ids), 'a <|endoftext|> b <|fim_middle|>');
  });

  it('cuts a long prompt: the prefix keeps its end, the suffix its start', () => {
    const { tokenizer } = m;
    const s = tokenizer.special;
    const prefix = Array.from({ length: 400 }, (_, i) => `line_${i} = ${i}\n`).join('');
    const suffix = Array.from({ length: 400 }, (_, i) => `after_${i}()\n`).join('');
    const prompt = buildFimPrompt(tokenizer, prefix, suffix, 200);
    assert.ok(prompt.length <= 200, `prompt has ${prompt.length} tokens`);
    const middleAt = prompt.indexOf(s.fimSuffix);
    const keptPrefix = tokenizer.decode(prompt.slice(1, middleAt));
    const keptSuffix = tokenizer.decode(prompt.slice(middleAt + 1, -1));
    assert.ok(prefix.endsWith(keptPrefix) && keptPrefix.includes('line_399 = 399\n'));
    assert.ok(suffix.startsWith(keptSuffix) && keptSuffix.startsWith('after_0()\n'));
    assert.ok(keptSuffix.length > 0 && keptPrefix.length > keptSuffix.length);
  });

  it('a plain prompt is never empty and keeps the end of the text', () => {
    const { tokenizer } = m;
    assert.deepEqual(buildPlainPrompt(tokenizer, '', 100, null), [tokenizer.special.eot]);
    const long = 'x = 1\n'.repeat(500);
    const prompt = buildPlainPrompt(tokenizer, long, 50, null);
    assert.equal(prompt.length, 50);
    assert.ok(long.endsWith(tokenizer.decode(prompt)));
  });
});
