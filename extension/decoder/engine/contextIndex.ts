// Context chunks for repo-level prompts: every workspace document is cut into line-aligned chunks
// and the chunks that share the most identifiers with the text around the cursor go into the prompt
// (the same choice the training pipeline makes, training/repo_samples.py). An inverted index from
// identifier to chunks keeps a request's cost proportional to the identifiers it asks about.
import type { ContextChunk } from './fimPrompt';

/** Chunk size in characters (training/repo_samples.py CONTEXT_CHUNK_CHARS). */
export const CONTEXT_CHUNK_CHARS = 900;
/** Identifiers found in more chunks than this say nothing about relevance and are not scored. */
const MAX_POSTINGS = 4000;
const IDENTIFIER = /[A-Za-z_][A-Za-z0-9_]{2,}/g;

export function identifiersOf(text: string): Set<string> {
  return new Set(text.match(IDENTIFIER) ?? []);
}

/** Cuts `text` into chunks of at most ~maxChars at line boundaries (a longer line is cut hard). */
export function chunkLines(text: string, maxChars = CONTEXT_CHUNK_CHARS): string[] {
  const chunks: string[] = [];
  let current = '';
  for (const line of text.split(/(?<=\n)/)) {
    let rest = line;
    while (rest.length > maxChars) {
      if (current) { chunks.push(current); current = ''; }
      chunks.push(rest.slice(0, maxChars));
      rest = rest.slice(maxChars);
    }
    if (current.length + rest.length > maxChars && current) { chunks.push(current); current = ''; }
    current += rest;
  }
  if (current) chunks.push(current);
  return chunks.filter((c) => c.trim().length > 0);
}

interface Chunk {
  uri: string;
  path: string;
  /** The workspace folder it belongs to; undefined: the same repository as every request. */
  repoName?: string;
  text: string;
  identifierCount: number;
}

/** Where a prompt is built: the current file's path and its workspace folder's name. */
export interface ContextLocation {
  path: string;
  repoName?: string;
}

/**
 * A chunk's file as a prompt for `repoName` names it: a file of another workspace folder goes under
 * that folder's name (VS Code's own multi-root convention), so it is neither taken for a file of
 * the current repository nor confused with one at the same relative path.
 */
function labelOf(chunk: Chunk, repoName: string | undefined): string {
  const foreign = chunk.repoName !== undefined && repoName !== undefined && chunk.repoName !== repoName;
  return foreign ? `${chunk.repoName}/${chunk.path}` : chunk.path;
}

export class ContextIndex {
  private readonly chunks = new Map<number, Chunk>();
  private readonly byUri = new Map<string, number[]>();
  private readonly postings = new Map<string, Set<number>>();
  private nextId = 0;

  get size(): number {
    return this.chunks.size;
  }

  set(uri: string, path: string, text: string, repoName?: string): void {
    this.remove(uri);
    const ids: number[] = [];
    for (const piece of chunkLines(text)) {
      const id = this.nextId++;
      const identifiers = identifiersOf(piece);
      this.chunks.set(id, { uri, path, repoName, text: piece, identifierCount: identifiers.size });
      for (const name of identifiers) {
        let list = this.postings.get(name);
        if (!list) this.postings.set(name, (list = new Set()));
        list.add(id);
      }
      ids.push(id);
    }
    this.byUri.set(uri, ids);
  }

  remove(uri: string): void {
    for (const id of this.byUri.get(uri) ?? []) {
      const chunk = this.chunks.get(id);
      if (!chunk) continue;
      for (const name of identifiersOf(chunk.text)) {
        const list = this.postings.get(name);
        list?.delete(id);
        if (list && list.size === 0) this.postings.delete(name);
      }
      this.chunks.delete(id);
    }
    this.byUri.delete(uri);
  }

  /**
   * The best chunks for `query` within `maxChars`, never from the file at `current` (its text is in
   * the FIM part already; matched by path and folder, not uri, so the bench's prefix and suffix
   * documents stay out too), ordered best LAST, labelled as seen from `current`'s folder.
   * Score: shared identifiers / sqrt(identifiers of the chunk), so a long chunk does not win by size.
   */
  pick(query: string, maxChars: number, current?: ContextLocation): ContextChunk[] {
    const shared = new Map<number, number>();
    for (const name of identifiersOf(query)) {
      const list = this.postings.get(name);
      if (!list || list.size > MAX_POSTINGS) continue;
      for (const id of list) shared.set(id, (shared.get(id) ?? 0) + 1);
    }
    const ranked: { id: number; score: number }[] = [];
    for (const [id, count] of shared) {
      const chunk = this.chunks.get(id)!;
      if (current && labelOf(chunk, current.repoName) === current.path) continue;
      ranked.push({ id, score: count / Math.sqrt(chunk.identifierCount) });
    }
    ranked.sort((a, b) => b.score - a.score || a.id - b.id);
    const chosen: ContextChunk[] = [];
    let used = 0;
    for (const { id } of ranked) {
      const chunk = this.chunks.get(id)!;
      if (used + chunk.text.length > maxChars) continue;
      chosen.push({ path: labelOf(chunk, current?.repoName), text: chunk.text });
      used += chunk.text.length;
      if (maxChars - used < 80) break;
    }
    return chosen.reverse();
  }
}
