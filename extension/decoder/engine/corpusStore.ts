// The workspace documents the host pushes (corpus.upsert / corpus.remove), tokenized
// with the loaded model's tokenizer and fed to the retrieval index. Texts are kept so a
// newly loaded model (another tokenizer) can re-index them. Operations run one at a
// time and yield to the event loop between documents, so requests are served while a
// large workspace is indexed.
import type { CorpusDocument, IndexingProgress } from '../../protocol';
import type { CodeTokenizer } from '../model/tokenizer';
import { ContextIndex } from './contextIndex';
import { DEFAULT_MAX_DOCUMENT_CHARS, judgeDocument } from './documentFilter';

/** The part of the retrieval index the corpus drives. */
export interface DocumentTokenSink {
  /** Adds or replaces the tokens of a document. */
  set(uri: string, tokens: readonly number[]): void;
  remove(uri: string): void;
}

export interface CorpusCounts {
  documents: number;
  tokens: number;
}

export interface SkippedDocument {
  uri: string;
  reason: string;
}


const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A short path for a document the host sent without one: the last segments of its uri. */
export function pathOfUri(uri: string): string {
  const parts = decodeURIComponent(uri.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, '')).split(/[\\/]/).filter(Boolean);
  return parts.slice(-3).join('/') || uri;
}

export class CorpusStore {
  /** Line-aligned chunks of every document, for the context of repo-level prompts. */
  readonly context = new ContextIndex();
  private readonly texts = new Map<string, string>();
  private readonly tokenCounts = new Map<string, number>();
  private tokenizer: CodeTokenizer | null = null;
  private sink: DocumentTokenSink | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly maxDocumentChars = DEFAULT_MAX_DOCUMENT_CHARS) {}

  counts(): CorpusCounts {
    let tokens = 0;
    for (const n of this.tokenCounts.values()) tokens += n;
    return { documents: this.texts.size, tokens };
  }

  /** The text kept for a document, or undefined. */
  textOf(uri: string): string | undefined {
    return this.texts.get(uri);
  }

  has(uri: string): boolean {
    return this.texts.has(uri);
  }

  /** Switches to a (new) model's tokenizer and index and re-indexes every kept text. */
  attach(tokenizer: CodeTokenizer, sink: DocumentTokenSink, onProgress?: (p: IndexingProgress) => void): Promise<CorpusCounts> {
    return this.enqueue(async () => {
      this.tokenizer = tokenizer;
      this.sink = sink;
      this.tokenCounts.clear();
      const uris = [...this.texts.keys()];
      for (let i = 0; i < uris.length; i++) {
        this.indexText(uris[i], this.texts.get(uris[i])!);
        onProgress?.({ done: i + 1, total: uris.length });
        await yieldToEventLoop();
      }
      return this.counts();
    });
  }

  /** Adds or replaces documents; returns the corpus counts after, and what was skipped. */
  upsert(documents: readonly CorpusDocument[], onProgress?: (p: IndexingProgress) => void): Promise<CorpusCounts & { skipped: SkippedDocument[] }> {
    return this.enqueue(async () => {
      const skipped: SkippedDocument[] = [];
      for (let i = 0; i < documents.length; i++) {
        const { uri, text, path, repoName } = documents[i];
        const verdict = judgeDocument(text, this.maxDocumentChars);
        if (!verdict.index) {
          skipped.push({ uri, reason: verdict.reason });
          this.forget(uri); // a file that became binary or huge leaves the corpus
        } else {
          this.texts.set(uri, text);
          this.indexText(uri, text);
          this.context.set(uri, path ?? pathOfUri(uri), text, repoName);
        }
        onProgress?.({ done: i + 1, total: documents.length });
        await yieldToEventLoop();
      }
      return { ...this.counts(), skipped };
    });
  }

  remove(uris: readonly string[]): Promise<CorpusCounts> {
    return this.enqueue(async () => {
      for (const uri of uris) this.forget(uri);
      return this.counts();
    });
  }

  private indexText(uri: string, text: string): void {
    if (!this.tokenizer || !this.sink) return;
    const tokens = this.tokenizer.encode(text);
    this.sink.set(uri, tokens);
    this.tokenCounts.set(uri, tokens.length);
  }

  private forget(uri: string): void {
    if (this.texts.delete(uri)) this.sink?.remove(uri);
    this.tokenCounts.delete(uri);
    this.context.remove(uri);
  }

  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
