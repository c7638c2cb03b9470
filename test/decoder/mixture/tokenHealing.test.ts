import assert from 'node:assert/strict';
import { HealingConstraint, healedTokenCount, MAX_HEALED_TOKENS } from '../../../extension/decoder/mixture/tokenHealing';

// A toy vocabulary: id -> text.
const texts = ['<eot>', '\n', '\n   ', '\n    ', ' ', '  ', ' return', 'return', 'ret', 'urn', 'ba', 'bar', 'b', '    ', '\n       ', '   ', ' x', 'x', ' \n'];
const id = (t: string) => texts.indexOf(t);
const special = new Set([0]);
// The toy tokenizer for the probe: the whitespace before a word as a file spells it.
const encode = (text: string) => {
  if (text === '\n    a') return [id('\n   '), 99];
  if (text === '        a') return [id('    '), id('   '), 99];
  throw new Error(`unexpected probe ${JSON.stringify(text)}`);
};
const list = (ids: Int32Array) => [...ids].map((i) => texts[i]);

describe('token healing', () => {
  it('heals the last token, and before a whitespace one the whitespace tokens before it', () => {
    assert.equal(healedTokenCount([id('x'), id('ba')], texts, special), 1);
    assert.equal(healedTokenCount([id('x'), id('\n'), id('    ')], texts, special), 2);
    assert.equal(healedTokenCount([id(' '), id(' '), id(' '), id(' '), id(' '), id(' ')], texts, special), MAX_HEALED_TOKENS);
    assert.equal(healedTokenCount([id('x'), 0], texts, special), 0, 'a special token is never healed');
    assert.equal(healedTokenCount([], texts, special), 0);
  });

  it('after an indentation: forces the file\'s spelling, then a token that starts the line\'s content', () => {
    const healing = new HealingConstraint('\n    ', texts, special, encode);
    assert.deepEqual(list(healing.allowedAt(0)), ['\n   ']);
    // One space is left: " return", " x" or " " itself, never more indentation ("  ") nor the line's end (" \n").
    assert.deepEqual(list(healing.allowedAt(4)).sort(), [' ', ' return', ' x'].sort());
  });

  it('forces several tokens of a long indentation', () => {
    const healing = new HealingConstraint('        ', texts, special, encode);
    assert.deepEqual(list(healing.allowedAt(0)), ['    ']);
    assert.deepEqual(list(healing.allowedAt(4)), ['   ']);
    assert.ok(list(healing.allowedAt(7)).includes(' return'));
  });

  it('inside a word: tokens that are a prefix of the rest or run past it', () => {
    const healing = new HealingConstraint('ba', texts, special, encode);
    assert.deepEqual(list(healing.allowedAt(0)).sort(), ['b', 'ba', 'bar'].sort());
    assert.deepEqual(list(healing.allowedAt(1)), []);
  });

  it('after a newline: the next line may start indented', () => {
    const healing = new HealingConstraint('\n', texts, special, encode);
    assert.ok(list(healing.allowedAt(0)).includes('\n    '));
    assert.ok(!list(healing.allowedAt(0)).includes('<eot>'));
  });
});
