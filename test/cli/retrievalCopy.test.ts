import * as assert from 'node:assert/strict';
import { copyAfterLongestMatch, firstLineWithContent, retrievalCopy } from '../../extension/cli/retrievalCopy';

describe('retrieval-copy baseline', () => {
  it('copies what followed the longest match, to the end of its first line with content', () => {
    const haystack = 'def area(r):\n    return 3.14 * r * r\n\ndef volume(r):\n    return 4 * area(r) * r / 3\n';
    assert.equal(copyAfterLongestMatch('x = 1\ndef volume(r):\n    ', haystack), 'return 4 * area(r) * r / 3');
    assert.equal(copyAfterLongestMatch('zzz', haystack), '');
    assert.equal(firstLineWithContent('\n   \n  next line\nmore'), '\n   \n  next line');
  });

  it('never searches the hidden middle of the current file, and never matches the prefix with itself', () => {
    const file = { path: 'a.py', text: 'import os\nprint(os.getcwd())\n' };
    const sample = { id: 'a.py:2', file: 'a.py', prefix: 'import os\n', suffix: '\n', truth: 'print(os.getcwd())' };
    assert.equal(retrievalCopy(sample, [file]), '');
    const other = { path: 'b.py', text: 'import os\nprint(os.listdir())\n' };
    assert.equal(retrievalCopy(sample, [file, other]), 'print(os.listdir())');
  });
});
