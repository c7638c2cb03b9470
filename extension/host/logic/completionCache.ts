// Recent completions, served again only for the very same request: the same document, the same
// text around the cursor (the whole window sent to the decoder), the same mode and the same state of
// the workspace's OTHER files (their chunks go into the prompt). Anything less could show a
// suggestion the model would no longer give. Typing what a suggestion proposed is answered by the
// decoder, which can tell exactly when the new prompt extends the old one (completionMemo.ts).

import type { CompletionMode } from '../../protocol';

export interface CompletionRequestKey {
  document: string;
  prefix: string;
  suffix: string;
  mode: CompletionMode;
  /** Changes to the corpus other than this document's own, as counted by CorpusQueue.versionExcluding. */
  contextVersion: number;
  /** The decoding strategy asked for: the text would be the same, its speed not (A/B runs switch it). */
  strategy?: string;
  /** Whether the workspace mixture was asked for: it changes the text. */
  workspaceMixture?: boolean;
}

export interface CacheHit {
  remaining: string;
}

export class CompletionCache {
  // Map keeps insertion order: the first entry is the least recently used.
  private readonly entries = new Map<string, { document: string; completion: string }>();

  constructor(private readonly capacity = 64) {}

  store(key: CompletionRequestKey, completion: string): void {
    const id = idOf(key);
    this.entries.delete(id);
    this.entries.set(id, { document: key.document, completion });
    while (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
  }

  lookup(key: CompletionRequestKey): CacheHit | null {
    const id = idOf(key);
    const entry = this.entries.get(id);
    if (!entry) return null;
    this.entries.delete(id);
    this.entries.set(id, entry);
    return { remaining: entry.completion };
  }

  /** Forgets a document's entries (it was closed). */
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

function idOf(key: CompletionRequestKey): string {
  return [key.document, key.mode, key.strategy ?? '', key.contextVersion, key.prefix.length, key.prefix, key.suffix].join('\u0000');
}
