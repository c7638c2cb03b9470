// A token-level n-gram index over documents (workspace files, or the current request's
// context) that answers "what followed the tail of my context elsewhere?".
//
// Layout, chosen for memory (a 50 MB workspace is ~15M tokens):
// - One arena (Int32Array) holds every document's tokens, each preceded by a separator.
//   Positions increase with the time a document was (last) added, so "more recent" is
//   simply "larger position".
// - For each indexed order n (e.g. 2 and 4) a hash chain like an LZ77 matcher's: `head`
//   maps a hash bucket to the newest position p whose n-gram ending at p hashes there,
//   and `prev[p]` to the next older one. That is 4 bytes per position per order, no
//   per-n-gram objects, and a hot n-gram costs nothing extra: its chain is only walked
//   up to a cap (newest first), which is the "keep the most recent postings" rule.
// - Buckets are not verified keys: a collision just puts a foreign position in a
//   chain, and every candidate is verified against the arena tokens anyway.
// - The true match length is found by comparing tokens backwards from the candidate,
//   so a match can be longer than the largest order (a 40-token verbatim copy ranks
//   above a 4-token one).
// Removing a document overwrites its tokens with the separator (so no chain entry of it
// can ever verify again) and counts them as garbage; when garbage outweighs live tokens
// the arena is rebuilt from the live documents in their order, which is exactly what
// indexing them from scratch gives. Add/update/remove thus cost O(document) amortised.

const SEPARATOR = -1;
const NONE = -1;
const MIN_BUCKET_BITS = 10;
const MAX_BUCKET_BITS = 26;

export interface TokenIndexOptions {
  /**
   * n-gram orders with a hash chain; queries try them longest first. The default [2, 4]
   * suits a workspace: a 3-token match is found through order 2 and measured by
   * extension, and single-token matches are too ambiguous to be worth the memory.
   */
  orders?: readonly number[];
  /** Verified candidates taken from one order's chain (newest first). */
  maxCandidatesPerOrder?: number;
  /** Chain entries visited per order at most (bounds the cost of collisions and garbage). */
  maxVisitsPerOrder?: number;
  /** Backward extension stops here; longer matches rank as this long. */
  maxMatchLength?: number;
  /** Rebuild when garbage exceeds max(live tokens, this). */
  minGarbageForCompaction?: number;
}

export interface QueryOptions {
  /** Distinct continuations returned at most. */
  maxContinuations: number;
  /** Tokens per continuation at most. */
  length: number;
  /** Shortest suffix match accepted (default: the smallest order). */
  minMatch?: number;
}

export interface Continuation {
  /** The tokens that followed the match, 1..length of them. */
  tokens: Int32Array;
  /** How many trailing tokens of the query matched before them. */
  matchLength: number;
  /** Document of the most recent occurrence. */
  uri: string;
  /** How many of the examined matches were followed by exactly these tokens. */
  occurrences: number;
}

/** The next-token counts after the longest suffix match of a tail (TokenIndex.nextTokenCounts). */
export interface NextTokenCounts {
  /** Length of the longest suffix of the tail found (capped at maxMatchLength); 0: none. */
  matchLength: number;
  /** Distinct tokens that followed the occurrences of that suffix, in order of first sight (newest first). */
  tokens: number[];
  /** How often each of `tokens` followed it. */
  counts: number[];
  /** Occurrences counted: the sum of `counts`. */
  total: number;
}

/** Per document uri, the first position (relative to the document's start) a lookup leaves out; 0: all of it. */
export type Exclusions = ReadonlyMap<string, number>;

export interface TokenIndexStats {
  documents: number;
  /** Live tokens (sum of document lengths). */
  tokens: number;
  /** Chain entries of live tokens (one per indexed position per order). */
  postings: number;
  /** Tokens of removed or replaced documents not yet compacted away. */
  garbageTokens: number;
  arenaLength: number;
  /** Bytes held by the typed arrays. */
  bytes: number;
}

interface DocumentRecord {
  uri: string;
  /** Arena position of the first token (the separator sits at start - 1). */
  start: number;
  length: number;
}

export class TokenIndex {
  readonly orders: readonly number[];
  private readonly maxOrder: number;
  private readonly maxCandidatesPerOrder: number;
  private readonly maxVisitsPerOrder: number;
  private readonly maxMatchLength: number;
  private readonly minGarbageForCompaction: number;

  private arena = new Int32Array(1024);
  private arenaLength = 0;
  private prev: Int32Array[];
  private heads: Int32Array[];
  private bucketMask = 0;

  private readonly byUri = new Map<string, DocumentRecord>();
  /** Live documents sorted by start, to map a position back to its uri. */
  private ordered: DocumentRecord[] = [];
  private liveTokens = 0;
  private garbageTokens = 0;

  // Query scratch space, reused across queries.
  private readonly tailHashes: Int32Array;
  private readonly seen = new Set<number>();

  constructor(options: TokenIndexOptions = {}) {
    const orders = [...new Set(options.orders ?? [2, 4])].sort((a, b) => b - a);
    if (orders.length === 0 || orders.some((n) => !Number.isInteger(n) || n < 1 || n > 16)) {
      throw new RangeError(`orders must be integers in 1..16, got ${options.orders}`);
    }
    this.orders = orders;
    this.maxOrder = orders[0];
    this.maxCandidatesPerOrder = options.maxCandidatesPerOrder ?? 48;
    this.maxVisitsPerOrder = options.maxVisitsPerOrder ?? 1024;
    this.maxMatchLength = options.maxMatchLength ?? 64;
    this.minGarbageForCompaction = options.minGarbageForCompaction ?? 1 << 16;
    this.tailHashes = new Int32Array(this.maxOrder + 1);
    this.prev = orders.map(() => new Int32Array(this.arena.length));
    this.heads = [];
    this.resizeBuckets(MIN_BUCKET_BITS);
  }

  get documentCount(): number {
    return this.byUri.size;
  }

  get tokenCount(): number {
    return this.liveTokens;
  }

  has(uri: string): boolean {
    return this.byUri.has(uri);
  }

  /** The indexed tokens of a document (a copy), or undefined. */
  tokensOf(uri: string): Int32Array | undefined {
    const doc = this.byUri.get(uri);
    return doc ? this.arena.slice(doc.start, doc.start + doc.length) : undefined;
  }

  /**
   * Where the only occurrence of `tokens` in a document ends (the position after it, relative to the
   * document's start); -1 when the document is not indexed, does not hold them, or holds them more
   * than once. A linear scan.
   */
  onlyEndOf(uri: string, tokens: ArrayLike<number>): number {
    const doc = this.byUri.get(uri);
    const n = tokens.length;
    if (!doc || n === 0) return -1;
    let found = -1;
    for (let end = n; end <= doc.length; end++) {
      let k = 0;
      while (k < n && this.arena[doc.start + end - 1 - k] === tokens[n - 1 - k]) k++;
      if (k < n) continue;
      if (found >= 0) return -1;
      found = end;
    }
    return found;
  }

  uris(): string[] {
    return this.ordered.map((d) => d.uri);
  }

  /** Adds a document, replacing one with the same uri; it becomes the most recent. */
  set(uri: string, tokens: ArrayLike<number>): void {
    checkTokens(tokens);
    this.removeRecord(uri);
    this.appendDocument(uri, tokens);
    this.maybeCompact();
  }

  add(uri: string, tokens: ArrayLike<number>): void {
    this.set(uri, tokens);
  }

  update(uri: string, tokens: ArrayLike<number>): void {
    this.set(uri, tokens);
  }

  /** Returns whether the document was indexed. */
  remove(uri: string): boolean {
    const removed = this.removeRecord(uri);
    if (removed) this.maybeCompact();
    return removed;
  }

  /**
   * Appends tokens to a document (created if missing). Incremental when it is the most
   * recent document (the usual case for the request context); otherwise it is moved
   * to the end first.
   */
  append(uri: string, tokens: ArrayLike<number>): void {
    checkTokens(tokens);
    const doc = this.byUri.get(uri);
    if (doc === undefined) {
      this.appendDocument(uri, tokens);
      return;
    }
    if (doc.start + doc.length !== this.arenaLength) {
      const old = this.arena.slice(doc.start, doc.start + doc.length);
      this.removeRecord(uri);
      this.appendDocument(uri, old);
      this.maybeCompact();
    }
    const moved = this.byUri.get(uri)!;
    this.ensureArenaCapacity(this.arenaLength + tokens.length);
    for (let i = 0; i < tokens.length; i++) this.pushIndexedToken(tokens[i]);
    moved.length += tokens.length;
    this.liveTokens += tokens.length;
  }

  clear(): void {
    this.byUri.clear();
    this.ordered = [];
    this.arenaLength = 0;
    this.liveTokens = 0;
    this.garbageTokens = 0;
    for (const head of this.heads) head.fill(NONE);
  }

  /** Rebuilds the arena from the live documents (same order), dropping all garbage. */
  compact(): void {
    const live = this.ordered.map((d) => ({ uri: d.uri, tokens: this.arena.slice(d.start, d.start + d.length) }));
    this.clear();
    const needed = live.reduce((sum, d) => sum + d.tokens.length + 1, 0);
    this.arena = new Int32Array(Math.max(1024, needed));
    this.prev = this.orders.map(() => new Int32Array(this.arena.length));
    this.resizeBuckets(bucketBitsFor(this.arena.length));
    for (const d of live) this.appendDocument(d.uri, d.tokens);
  }

  stats(): TokenIndexStats {
    let bytes = this.arena.byteLength;
    for (const a of this.prev) bytes += a.byteLength;
    for (const h of this.heads) bytes += h.byteLength;
    return {
      documents: this.byUri.size,
      tokens: this.liveTokens,
      postings: this.livePostings(),
      garbageTokens: this.garbageTokens,
      arenaLength: this.arenaLength,
      bytes,
    };
  }

  /**
   * Continuations of `tail` found in the index: longest suffix match first, then the
   * most frequent among the examined matches, then the most recent; identical
   * continuations (or ones that are a prefix of a better one) are merged.
   */
  query(tail: ArrayLike<number>, options: QueryOptions): Continuation[] {
    const { maxContinuations, length } = options;
    const minMatch = Math.max(1, options.minMatch ?? this.orders[this.orders.length - 1]);
    if (maxContinuations <= 0 || length <= 0 || tail.length === 0 || this.liveTokens === 0) return [];
    this.hashTail(tail);
    const candidates: Candidate[] = [];
    this.seen.clear();
    for (let o = 0; o < this.orders.length; o++) {
      const n = this.orders[o];
      if (n > tail.length || n < minMatch) continue;
      this.collect(o, n, tail, length, candidates);
      // Shorter orders only add shorter matches (unless this chain was cut off): stop
      // once there are enough distinct continuations.
      if (candidates.length >= maxContinuations) {
        const ranked = this.rank(candidates, maxContinuations);
        if (ranked.length >= maxContinuations) return ranked;
      }
    }
    return this.rank(candidates, maxContinuations);
  }

  /**
   * What followed the longest suffix of `tail` that occurs in the index, outside what `excluded`
   * leaves out: the length of that suffix and the next token of each of its occurrences (among the
   * examined ones: each order's chain is walked newest first up to its caps). A pure function of the
   * index's contents and the tail's last maxMatchLength tokens, so every caller asking about the same
   * context gets the same answer (what lossless decoding of a mixture with it needs).
   */
  nextTokenCounts(tail: ArrayLike<number>, excluded?: Exclusions): NextTokenCounts {
    const none: NextTokenCounts = { matchLength: 0, tokens: [], counts: [], total: 0 };
    if (tail.length === 0 || this.liveTokens === 0) return none;
    const skip: number[] = [];
    if (excluded) {
      for (const [uri, from] of excluded) {
        const doc = this.byUri.get(uri);
        if (doc) skip.push(doc.start + Math.max(0, from), doc.start + doc.length);
      }
    }
    this.hashTail(tail);
    this.seen.clear();
    // The first order (longest first) with any occurrence holds every longest match the walks can see.
    const candidates: Candidate[] = [];
    for (let o = 0; o < this.orders.length && candidates.length === 0; o++) {
      if (this.orders[o] <= tail.length) this.collect(o, this.orders[o], tail, 1, candidates, skip);
    }
    const best = candidates.reduce((m, c) => Math.max(m, c.matchLength), 0);
    if (best === 0) return none;
    const tokens: number[] = [];
    const counts: number[] = [];
    for (const c of candidates) {
      if (c.matchLength !== best) continue;
      const next = this.arena[c.position + 1];
      const at = tokens.indexOf(next);
      if (at >= 0) counts[at]++;
      else { tokens.push(next); counts.push(1); }
    }
    return { matchLength: best, tokens, counts, total: counts.reduce((a, b) => a + b, 0) };
  }

  // ---- indexing ----

  private appendDocument(uri: string, tokens: ArrayLike<number>): void {
    this.ensureArenaCapacity(this.arenaLength + tokens.length + 1);
    this.arena[this.arenaLength++] = SEPARATOR;
    const doc: DocumentRecord = { uri, start: this.arenaLength, length: tokens.length };
    for (let i = 0; i < tokens.length; i++) this.pushIndexedToken(tokens[i]);
    this.byUri.set(uri, doc);
    this.ordered.push(doc);
    this.liveTokens += tokens.length;
  }

  /** Writes one token at the arena end and links the n-grams that end at it. */
  private pushIndexedToken(token: number): void {
    const p = this.arenaLength++;
    this.arena[p] = token;
    this.linkPosition(p);
  }

  private linkPosition(p: number): void {
    const arena = this.arena;
    let h = HASH_SEED;
    let o = this.orders.length - 1; // orders are sorted descending: walk from the smallest
    for (let k = 0; k < this.maxOrder; k++) {
      const t = p - k >= 0 ? arena[p - k] : SEPARATOR;
      if (t < 0) break;
      h = mix(h, t);
      if (k + 1 === this.orders[o]) {
        const bucket = finish(h) & this.bucketMask;
        const head = this.heads[o];
        this.prev[o][p] = head[bucket];
        head[bucket] = p;
        if (--o < 0) break;
      }
    }
  }

  private removeRecord(uri: string): boolean {
    const doc = this.byUri.get(uri);
    if (doc === undefined) return false;
    this.arena.fill(SEPARATOR, doc.start, doc.start + doc.length);
    this.byUri.delete(uri);
    const at = this.indexOfDocument(doc.start);
    this.ordered.splice(at, 1);
    this.liveTokens -= doc.length;
    this.garbageTokens += doc.length + 1;
    if (this.byUri.size === 0) this.clear();
    return true;
  }

  private maybeCompact(): void {
    if (this.garbageTokens > Math.max(this.liveTokens, this.minGarbageForCompaction)) this.compact();
  }

  private ensureArenaCapacity(needed: number): void {
    if (needed <= this.arena.length) return;
    const capacity = Math.max(needed, Math.ceil(this.arena.length * 1.5));
    const arena = new Int32Array(capacity);
    arena.set(this.arena.subarray(0, this.arenaLength));
    this.arena = arena;
    this.prev = this.prev.map((old) => {
      const grown = new Int32Array(capacity);
      grown.set(old.subarray(0, this.arenaLength));
      return grown;
    });
    // Buckets grow 4x at a time: each growth relinks every position once.
    const bits = bucketBitsFor(capacity);
    const currentBits = Math.log2(this.bucketMask + 1);
    if (bits >= currentBits + 2 || (bits > currentBits && bits === MAX_BUCKET_BITS)) {
      this.resizeBuckets(bits);
      for (let p = 0; p < this.arenaLength; p++) if (this.arena[p] >= 0) this.linkPosition(p);
    }
  }

  private resizeBuckets(bits: number): void {
    this.heads = this.orders.map(() => new Int32Array(1 << bits).fill(NONE));
    this.bucketMask = (1 << bits) - 1;
  }

  private livePostings(): number {
    let postings = 0;
    for (const doc of this.ordered) {
      for (const n of this.orders) postings += Math.max(0, doc.length - n + 1);
    }
    return postings;
  }

  private indexOfDocument(start: number): number {
    let lo = 0;
    let hi = this.ordered.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.ordered[mid].start <= start) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  // ---- querying ----

  /** tailHashes[k] = hash of the last k tokens of the tail (k = 1..maxOrder). */
  private hashTail(tail: ArrayLike<number>): void {
    let h = HASH_SEED;
    const limit = Math.min(this.maxOrder, tail.length);
    for (let k = 0; k < limit; k++) {
      h = mix(h, tail[tail.length - 1 - k]);
      this.tailHashes[k + 1] = finish(h);
    }
  }

  /** Verified occurrences of the tail's last n tokens on order o's chain (newest first), outside `skip`'s [start, end) ranges. */
  private collect(o: number, n: number, tail: ArrayLike<number>, length: number, out: Candidate[], skip: readonly number[] = []): void {
    const arena = this.arena;
    const end = tail.length - 1;
    const maxMatch = Math.min(this.maxMatchLength, tail.length);
    let p = this.heads[o][this.tailHashes[n] & this.bucketMask];
    let found = 0;
    for (let visits = 0; p !== NONE && visits < this.maxVisitsPerOrder && found < this.maxCandidatesPerOrder; visits++, p = this.prev[o][p]) {
      let k = 0;
      while (k < n && arena[p - k] === tail[end - k]) k++;
      if (k < n) continue; // collision or removed document
      if (p + 1 >= this.arenaLength || arena[p + 1] < 0) continue; // nothing follows
      if (inRanges(skip, p)) continue;
      found++;
      if (this.seen.has(p)) continue;
      this.seen.add(p);
      while (k < maxMatch && p - k >= 0 && arena[p - k] === tail[end - k]) k++;
      let stop = p + 1;
      const limit = Math.min(this.arenaLength, p + 1 + length);
      while (stop < limit && arena[stop] >= 0) stop++;
      out.push({ position: p, matchLength: k, continuationEnd: stop });
    }
  }

  private rank(candidates: Candidate[], maxContinuations: number): Continuation[] {
    const arena = this.arena;
    // Group identical continuations.
    const groups: Group[] = [];
    const byHash = new Map<number, Group[]>();
    for (const c of candidates) {
      let h = HASH_SEED;
      for (let i = c.position + 1; i < c.continuationEnd; i++) h = mix(h, arena[i]);
      h = finish(h);
      const bucket = byHash.get(h);
      const same = bucket?.find((g) => this.sameTokens(g.representative, c));
      if (same) {
        same.occurrences++;
        if (c.matchLength > same.matchLength) same.matchLength = c.matchLength;
        if (c.position > same.representative.position) same.representative = c;
      } else {
        const group: Group = { representative: c, matchLength: c.matchLength, occurrences: 1 };
        groups.push(group);
        if (bucket) bucket.push(group);
        else byHash.set(h, [group]);
      }
    }
    groups.sort((a, b) =>
      b.matchLength - a.matchLength || b.occurrences - a.occurrences || b.representative.position - a.representative.position);
    const result: Continuation[] = [];
    for (const g of groups) {
      if (result.length >= maxContinuations) break;
      const { position, continuationEnd } = g.representative;
      const tokens = arena.slice(position + 1, continuationEnd);
      if (result.some((r) => isPrefixOf(tokens, r.tokens))) continue;
      result.push({ tokens, matchLength: g.matchLength, uri: this.ordered[this.indexOfDocument(position)].uri, occurrences: g.occurrences });
    }
    return result;
  }

  private sameTokens(a: Candidate, b: Candidate): boolean {
    const length = a.continuationEnd - a.position;
    if (b.continuationEnd - b.position !== length) return false;
    for (let i = 1; i < length; i++) if (this.arena[a.position + i] !== this.arena[b.position + i]) return false;
    return true;
  }
}

interface Candidate {
  /** Arena position of the last matched token. */
  position: number;
  matchLength: number;
  /** Exclusive arena end of the continuation (starts at position + 1). */
  continuationEnd: number;
}

interface Group {
  representative: Candidate;
  matchLength: number;
  occurrences: number;
}

/** Whether p lies in one of the [start, end) pairs of `ranges` (flat). */
function inRanges(ranges: readonly number[], p: number): boolean {
  for (let i = 0; i < ranges.length; i += 2) if (p >= ranges[i] && p < ranges[i + 1]) return true;
  return false;
}

function isPrefixOf(prefix: Int32Array, whole: Int32Array): boolean {
  if (prefix.length > whole.length) return false;
  for (let i = 0; i < prefix.length; i++) if (prefix[i] !== whole[i]) return false;
  return true;
}

function checkTokens(tokens: ArrayLike<number>): void {
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (!(t >= 0 && t <= 0x7fffffff) || !Number.isInteger(t)) throw new RangeError(`token ids are non-negative 31-bit integers, got ${t} at ${i}`);
  }
}

function bucketBitsFor(capacity: number): number {
  // Two to eight positions per bucket: collisions only add a failed comparison each to a
  // chain walk, and the bucket table stays at 0.5-2 bytes per position per order.
  return Math.min(MAX_BUCKET_BITS, Math.max(MIN_BUCKET_BITS, Math.ceil(Math.log2(capacity)) - 2));
}

const HASH_SEED = 0x2545f491;

function mix(h: number, token: number): number {
  return Math.imul(h ^ token, 0x9e3779b1) ^ (h >>> 15);
}

function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
