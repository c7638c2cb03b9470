// Pending changes to the decoder's retrieval corpus, coalesced per document and cut into
// bounded messages so a big workspace never becomes one giant line on the pipe and a
// completion request can slip in between batches.

import type { CorpusDocument, RequestParams } from '../../protocol';

export type CorpusBatch =
  | { method: 'corpus.upsert'; params: RequestParams['corpus.upsert'] }
  | { method: 'corpus.remove'; params: RequestParams['corpus.remove'] };

/** Where a corpus document sits: the path and folder name the model sees in repo-level prompts. */
export type CorpusLocation = Pick<CorpusDocument, 'path' | 'repoName'>;

export class CorpusQueue {
  /** `locationOf` gives a document's path relative to its workspace folder and that folder's name. */
  constructor(private readonly locationOf: (uri: string) => CorpusLocation | undefined = () => undefined) {}

  /** Documents the decoder holds (as far as the batches taken so far say). */
  private readonly known = new Set<string>();
  /** Latest wanted state per document: its text, or null to remove it. */
  private readonly pending = new Map<string, string | null>();

  /** Changes asked for, in all and per document, so a cache can tell when OTHER documents changed. */
  private changes = 0;
  private readonly changesOf = new Map<string, number>();

  upsert(uri: string, text: string): void {
    this.pending.set(uri, text);
    this.countChange(uri);
  }

  remove(uri: string): void {
    if (this.known.has(uri) || this.pending.has(uri)) {
      this.pending.set(uri, null);
      this.countChange(uri);
    }
  }

  /** How many changes were asked for documents other than `uri` (it only grows). */
  versionExcluding(uri: string): number {
    return this.changes - (this.changesOf.get(uri) ?? 0);
  }

  private countChange(uri: string): void {
    this.changes++;
    this.changesOf.set(uri, (this.changesOf.get(uri) ?? 0) + 1);
  }

  has(uri: string): boolean {
    return this.pending.has(uri) ? this.pending.get(uri) !== null : this.known.has(uri);
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  get knownCount(): number {
    return this.known.size;
  }

  /** The decoder restarted empty: everything it had must be sent again by the caller. */
  forgetDecoderState(): void {
    this.known.clear();
  }

  /**
   * Takes the next message: removals first (cheap, and they free memory), then new
   * documents, then updates; at most `maxChars` of text per message, but always at least
   * one document so a single huge file still goes through.
   */
  takeBatch(maxChars: number): CorpusBatch | null {
    const removals: string[] = [];
    for (const [uri, text] of this.pending) if (text === null) removals.push(uri);
    if (removals.length > 0) {
      const uris = removals.filter((uri) => this.known.has(uri));
      for (const uri of removals) {
        this.pending.delete(uri);
        this.known.delete(uri);
      }
      if (uris.length > 0) return { method: 'corpus.remove', params: { uris } };
    }
    for (const updates of [false, true]) {
      const documents: CorpusDocument[] = [];
      let chars = 0;
      for (const [uri, text] of this.pending) {
        if (text === null || this.known.has(uri) !== updates) continue;
        if (documents.length > 0 && chars + text.length > maxChars) break;
        documents.push({ uri, text, ...this.locationOf(uri) });
        chars += text.length;
      }
      if (documents.length === 0) continue;
      for (const document of documents) {
        this.pending.delete(document.uri);
        this.known.add(document.uri);
      }
      return { method: 'corpus.upsert', params: { documents } };
    }
    return null;
  }
}
