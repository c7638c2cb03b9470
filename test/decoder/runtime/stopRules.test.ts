import * as assert from 'node:assert/strict';
import { blockOf, findStop, nextLineOf, stableLength, StopScanner, type StopRules } from '../../../extension/decoder/engine/stopRules';
import { seededRandom } from './fixtureModel';

const none: StopRules = { stopStrings: [] };
const line: StopRules = { mode: 'line', stopStrings: [] };
const block: StopRules = { mode: 'block', stopStrings: [] };
const looping: StopRules = { stopStrings: [], stopOnLoop: true };
const lineLooping: StopRules = { ...line, stopOnLoop: true };
const blockLooping: StopRules = { ...block, stopOnLoop: true };

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
      ['\n  return { x: 1 };\n  }\nexport function dot() {\n', { stopStrings: [], nextLine: '  }' }],
      ['\n  a();\r\nexport function dot() {\n', { stopStrings: [], block: { outside: 0 } }],
      ['\n  a();\n}\nexport function dot() {\n', { stopStrings: [], block: { outside: 0 } }],
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
    const alphabet = ['a', 'b', ' ', '\t', '\n', '\r', ';', 'E', 'N', 'D', 'x', '}'];
    const rulesList: StopRules[] = [
      { stopStrings: [] }, line, block, { stopStrings: ['END', ';;'] }, { mode: 'block', stopStrings: ['\n\n\n', 'ab'] }, { stopStrings: [], nextLine: 'ab' },
      { ...block, nextLine: ' x' }, { stopStrings: [], block: { outside: 0 } }, { stopStrings: [], block: { outside: 1 }, nextLine: 'ab' },
    ];
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

  it('stops before writing the line below the cursor again, indentation and all, never on the cursor\'s own line', () => {
    const below = '    }\r\n}\n';
    assert.equal(nextLineOf('\n   \n    }\r\n}\n'), '    }');
    assert.equal(nextLineOf('  \n'), undefined);
    const rules: StopRules = { stopStrings: [], nextLine: nextLineOf(below) };
    assert.equal(findStop('return x;\n    }\n}\n', rules), 'return x;'.length, 'the line below, written again');
    assert.equal(findStop('return x;\r\n    }\r\n', rules), 'return x;'.length, 'CRLF: cut before the \\r');
    assert.equal(findStop('return x;\n  }\n}\n', rules), -1, 'another indentation is another line');
    assert.equal(findStop('    }\nfoo();\n', rules), -1, 'the first line continues the cursor\'s own line');
    assert.equal(findStop('\n    }\n', rules), 0, 'a completion that only writes the next line again is nothing');
    assert.equal(findStop('return x;\n    }', rules), -1, 'a line is compared once its newline comes');
  });

  it('a Generate ends with the block its cursor is in: after a line that closes it, before a line outside it', () => {
    assert.deepEqual(blockOf('x\nexport function sum(v: V[]): V {'), { outside: 0 }, 'the line opens a block: its indentation is outside');
    assert.deepEqual(blockOf('def f(x):\n    y = 1\n    '), { outside: 3 }, 'inside a block: less indentation is outside');
    assert.deepEqual(blockOf('def f(x):'), { outside: 0 });
    assert.equal(blockOf('x = 1\n'), undefined, 'column 0, nothing opened: no block');
    assert.equal(blockOf(undefined), undefined);
    const opened: StopRules = { stopStrings: [], block: { outside: 0 } };
    const body = '\n  return { x: 1 };\n}';
    assert.equal(findStop(`${body}\n\nexport function dot() {\n  return 0;\n}\n`, opened), body.length, 'after the closing brace, not the next function');
    assert.equal(findStop('\n  return 1;\nexport function dot() {\n', opened), '\n  return 1;'.length, 'before a line outside that closes nothing');
    assert.equal(findStop('\n    return x\n\ndef g():\n', opened), '\n    return x\n'.length, 'Python: before the next def; blank lines are no line');
    assert.equal(findStop('\r\n  a();\r\n};\r\n', opened), '\r\n  a();\r\n};'.length, 'CRLF, a closer with its semicolon');
    assert.equal(findStop('}\n', opened), -1, 'the first line is the cursor\'s own');
    assert.equal(findStop('\n\nexport function dot() {\n  return 0;\n}\n', opened), '\n\nexport function dot() {\n  return 0;\n}'.length, 'never ended before it wrote anything');
    assert.equal(findStop('\n  a();\n  b();\n', opened), -1, 'still inside');
    // What is streamed never includes a line that a later newline could still cut.
    assert.equal(stableLength('\n  a();\nexport', opened), '\n  a();'.length);
    assert.equal(stableLength('\n  a();\nexport', { stopStrings: [] }), '\n  a();\nexport'.length);
  });

  it('an editor completion stops once it ends in a loop, keeping the copies written so far', () => {
    const signature = 'add(a: Hash, b: Hash, b: Hash, b: Hash, b: Hash, b: Hash)';
    // ': Hash, b' three times (a rotation of the unit counts: the loop began inside 'a: Hash, ').
    assert.equal(findStop(signature, blockLooping), 'add(a: Hash, b: Hash, b: Hash, b'.length);
    assert.equal(findStop(signature, lineLooping), 'add(a: Hash, b: Hash, b: Hash, b'.length);
    const lines = '    x = f(y)\n    x = f(y)\n    x = f(y)\n    x = f(y)\n';
    assert.equal(findStop(lines, blockLooping), 3 * '    x = f(y)\n'.length, 'the same line three times');
    const longLine = '    self.register(alpha, beta, gamma, delta, epsilon, zeta, eta, theta, iota, kappa, mu)\n';
    assert.equal(findStop(longLine.repeat(4), blockLooping), 3 * longLine.length, 'a line of 90 characters three times');
  });

  it('repetition: no cut for short runs, units without a letter, long periods, or without stopOnLoop', () => {
    assert.equal(findStop('b: Hash, b: Hash)', blockLooping), -1, 'two copies');
    assert.equal(findStop('ab ab ab', blockLooping), -1, 'three copies, under 24 characters');
    assert.equal(findStop('[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]', blockLooping), -1, 'no letter in the unit');
    assert.equal(findStop('# ------------------------------------', blockLooping), -1);
    const longLine = '    self.register(alpha, beta, gamma, delta, epsilon, zeta, eta, theta, iota, kappa, mu, nu, xi, omicron, pi, rho)\n';
    assert.equal(findStop(longLine.repeat(3), blockLooping), -1, `a period of ${longLine.length} characters (over 100)`);
    assert.equal(findStop('xyz'.repeat(30), block), -1, 'only with stopOnLoop');
    assert.equal(findStop('xyz'.repeat(30), looping), 24);
    assert.equal(findStop('q'.repeat(23), blockLooping), -1);
    assert.equal(findStop('q'.repeat(30), blockLooping), 24, 'a letter 24 times is a loop of period 1');
  });

  it('StopScanner matches findStop on texts that loop', () => {
    const random = seededRandom(11);
    const pieces = ['b: Hash, ', 'x', ' ', '\n', 'foo()', '0, ', 'ab'];
    for (let trial = 0; trial < 300; trial++) {
      const text = Array.from({ length: 1 + Math.floor(random() * 20) }, () => pieces[Math.floor(random() * pieces.length)]).join('');
      for (const rules of [looping, lineLooping, blockLooping]) {
        const scanner = new StopScanner(rules);
        let end = 0;
        while (end < text.length) {
          end = Math.min(text.length, end + 1 + Math.floor(random() * 6));
          const partial = text.slice(0, end);
          const expected = findStop(partial, rules);
          assert.equal(scanner.find(partial), expected, `${JSON.stringify(partial)} with ${JSON.stringify(rules)}`);
          if (expected >= 0) break;
        }
      }
    }
  });

});
