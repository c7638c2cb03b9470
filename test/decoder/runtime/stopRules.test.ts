import * as assert from 'node:assert/strict';
import { findStop, stableLength, StopScanner, type StopRules } from '../../../extension/decoder/engine/stopRules';
import { seededRandom } from './fixtureModel';

const none: StopRules = { stopStrings: [] };
const line: StopRules = { mode: 'line', stopStrings: [] };
const block: StopRules = { mode: 'block', stopStrings: [] };

describe('stop rules', () => {
  it('no rule: never stops', () => {
    assert.equal(findStop('a\n\nb', none), -1);
  });

  it('stop strings cut before the earliest one', () => {
    assert.equal(findStop('foo(); bar', { stopStrings: ['bar', ';'] }), 5);
    assert.equal(findStop('foo', { stopStrings: ['x'] }), -1);
  });

  it('line mode stops at the first newline after some non-whitespace', () => {
    assert.equal(findStop('\n  \n', line), -1);
    assert.equal(findStop('\n    return x\n', line), 13);
    assert.equal(findStop('x = 1\r\ny', line), 5);
    assert.equal(findStop('x = 1', line), -1);
  });

  it('block mode stops at a blank line after some content', () => {
    assert.equal(findStop('\n\n', block), -1);
    assert.equal(findStop('a\n  b\n', block), -1);
    assert.equal(findStop('a\n  b\n\ndef', block), 5);
    assert.equal(findStop('a\n  \t\nb', block), 1);
    assert.equal(findStop('a\r\n\r\nb', block), 1);
    assert.equal(findStop('\n\nx = 1\n\n', block), 7);
  });

  it('stable text never includes what a later token could still cut', () => {
    assert.equal(stableLength('foo(); ba', { stopStrings: ['bar'] }), 7);
    assert.equal(stableLength('foo', { stopStrings: ['bar'] }), 3);
    assert.equal(stableLength('x = 1\r', line), 5);
    assert.equal(stableLength('a\n  b\n  ', block), 5);
    assert.equal(stableLength('a\n  b', block), 5);
  });

  it('streaming property: every stable prefix is a prefix of the final cut text', () => {
    const cases: Array<[string, StopRules]> = [
      ['def f():\n    return 1\n\ndef g', block],
      ['  x = compute(a, b)  # done\nnext', line],
      ['value = 1; END more', { stopStrings: ['END', '; E'] }],
      ['a\r\n\r\nb', block],
    ];
    for (const [full, rules] of cases) {
      const cut = findStop(full, rules);
      const final = cut >= 0 ? full.slice(0, cut) : full;
      for (let n = 0; n <= full.length; n++) {
        const partial = full.slice(0, n);
        if (findStop(partial, rules) >= 0) break;
        const stable = partial.slice(0, stableLength(partial, rules));
        assert.ok(final.startsWith(stable), `${JSON.stringify(stable)} is not a prefix of ${JSON.stringify(final)}`);
      }
    }
  });

  it('StopScanner, fed a growing text piece by piece, answers exactly what findStop answers', () => {
    const random = seededRandom(7);
    const alphabet = ['a', 'b', ' ', '\t', '\n', '\r', ';', 'E', 'N', 'D', 'x'];
    const rulesList: StopRules[] = [{ stopStrings: [] }, line, block, { stopStrings: ['END', ';;'] }, { mode: 'block', stopStrings: ['\n\n\n', 'ab'] }];
    for (let trial = 0; trial < 400; trial++) {
      const text = Array.from({ length: 1 + Math.floor(random() * 40) }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
      for (const rules of rulesList) {
        const scanner = new StopScanner(rules);
        let end = 0;
        while (end < text.length) {
          end = Math.min(text.length, end + 1 + Math.floor(random() * 4));
          const partial = text.slice(0, end);
          const expected = findStop(partial, rules);
          assert.equal(scanner.find(partial), expected, `${JSON.stringify(partial)} with ${JSON.stringify(rules)}`);
          if (expected >= 0) break;
        }
      }
    }
  });

});
