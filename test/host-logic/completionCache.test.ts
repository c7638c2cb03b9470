import { strict as assert } from 'node:assert';
import { CompletionCache } from '../../extension/host/logic/completionCache';
import { CorpusQueue } from '../../extension/host/logic/corpusQueue';

describe('completion cache', () => {
  const at = (prefix: string, suffix = '\n}\n', document = 'file:///a.ts', contextVersion = 0) =>
    ({ document, prefix, suffix, mode: 'line' as const, contextVersion });

  it('returns the stored completion for the very same request', () => {
    const cache = new CompletionCache();
    cache.store(at('function add(a, b) {\n  return '), 'a + b;');
    assert.deepEqual(cache.lookup(at('function add(a, b) {\n  return ')), { remaining: 'a + b;' });
  });

  it('misses when anything in the prompt could differ: any text before or after the cursor, the document, the mode, other files', () => {
    const cache = new CompletionCache();
    const prefix = 'x'.repeat(5000) + '\nlet v = ';
    cache.store(at(prefix), 'compute();');
    assert.equal(cache.lookup(at('y' + prefix.slice(1))), null, 'an edit 5000 characters before the cursor');
    assert.equal(cache.lookup(at(prefix + 'c')), null, 'typed text is answered by the decoder');
    assert.equal(cache.lookup(at(prefix, '\n}\n// more')), null);
    assert.equal(cache.lookup(at(prefix, '\n}\n', 'file:///b.ts')), null);
    assert.equal(cache.lookup({ ...at(prefix), mode: 'block' }), null);
    assert.equal(cache.lookup(at(prefix, '\n}\n', 'file:///a.ts', 1)), null, 'another file changed');
    assert.ok(cache.lookup(at(prefix)));
  });

  it('evicts the least recently used entry beyond its capacity, and forgets a closed document', () => {
    const cache = new CompletionCache(2);
    cache.store(at('one '), '1');
    cache.store(at('two '), '2');
    assert.ok(cache.lookup(at('one ')));
    cache.store(at('three '), '3');
    assert.ok(cache.lookup(at('one ')));
    assert.equal(cache.lookup(at('two ')), null);
    assert.equal(cache.size, 2);
    cache.forgetDocument('file:///a.ts');
    assert.equal(cache.size, 0);
  });

  it('the context version counts changes to other documents only', () => {
    const queue = new CorpusQueue();
    queue.upsert('file:///a.ts', 'a');
    const before = queue.versionExcluding('file:///a.ts');
    queue.upsert('file:///a.ts', 'a2');
    assert.equal(queue.versionExcluding('file:///a.ts'), before, 'typing in the current file');
    queue.upsert('file:///b.ts', 'b');
    assert.equal(queue.versionExcluding('file:///a.ts'), before + 1);
    queue.remove('file:///b.ts');
    assert.equal(queue.versionExcluding('file:///a.ts'), before + 2);
  });
});
