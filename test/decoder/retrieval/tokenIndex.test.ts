import assert from 'node:assert/strict';
import { TokenIndex, type Continuation, type QueryOptions } from '../../../extension/decoder/retrieval/tokenIndex';
import { SeededRandom } from '../../../extension/decoder/draft/prng';

const plain = (results: Continuation[]) => results.map((r) => ({ tokens: [...r.tokens], matchLength: r.matchLength, uri: r.uri, occurrences: r.occurrences }));

function seededRandom(seed: number) {
  const generator = new SeededRandom(seed);
  return (n: number) => generator.nextUint32() % n;
}

/**
 * Reference query by brute force over documents in recency order: the same rules as the
 * index (orders tried longest first, stop once enough distinct continuations), with no
 * chains and no caps.
 */
function referenceQuery(docs: { uri: string; tokens: number[] }[], orders: number[], tail: number[], options: QueryOptions, maxMatchLength = 64) {
  type Cand = { recency: number; matchLength: number; tokens: number[]; uri: string };
  const all: Cand[] = [];
  let recency = 0;
  for (const doc of docs) {
    for (let p = 0; p < doc.tokens.length; p++, recency++) {
      let m = 0;
      while (m < Math.min(maxMatchLength, tail.length) && p - m >= 0 && doc.tokens[p - m] === tail[tail.length - 1 - m]) m++;
      const tokens = doc.tokens.slice(p + 1, p + 1 + options.length);
      if (tokens.length > 0) all.push({ recency, matchLength: m, tokens, uri: doc.uri });
    }
  }
  const rankOf = (cands: Cand[]) => {
    const groups = new Map<string, { best: Cand; matchLength: number; occurrences: number }>();
    for (const c of cands) {
      const key = c.tokens.join(',');
      const g = groups.get(key);
      if (!g) groups.set(key, { best: c, matchLength: c.matchLength, occurrences: 1 });
      else {
        g.occurrences++;
        g.matchLength = Math.max(g.matchLength, c.matchLength);
        if (c.recency > g.best.recency) g.best = c;
      }
    }
    const sorted = [...groups.values()].sort((a, b) => b.matchLength - a.matchLength || b.occurrences - a.occurrences || b.best.recency - a.best.recency);
    const out: { tokens: number[]; matchLength: number; uri: string; occurrences: number }[] = [];
    for (const g of sorted) {
      if (out.length >= options.maxContinuations) break;
      if (out.some((o) => g.best.tokens.every((t, i) => o.tokens[i] === t))) continue;
      out.push({ tokens: g.best.tokens, matchLength: g.matchLength, uri: g.best.uri, occurrences: g.occurrences });
    }
    return out;
  };
  const minMatch = Math.max(1, options.minMatch ?? Math.min(...orders));
  let result: ReturnType<typeof rankOf> = [];
  for (const n of [...orders].sort((a, b) => b - a)) {
    if (n > tail.length || n < minMatch) continue;
    result = rankOf(all.filter((c) => c.matchLength >= n));
    if (result.length >= options.maxContinuations) return result;
  }
  return result;
}

describe('TokenIndex', () => {
  it('finds what followed the longest suffix match', () => {
    const index = new TokenIndex({ orders: [1, 2, 3] });
    index.add('a.ts', [1, 2, 3, 4, 5, 9, 2, 3, 7, 8]);
    const results = index.query([0, 2, 3], { maxContinuations: 2, length: 3 });
    // "2 3" occurs twice; the later one (7 8) is more recent, both match 2 tokens.
    assert.deepEqual(plain(results), [
      { tokens: [7, 8], matchLength: 2, uri: 'a.ts', occurrences: 1 },
      { tokens: [4, 5, 9], matchLength: 2, uri: 'a.ts', occurrences: 1 },
    ]);
    const longer = index.query([1, 2, 3], { maxContinuations: 1, length: 2 });
    assert.deepEqual(plain(longer), [{ tokens: [4, 5], matchLength: 3, uri: 'a.ts', occurrences: 1 }]);
  });

  it('measures matches longer than the largest order', () => {
    const index = new TokenIndex({ orders: [2] });
    index.add('long', [10, 11, 12, 13, 14, 15, 16]);
    index.add('short', [99, 13, 14, 40]);
    const results = index.query([11, 12, 13, 14], { maxContinuations: 2, length: 2 });
    assert.deepEqual(plain(results), [
      { tokens: [15, 16], matchLength: 4, uri: 'long', occurrences: 1 },
      { tokens: [40], matchLength: 2, uri: 'short', occurrences: 1 },
    ]);
  });

  it('prefers frequent continuations among equally long matches, then recent ones', () => {
    const index = new TokenIndex({ orders: [2] });
    index.add('x', [1, 2, 5, 1, 2, 6, 1, 2, 5]);
    index.add('y', [1, 2, 7]);
    const results = index.query([1, 2], { maxContinuations: 3, length: 1 });
    assert.deepEqual(plain(results).map((r) => [r.tokens[0], r.occurrences, r.uri]), [[5, 2, 'x'], [7, 1, 'y'], [6, 1, 'x']]);
  });

  it('merges a continuation that is a prefix of a better one', () => {
    const index = new TokenIndex({ orders: [1] });
    index.add('a', [3, 4, 5, 6]);
    index.add('b', [3, 4]); // ends after 4: continuation [4] is a prefix of [4, 5, 6]
    index.add('c', [0, 3, 4, 5, 6]);
    const results = index.query([3], { maxContinuations: 5, length: 3 });
    assert.deepEqual(plain(results), [{ tokens: [4, 5, 6], matchLength: 1, uri: 'c', occurrences: 2 }]);
  });

  it('never crosses document boundaries', () => {
    const index = new TokenIndex({ orders: [1, 2] });
    index.add('a', [1, 2]);
    index.add('b', [3, 4]);
    assert.deepEqual(plain(index.query([2], { maxContinuations: 3, length: 4 })), []);
    // "2 3" spans the boundary, so it is not a 2-token match.
    const results = index.query([2, 3], { maxContinuations: 3, length: 4 });
    assert.deepEqual(plain(results), [{ tokens: [4], matchLength: 1, uri: 'b', occurrences: 1 }]);
  });

  it('honours minMatch and empty inputs', () => {
    const index = new TokenIndex({ orders: [1, 2, 3] });
    index.add('a', [1, 2, 3, 4]);
    assert.equal(index.query([9, 3], { maxContinuations: 2, length: 2, minMatch: 2 }).length, 0);
    assert.equal(index.query([9, 3], { maxContinuations: 2, length: 2 }).length, 1);
    assert.equal(index.query([], { maxContinuations: 2, length: 2 }).length, 0);
    assert.equal(index.query([3], { maxContinuations: 0, length: 2 }).length, 0);
    assert.equal(new TokenIndex().query([1], { maxContinuations: 2, length: 2 }).length, 0);
  });

  it('update replaces a document and makes it the most recent', () => {
    const index = new TokenIndex({ orders: [1] });
    index.add('a', [1, 2]);
    index.add('b', [1, 3]);
    assert.equal(index.query([1], { maxContinuations: 1, length: 1 })[0].uri, 'b');
    index.update('a', [1, 4]);
    const results = plain(index.query([1], { maxContinuations: 3, length: 1 }));
    assert.deepEqual(results.map((r) => [r.tokens[0], r.uri]), [[4, 'a'], [3, 'b']]);
    assert.equal(index.documentCount, 2);
    assert.equal(index.tokenCount, 4);
  });

  it('removing a document leaves nothing behind', () => {
    const index = new TokenIndex({ orders: [1, 2, 3] });
    index.add('keep', [1, 2, 3]);
    index.add('gone', [7, 8, 9, 7, 8, 9]);
    assert.equal(index.remove('gone'), true);
    assert.equal(index.remove('gone'), false);
    assert.equal(index.query([7, 8], { maxContinuations: 3, length: 3 }).length, 0);
    assert.equal(index.stats().postings, 3 + 2 + 1);
    index.compact();
    const stats = index.stats();
    assert.deepEqual([stats.documents, stats.tokens, stats.garbageTokens, stats.arenaLength], [1, 3, 0, 4]);
    assert.deepEqual([...index.tokensOf('keep')!], [1, 2, 3]);
    index.remove('keep');
    assert.deepEqual(index.stats(), { ...index.stats(), documents: 0, tokens: 0, postings: 0, garbageTokens: 0, arenaLength: 0 });
  });

  it('append extends a document incrementally', () => {
    const grown = new TokenIndex({ orders: [1, 2, 3] });
    const whole = new TokenIndex({ orders: [1, 2, 3] });
    const random = seededRandom(5);
    const tokens = Array.from({ length: 300 }, () => random(6));
    whole.add('ctx', tokens);
    for (let at = 0; at < tokens.length;) {
      const step = 1 + random(4);
      grown.append('ctx', tokens.slice(at, at + step));
      at += step;
    }
    for (let i = 0; i < 50; i++) {
      const tail = Array.from({ length: 1 + random(5) }, () => random(6));
      const options = { maxContinuations: 3, length: 4 };
      assert.deepEqual(plain(grown.query(tail, options)), plain(whole.query(tail, options)));
    }
  });

  it('append to an older document moves it to the end', () => {
    const index = new TokenIndex({ orders: [1] });
    index.add('a', [1, 2]);
    index.add('b', [1, 3]);
    index.append('a', [1, 5]);
    assert.deepEqual([...index.tokensOf('a')!], [1, 2, 1, 5]);
    assert.deepEqual(index.uris(), ['b', 'a']);
    assert.deepEqual(plain(index.query([1], { maxContinuations: 3, length: 1 })).map((r) => r.tokens[0]), [5, 2, 3]);
  });

  it('rejects token ids that are not non-negative integers', () => {
    const index = new TokenIndex();
    assert.throws(() => index.add('a', [1, -1]), RangeError);
    assert.throws(() => index.add('a', [1.5]), RangeError);
    assert.throws(() => index.append('a', [Number.NaN]), RangeError);
    assert.throws(() => new TokenIndex({ orders: [0] }), RangeError);
  });

  it('unicode text: code points of any plane are just ids', () => {
    const index = new TokenIndex({ orders: [1, 2, 3] });
    const ids = (s: string) => Array.from(s, (c) => c.codePointAt(0)!);
    const text = (a: ArrayLike<number>) => String.fromCodePoint(...Array.from(a));
    index.add('notes.md', ids('naïve café — 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 🙂 ok; 日本語のテキスト 🙂 end'));
    const [best] = index.query(ids('x 日本'), { maxContinuations: 1, length: 5 });
    assert.equal(text(best.tokens), '語のテキス');
    const results = index.query(ids('🙂 '), { maxContinuations: 2, length: 3 });
    assert.deepEqual(results.map((r) => text(r.tokens)), ['end', 'ok;']);
  });

  it('matches a brute-force reference (random documents and queries)', () => {
    const random = seededRandom(11);
    for (let trial = 0; trial < 60; trial++) {
      const orders = [[1, 2, 3], [2, 4], [1, 3], [2]][trial % 4];
      const index = new TokenIndex({ orders, maxCandidatesPerOrder: 10_000, maxVisitsPerOrder: 1_000_000 });
      const docs: { uri: string; tokens: number[] }[] = [];
      const alphabet = 2 + random(4);
      for (let d = 0; d < 1 + random(4); d++) {
        const tokens = Array.from({ length: random(40) }, () => random(alphabet));
        docs.push({ uri: `doc${d}`, tokens });
        index.add(`doc${d}`, tokens);
      }
      for (let q = 0; q < 20; q++) {
        const tail = Array.from({ length: 1 + random(6) }, () => random(alphabet));
        const options = { maxContinuations: 1 + random(4), length: 1 + random(5), minMatch: random(3) === 0 ? 2 : undefined };
        assert.deepEqual(plain(index.query(tail, options)), referenceQuery(docs, orders, tail, options), `trial ${trial} tail ${tail}`);
      }
    }
  });

  it('incremental add / update / append / remove equals a rebuild from scratch (random operations)', () => {
    let comparedWithGarbage = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const random = seededRandom(seed);
      const orders = seed % 2 === 0 ? [1, 2, 3, 4] : [2, 4];
      // A small compaction threshold so that compaction happens along the way too.
      const index = new TokenIndex({ orders, minGarbageForCompaction: 20 + random(200) });
      let model: { uri: string; tokens: number[] }[] = []; // recency order
      const alphabet = 3 + random(5);
      const randomTokens = (max: number) => Array.from({ length: random(max) }, () => random(alphabet));
      for (let op = 0; op < 150; op++) {
        const kind = random(10);
        const uri = `f${random(8)}`;
        const existing = model.find((d) => d.uri === uri);
        if (kind < 4) {
          const tokens = randomTokens(60);
          index.set(uri, tokens);
          model = model.filter((d) => d.uri !== uri).concat({ uri, tokens });
        } else if (kind < 6) {
          const tokens = randomTokens(8);
          index.append(uri, tokens);
          const before = existing ? existing.tokens : [];
          model = model.filter((d) => d.uri !== uri).concat({ uri, tokens: before.concat(tokens) });
        } else if (kind < 8) {
          assert.equal(index.remove(uri), existing !== undefined);
          model = model.filter((d) => d.uri !== uri);
        } else {
          if (index.stats().garbageTokens > 0) comparedWithGarbage++;
          const rebuilt = new TokenIndex({ orders });
          for (const d of model) rebuilt.add(d.uri, d.tokens);
          assert.deepEqual(index.uris(), rebuilt.uris());
          assert.equal(index.stats().postings, rebuilt.stats().postings);
          assert.equal(index.tokenCount, rebuilt.tokenCount);
          for (let q = 0; q < 15; q++) {
            const tail = randomTokens(7);
            const options = { maxContinuations: 1 + random(5), length: 1 + random(6) };
            assert.deepEqual(plain(index.query(tail, options)), plain(rebuilt.query(tail, options)), `seed ${seed} op ${op}`);
          }
        }
      }
    }
    assert.ok(comparedWithGarbage > 10, 'the comparison must also cover indexes holding garbage');
  });

  it('indexes 2M tokens in bounded time and memory, then forgets them', function () {
    this.timeout(60_000);
    const random = seededRandom(3);
    const size = 2_000_000;
    const tokens = new Int32Array(size);
    // "Binary" content: ids over the whole 31-bit range, plus a repeated motif to find.
    for (let i = 0; i < size; i++) tokens[i] = random(0x7fffffff);
    const motif = [5, 6, 7, 8, 9, 10];
    tokens.set(motif, 1_500_000);
    const index = new TokenIndex({ orders: [2, 4] });
    const started = performance.now();
    index.add('huge.bin', tokens);
    const elapsed = performance.now() - started;
    const stats = index.stats();
    assert.equal(stats.tokens, size);
    // tokens + 2 chains at 4 bytes per position, buckets ~2 bytes per position per order, growth slack.
    assert.ok(stats.bytes < size * 20 * 1.6, `index uses ${stats.bytes} bytes`);
    assert.ok(elapsed < 20_000, `indexing took ${elapsed} ms`);
    const queryStart = performance.now();
    const [found] = index.query([1, 5, 6, 7], { maxContinuations: 2, length: 2 });
    assert.ok(performance.now() - queryStart < 50);
    assert.deepEqual([...found.tokens], [8, 9]);
    assert.equal(found.matchLength, 3);
    index.remove('huge.bin');
    assert.equal(index.stats().arenaLength, 0);
    assert.equal(index.query([5, 6, 7], { maxContinuations: 2, length: 2 }).length, 0);
  });
});
