import { strict as assert } from 'node:assert';
import { cursorWindowAt, windowAfterAccept } from '../../extension/host/logic/cursorWindow';
import { PREFIX_CHARS } from '../../extension/promptWindow';

const at = (text: string, offset: number) => cursorWindowAt(text.length, offset, (s, e) => text.slice(Math.max(0, s), e));

describe('cursor window', () => {
  it('gives the prefix, the suffix, the cursor line and the mode', () => {
    const text = 'def f(x):\n    return x\n\nprint(f(1))\n';
    const w = at(text, text.indexOf('x\n\n'));
    assert.equal(w.prefix, 'def f(x):\n    return ');
    assert.equal(w.suffix, 'x\n\nprint(f(1))\n');
    assert.equal(w.linePrefix, '    return ');
    assert.equal(w.lineSuffix, 'x');
    assert.equal(w.mode, 'line');
    assert.equal(at(text, text.indexOf('\n\nprint') + 1).mode, 'block');
  });

  it('in a long file the prefix starts at a line start that stays put while typing', () => {
    const lines = Array.from({ length: 2000 }, (_, i) => `value_${i} = compute(${i})\n`).join('');
    const starts = new Set<string>();
    for (let typed = 0; typed < 40; typed++) {
      const text = lines + 'x'.repeat(typed);
      const w = at(text, text.length);
      assert.ok(w.prefix.length <= PREFIX_CHARS);
      assert.ok(w.prefix.startsWith('value_'), 'starts at a line start');
      starts.add(w.prefix.slice(0, 20));
    }
    assert.ok(starts.size <= 2, `the window start moved ${starts.size - 1} times in 40 keystrokes`);
  });

  it('the window after accepting a suggestion is the window the edited document will have', () => {
    const text = 'function add(a, b) {\n  return \n}\n';
    const offset = text.indexOf(' \n}') + 1;
    const next = windowAfterAccept(text, offset, 'a + b;', 0);
    const edited = text.slice(0, offset) + 'a + b;' + text.slice(offset);
    assert.deepEqual(next, at(edited, offset + 'a + b;'.length));
    assert.equal(next.prefix, 'function add(a, b) {\n  return a + b;');
    const replaced = windowAfterAccept('x = foo()\n', 4, 'bar()', 5);
    assert.equal(replaced.prefix, 'x = bar()');
    assert.equal(replaced.suffix, '\n');
  });
});
