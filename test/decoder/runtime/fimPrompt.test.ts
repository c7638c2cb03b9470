import * as assert from 'node:assert/strict';
import {
  buildFimPrompt, withoutPrefixEnd, buildPlainPrompt, buildRepoHeader, cutStep, prefixCut, prefixFromLineStart, splitBudget, suffixToLineEnd,
  type RepoContext,
} from '../../../extension/decoder/engine/fimPrompt';
import type { PromptFormat } from '../../../extension/decoder/model/msnConfig';
import type { LoadedModel } from '../../../extension/decoder/model/modelDir';
import { fixtureModel } from './fixtureModel';

describe('prompt building', () => {
  let m: LoadedModel;
  let psm: PromptFormat;
  let spm: PromptFormat;
  before(async () => {
    m = await fixtureModel();
    psm = { ...m.config.prompt, fimOrders: ['psm'] };
    spm = { ...m.config.prompt, fimOrders: ['spm', 'psm'] };
  });

  it('splitBudget keeps everything that fits and favours the prefix otherwise', () => {
    assert.deepEqual(splitBudget(10, 5, 20), { prefixTokens: 10, suffixTokens: 5 });
    assert.deepEqual(splitBudget(100, 100, 40), { prefixTokens: 30, suffixTokens: 10 });
    assert.deepEqual(splitBudget(5, 100, 40), { prefixTokens: 5, suffixTokens: 35 });
    assert.deepEqual(splitBudget(100, 2, 40), { prefixTokens: 38, suffixTokens: 2 });
  });

  it('the suffix budget and the prefix cut move in steps, not per token', () => {
    const room = 800;
    const step = cutStep(room);
    assert.equal(step, 64);
    const suffixBudgets = new Set<number>();
    const cuts = new Set<number>();
    for (let prefix = 500; prefix < 500 + step; prefix++) suffixBudgets.add(splitBudget(prefix, 1000, room).suffixTokens);
    for (let prefix = 1000; prefix < 1000 + step; prefix++) cuts.add(prefixCut(prefix, 600));
    assert.ok(suffixBudgets.size <= 2, `suffix budget took ${suffixBudgets.size} values`);
    assert.ok(cuts.size <= 2, `prefix cut took ${cuts.size} values`);
    for (let prefix = 0; prefix < 2000; prefix += 7) {
      const { prefixTokens, suffixTokens } = splitBudget(prefix, 300, room);
      assert.ok(prefixTokens + suffixTokens <= room);
      assert.ok(prefix - prefixCut(prefix, prefixTokens) <= prefixTokens);
    }
  });

  it('PSM is <fim_prefix> prefix <fim_suffix> suffix <fim_middle>, with special tokens as single ids', () => {
    const { tokenizer } = m;
    const s = tokenizer.special;
    const prompt = buildFimPrompt(tokenizer, psm, 'def add(a, b):\n    ', '\n\nprint(add(1, 2))\n', 1000).tokens;
    const prefixIds = tokenizer.encode('def add(a, b):\n    ');
    const suffixIds = tokenizer.encode('\n\nprint(add(1, 2))\n');
    assert.deepEqual(prompt, [s.fimPrefix, ...prefixIds, s.fimSuffix, ...suffixIds, s.fimMiddle]);
    assert.equal(tokenizer.decode(prompt), '<|fim_prefix|>def add(a, b):\n    <|fim_suffix|>\n\nprint(add(1, 2))\n<|fim_middle|>');
  });

  it('SPM puts the suffix first, so typing at the cursor changes only the end of the prompt', () => {
    const { tokenizer } = m;
    const s = tokenizer.special;
    const prompt = buildFimPrompt(tokenizer, spm, 'def add(a, b):\n    ', '\n\nprint(add(1, 2))\n', 1000).tokens;
    assert.deepEqual(prompt, [s.fimPrefix, s.fimSuffix, ...tokenizer.encode('\n\nprint(add(1, 2))\n'), s.fimMiddle,
      ...tokenizer.encode('def add(a, b):\n    ')]);
    const line = Array.from({ length: 300 }, (_, i) => `value_${i} = compute(${i})\n`).join('');
    const suffix = Array.from({ length: 200 }, (_, i) => `after_${i}()\n`).join('');
    let previous: number[] | null = null;
    let reusedShare = 1;
    for (const typed of ['r', 're', 'ret', 'retu', 'retur', 'return']) {
      const p = buildFimPrompt(tokenizer, spm, line + typed, suffix, 600).tokens;
      assert.ok(p.length <= 600);
      if (previous) {
        let common = 0;
        while (common < p.length && p[common] === previous[common]) common++;
        reusedShare = Math.min(reusedShare, common / p.length);
      }
      previous = p;
    }
    assert.ok(reusedShare >= 0.9, `only ${(reusedShare * 100).toFixed(0)}% of the prompt was reusable`);
  });

  it('a model with a beginning-of-sequence token gets it first', () => {
    const { tokenizer } = m;
    const prompt = buildFimPrompt(tokenizer, psm, 'a', 'b', 100, undefined, 7).tokens;
    assert.deepEqual(prompt.slice(0, 2), [7, tokenizer.special.fimPrefix]);
  });

  it('plain text containing a special-token string never yields its id', () => {
    const { tokenizer } = m;
    const ids = tokenizer.encode('a <|endoftext|> b <|fim_middle|> <|file_sep|>');
    const specials = Object.values(tokenizer.special);
    assert.ok(ids.every((id) => !specials.includes(id)));
    assert.equal(tokenizer.decode(ids), 'a <|endoftext|> b <|fim_middle|> <|file_sep|>');
  });

  it('cuts a long prompt: the prefix keeps its end, the suffix its start', () => {
    const { tokenizer } = m;
    const s = tokenizer.special;
    const prefix = Array.from({ length: 400 }, (_, i) => `line_${i} = ${i}\n`).join('');
    const suffix = Array.from({ length: 400 }, (_, i) => `after_${i}()\n`).join('');
    const prompt = buildFimPrompt(tokenizer, psm, prefix, suffix, 200).tokens;
    assert.ok(prompt.length <= 200, `prompt has ${prompt.length} tokens`);
    const middleAt = prompt.indexOf(s.fimSuffix);
    const keptPrefix = tokenizer.decode(prompt.slice(1, middleAt));
    const keptSuffix = tokenizer.decode(prompt.slice(middleAt + 1, -1));
    assert.ok(prefix.endsWith(keptPrefix) && keptPrefix.includes('line_399 = 399\n'));
    assert.ok(suffix.startsWith(keptSuffix) && keptSuffix.startsWith('after_0()\n'));
    assert.ok(keptSuffix.length > 0 && keptPrefix.length > keptSuffix.length);
  });

  it('keeps the tokens of all the text it was given beside the cut prompt (what the workspace mixture reads)', () => {
    const { tokenizer } = m;
    const prefix = Array.from({ length: 400 }, (_, i) => `line_${i} = ${i}\n`).join('');
    const suffix = Array.from({ length: 400 }, (_, i) => `after_${i}()\n`).join('');
    const parts = buildFimPrompt(tokenizer, psm, prefix, suffix, 2000);
    assert.ok(parts.prefix.length < parts.prefixWindow.length && parts.suffix.length < parts.suffixWindow.length, 'the prompt is cut');
    assert.equal(tokenizer.decode(parts.prefixWindow), prefix);
    assert.equal(tokenizer.decode(parts.suffixWindow), suffix);
    assert.deepEqual(parts.prefixWindow.slice(-parts.prefix.length + 8), parts.prefix.slice(8), 'the window ends with the prompt\'s prefix tokens');
    const healed = withoutPrefixEnd(parts, 2);
    assert.deepEqual(healed.prefixWindow, parts.prefixWindow.slice(0, -2));
  });

  it('a cut suffix ends on a whole line and a cut prefix starts on one, as every training window does', () => {
    const { tokenizer } = m;
    const s = tokenizer.special;
    const prefix = Array.from({ length: 300 }, (_, i) => `    value_${i} = compute(${i}, "item ${i}")\n`).join('');
    const suffix = Array.from({ length: 300 }, (_, i) => `    after_${i}(call, "arg ${i}")\n`).join('');
    for (const budget of [120, 200, 333, 517]) {
      const prompt = buildFimPrompt(tokenizer, psm, prefix, suffix, budget).tokens;
      assert.ok(prompt.length <= budget, `${prompt.length} tokens for ${budget}`);
      const middleAt = prompt.indexOf(s.fimSuffix);
      const keptPrefix = tokenizer.decode(prompt.slice(1, middleAt));
      const keptSuffix = tokenizer.decode(prompt.slice(middleAt + 1, -1));
      assert.ok(suffix.startsWith(keptSuffix) && keptSuffix.endsWith('\n') && keptSuffix.length > 0, JSON.stringify(keptSuffix.slice(-20)));
      assert.ok(prefix.endsWith(keptPrefix) && prefix[prefix.length - keptPrefix.length - 1] === '\n', JSON.stringify(keptPrefix.slice(0, 20)));
      assert.ok(keptPrefix.startsWith('    value_'), 'the first kept line keeps its indentation');
    }
  });

  it('line-aligned cuts: a text without a newline, or one whose newline is too far, keeps the hard cut', () => {
    const { tokenizer } = m;
    const oneLine = tokenizer.encode('a'.repeat(50) + ' b'.repeat(50));
    assert.deepEqual(suffixToLineEnd(tokenizer, oneLine, 1000), oneLine);
    assert.deepEqual(prefixFromLineStart(tokenizer, oneLine, 1000), oneLine);
    const farLine = tokenizer.encode(`x\n${'word '.repeat(40)}`);
    assert.deepEqual(suffixToLineEnd(tokenizer, farLine, 20), farLine, 'would drop 200 characters');
    assert.equal(tokenizer.decode(suffixToLineEnd(tokenizer, farLine, 1000)), 'x\n');
    const lateStart = tokenizer.encode(`${'word '.repeat(40)}\ny = 2\n`);
    assert.deepEqual(prefixFromLineStart(tokenizer, lateStart, 20), lateStart);
    assert.equal(tokenizer.decode(prefixFromLineStart(tokenizer, lateStart, 1000)), 'y = 2\n');
    assert.deepEqual(prefixFromLineStart(tokenizer, tokenizer.encode('x = 1\n'), 1000), tokenizer.encode('x = 1\n'), 'nothing after the newline');
  });

  it('a suffix that fits is not cut, even when it stops mid-line (the end of the file)', () => {
    const { tokenizer } = m;
    const s = tokenizer.special;
    const prompt = buildFimPrompt(tokenizer, psm, 'def f():\n    return ', '\nprint(f())', 1000).tokens;
    const middleAt = prompt.indexOf(s.fimSuffix);
    assert.equal(tokenizer.decode(prompt.slice(middleAt + 1, -1)), '\nprint(f())');
    assert.equal(tokenizer.decode(prompt.slice(1, middleAt)), 'def f():\n    return ');
  });

  it('repo-level header: <|repo_name|>NAME, each chunk after <|file_sep|>PATH, the current path last', () => {
    const { tokenizer } = m;
    const context: RepoContext = { repoName: 'shop', path: 'src/cart.ts', chunks: [{ path: 'src/a.ts', text: 'export const a = 1;' }, { path: 'src/b.ts', text: 'export const b = 2;' }] };
    const header = buildRepoHeader(tokenizer, psm, context, 1000);
    assert.equal(tokenizer.decode(header),
      '<|repo_name|>shop\n<|file_sep|>src/a.ts\nexport const a = 1;\n<|file_sep|>src/b.ts\nexport const b = 2;\n<|file_sep|>src/cart.ts\n');
    const small = buildRepoHeader(tokenizer, psm, context, header.length - 3);
    assert.equal(tokenizer.decode(small), '<|repo_name|>shop\n<|file_sep|>src/b.ts\nexport const b = 2;\n<|file_sep|>src/cart.ts\n',
      'the worst chunk (first) goes first');
    assert.deepEqual(buildRepoHeader(tokenizer, { ...psm, repo: null }, context, 1000), []);
    const prompt = buildFimPrompt(tokenizer, psm, 'x = ', '\n', 1000, context).tokens;
    assert.deepEqual(prompt.slice(0, header.length), header);
    assert.equal(prompt[header.length], tokenizer.special.fimPrefix);
  });

  it('a plain prompt is never empty and keeps the end of the text, from the start of a line', () => {
    const { tokenizer } = m;
    assert.deepEqual(buildPlainPrompt(tokenizer, psm, '', 100, null).tokens, [tokenizer.special.eot]);
    const line = '    value = compute(x, "item")\n';
    const long = line.repeat(500);
    for (const budget of [50, 120, 333]) {
      const prompt = buildPlainPrompt(tokenizer, psm, long, budget, null).tokens;
      const lineTokens = tokenizer.encode(line).length;
      assert.ok(prompt.length <= budget && prompt.length > budget - cutStep(budget) - lineTokens, `${prompt.length} tokens for ${budget}`);
      const kept = tokenizer.decode(prompt);
      assert.ok(long.endsWith(kept) && kept.startsWith(line), JSON.stringify(kept.slice(0, 20)));
    }
    const short = buildPlainPrompt(tokenizer, psm, 'x = 1\ny = ', 50, null).tokens;
    assert.equal(tokenizer.decode(short), 'x = 1\ny = ', 'a text that fits is not cut');
  });
});
