import { strict as assert } from 'node:assert';
import { CompletionCache } from '../../extension/host/logic/completionCache';

describe('completion cache', () => {
  const at = (prefix: string, suffix = '\n}\n', document = 'file:///a.ts') => ({ document, prefix, suffix, mode: 'line' as const });

  it('returns the stored completion at the same spot', () => {
    const cache = new CompletionCache();
    cache.store(at('function add(a, b) {\n  return '), 'a + b;');
    assert.deepEqual(cache.lookup(at('function add(a, b) {\n  return ')), { remaining: 'a + b;', typed: 0 });
  });

  it('serves the rest when the user typed what it predicted', () => {
    const cache = new CompletionCache();
    cache.store(at('function add(a, b) {\n  return '), 'a + b;');
    assert.deepEqual(cache.lookup(at('function add(a, b) {\n  return a +')), { remaining: ' b;', typed: 3 });
  });

  it('misses when the typed text differs, the suffix differs, or the document differs', () => {
    const cache = new CompletionCache();
    cache.store(at('let v = '), 'compute();');
    assert.equal(cache.lookup(at('let v = x')), null);
    assert.equal(cache.lookup(at('let v = ', 'other')), null);
    assert.equal(cache.lookup(at('let v = ', '\n}\n', 'file:///b.ts')), null);
  });

  it('misses once the whole completion has been typed', () => {
    const cache = new CompletionCache();
    cache.store(at('x = '), '42');
    assert.equal(cache.lookup(at('x = 42')), null);
  });

  it('an entry made at the start of a document only matches at the start', () => {
    const cache = new CompletionCache(8, 16);
    cache.store(at(''), 'import x');
    assert.deepEqual(cache.lookup(at('imp')), { remaining: 'ort x', typed: 3 });
    assert.equal(cache.lookup(at('zzz')), null);
  });

  it('works when the prefix window slid forward and the tail repeats inside the typed text', () => {
    const cache = new CompletionCache(8, 4);
    const before = 'aaaaaaaa ab';
    cache.store(at(before), 'ab ab ab!');
    // The tail ' ab' + 'ab ab' typed: the tail occurs again inside the typed text.
    assert.deepEqual(cache.lookup(at(`${before}ab ab`)), { remaining: ' ab!', typed: 5 });
  });

  it('evicts the least recently used entry beyond its capacity', () => {
    const cache = new CompletionCache(2);
    cache.store(at('one '), '1');
    cache.store(at('two '), '2');
    assert.ok(cache.lookup(at('one ')));
    cache.store(at('three '), '3');
    assert.ok(cache.lookup(at('one ')));
    assert.equal(cache.lookup(at('two ')), null);
    assert.equal(cache.size, 2);
  });

  it('forgets a document', () => {
    const cache = new CompletionCache();
    cache.store(at('q'), 'r');
    cache.forgetDocument('file:///a.ts');
    assert.equal(cache.lookup(at('q')), null);
  });
});
