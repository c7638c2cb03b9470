// Recent completions, reusable while the user types what they predicted. An entry is keyed
// by the document, the last characters before the cursor and the first characters after
// it; when the prefix has since grown by text the cached completion starts with, the rest
// of that completion is still the model's answer (greedy decoding is deterministic), so it
// is served without asking the decoder again.

import type { CompletionMode } from '../../protocol';

export interface CompletionRequestKey {
  document: string;
  prefix: string;
  suffix: string;
  mode: CompletionMode;
}

interface CacheEntry {
  document: string;
  prefixTail: string;
  /** The tail is the whole prefix (start of the document), so it must match at position 0. */
  prefixIsWhole: boolean;
  suffixHead: string;
  completion: string;
}

export interface CacheHit {
  /** The part of the cached completion the user has not typed yet. */
  remaining: string;
  /** How many characters of it the user already typed. */
  typed: number;
}

export class CompletionCache {
  // Map keeps insertion order: the first entry is the least recently used.
  private readonly entries = new Map<string, CacheEntry>();

  constructor(private readonly capacity = 64, private readonly contextChars = 256) {}

  store(key: CompletionRequestKey, completion: string): void {
    const entry: CacheEntry = {
      document: key.document,
      prefixTail: key.prefix.slice(-this.contextChars),
      prefixIsWhole: key.prefix.length <= this.contextChars,
      suffixHead: key.suffix.slice(0, this.contextChars),
      completion,
    };
    const id = `${entry.document}\u0000${key.mode}\u0000${entry.prefixTail}\u0000${entry.suffixHead}`;
    this.entries.delete(id);
    this.entries.set(id, entry);
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  /**
   * Finds a completion made at this spot or earlier on the same typing path. Returns null
   * when nothing applies or the user has typed the whole cached completion.
   */
  lookup(key: CompletionRequestKey): CacheHit | null {
    const suffixHead = key.suffix.slice(0, this.contextChars);
    const ids = [...this.entries.keys()].reverse();
    for (const id of ids) {
      const entry = this.entries.get(id)!;
      if (entry.document !== key.document || entry.suffixHead !== suffixHead) continue;
      const typed = typedSinceEntry(key.prefix, entry);
      if (typed === null || typed >= entry.completion.length) continue;
      this.entries.delete(id);
      this.entries.set(id, entry);
      return { remaining: entry.completion.slice(typed), typed };
    }
    return null;
  }

  /** Forgets a document's entries (closed, or changed somewhere other than at the cursor). */
  forgetDocument(document: string): void {
    for (const [id, entry] of this.entries) if (entry.document === document) this.entries.delete(id);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}

/**
 * If `prefix` = (something ending with entry.prefixTail) + t where t is a prefix of the
 * entry's completion, returns t's length; otherwise null. Tries every occurrence of the
 * tail from the right, so a tail that repeats inside the typed text is handled.
 */
function typedSinceEntry(prefix: string, entry: CacheEntry): number | null {
  const tail = entry.prefixTail;
  let searchFrom = prefix.length - tail.length;
  while (searchFrom >= 0) {
    const at = prefix.lastIndexOf(tail, searchFrom);
    if (at < 0) return null;
    const typed = prefix.length - (at + tail.length);
    if (typed > entry.completion.length) return null;
    if (entry.prefixIsWhole && at !== 0) {
      searchFrom = at - 1;
      continue;
    }
    if (entry.completion.startsWith(prefix.slice(at + tail.length))) return typed;
    searchFrom = at - 1;
  }
  return null;
}
