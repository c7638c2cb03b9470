import { strict as assert } from 'node:assert';
import { chooseCompletionMode } from '../../extension/completionMode';
import { boundPrefix, boundSuffix } from '../../extension/promptWindow';
import { dropLinesRepeatedBySuffix, shapeSuggestion } from '../../extension/host/logic/suggestion';

describe('completion mode', () => {
  it('mid-line text after the cursor means a single line', () => {
    assert.equal(chooseCompletionMode('  foo(', ')'), 'line');
    assert.equal(chooseCompletionMode('', 'x = 1'), 'line');
  });
  it('an empty line with nothing below means a block', () => {
    assert.equal(chooseCompletionMode('', ''), 'block');
    assert.equal(chooseCompletionMode('x = 1\n    ', '  \n\n'), 'block');
  });
  it('the end of a line that opens a block means a block', () => {
    assert.equal(chooseCompletionMode('function f(a) {', ''), 'block');
    assert.equal(chooseCompletionMode('def f(a):', '\nx = 1'), 'block');
    assert.equal(chooseCompletionMode('  const g = (x) =>', ''), 'block');
    assert.equal(chooseCompletionMode('for x in y; do', ''), 'block');
  });
  it('the end of an ordinary statement or a comment means a single line', () => {
    assert.equal(chooseCompletionMode('const x = 1', ''), 'line');
    assert.equal(chooseCompletionMode('# Note:', ''), 'line');
    assert.equal(chooseCompletionMode('  // see {', ''), 'line');
  });
  it('an empty line inside a body that goes on below means a single line', () => {
    // The cursor at column 0 or at the body's depth, statements of the body below it.
    assert.equal(chooseCompletionMode('def f(a):\n    b = a\n', '\n    return b\n'), 'line');
    assert.equal(chooseCompletionMode('function f(a) {\n  const b = a;\n  ', '\n  return b;\n}\n'), 'line');
    // Just after the opener of a block that already has a body.
    assert.equal(chooseCompletionMode('function f(a) {\n  ', '\n  return a;\n}'), 'line');
  });
  it('an empty line that starts new code means a block', () => {
    // An empty block just opened: what follows is at the opener's depth.
    assert.equal(chooseCompletionMode('function f(a) {\n  ', '\n}\n'), 'block');
    assert.equal(chooseCompletionMode('class A:\n    def f(self):\n        ', '\n\n    def g(self):'), 'block');
    // Between top-level declarations.
    assert.equal(chooseCompletionMode('def f():\n    return 1\n\n', '\n\ndef g():\n    pass'), 'block');
    // At a body's end, the closing bracket below.
    assert.equal(chooseCompletionMode('function f(a) {\n  a += 1;\n  ', '\n}\n'), 'block');
  });
});

describe('prompt window', () => {
  it('keeps short text whole', () => {
    assert.equal(boundPrefix('abc\ndef', 100), 'abc\ndef');
    assert.equal(boundSuffix('abc\ndef', 100), 'abc\ndef');
  });
  it('cuts the prefix at a line start within budget', () => {
    const text = 'line one\nline two\nline three';
    const bounded = boundPrefix(text, 22);
    assert.ok(bounded.length <= 22);
    assert.equal(bounded, 'line two\nline three');
  });
  it('cuts the suffix at a line end within budget', () => {
    const text = 'line one\nline two\nline three';
    const bounded = boundSuffix(text, 20);
    assert.equal(bounded, 'line one\nline two\n');
  });
  it('keeps characters when there is no nearby newline, never splitting a surrogate pair', () => {
    const text = '😀'.repeat(10);
    const prefix = boundPrefix(text, 5);
    assert.ok(prefix.length <= 5);
    assert.equal(prefix, '😀😀');
    const suffix = boundSuffix(text, 5);
    assert.equal(suffix, '😀😀');
  });
});

describe('suggestion shaping', () => {
  const line = (lineSuffix: string, suffix = lineSuffix) => ({ mode: 'line' as const, lineSuffix, suffix });
  const block = (suffix: string) => ({ mode: 'block' as const, lineSuffix: '', suffix });

  it('passes an ordinary completion through with an empty replace range', () => {
    assert.deepEqual(shapeSuggestion('x + 1;', line('')), { insertText: 'x + 1;', replaceLength: 0 });
  });
  it('drops empty and whitespace-only completions', () => {
    assert.equal(shapeSuggestion('', line('')), null);
    assert.equal(shapeSuggestion(' \n\t', block('')), null);
  });
  it('drops a suggestion that only repeats the text after the cursor', () => {
    assert.equal(shapeSuggestion(')', line(')', ')\nnext')), null);
    assert.equal(shapeSuggestion('return x;', block('\n  return x;\n}')), null);
  });
  it('replaces the rest of the line when the suggestion re-types it', () => {
    assert.deepEqual(shapeSuggestion('a, b)', line(')', ')\n')), { insertText: 'a, b)', replaceLength: 1 });
    assert.deepEqual(shapeSuggestion('a, b);', line(');  ', ');  \n')), { insertText: 'a, b);', replaceLength: 2 });
  });
  it('keeps only the first line in line mode and trims trailing whitespace', () => {
    assert.deepEqual(shapeSuggestion('foo()  \nbar()', line('')), { insertText: 'foo()', replaceLength: 0 });
  });
  it('at a line end in line mode, a suggestion that starts with a newline shows the next line', () => {
    assert.deepEqual(shapeSuggestion('\n  return a;\n}', line('', '\n}\n')), { insertText: '\n  return a;', replaceLength: 0 });
    assert.deepEqual(shapeSuggestion('\r\n\r\n  x = 1\r\ny = 2', line('  ')), { insertText: '\r\n\r\n  x = 1', replaceLength: 0 });
    assert.equal(shapeSuggestion('\n \n', line('')), null);
  });
  it('inside a line, a suggestion that starts with a newline is dropped (it would split the line)', () => {
    assert.equal(shapeSuggestion('\nfoo()', line(')', ')\n')), null);
  });
  it('removes closing lines of a block that already follow the cursor', () => {
    assert.deepEqual(shapeSuggestion('  return a + b;\n}', block('\n}\n')), { insertText: '  return a + b;', replaceLength: 0 });
    assert.equal(dropLinesRepeatedBySuffix('a\n  }\n}', '\n  }\n}\nmore'), 'a');
    assert.equal(dropLinesRepeatedBySuffix('a\nb', 'c'), 'a\nb');
  });
});
