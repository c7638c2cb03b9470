// Feeds the decoder's retrieval corpus: open documents (live text, unsaved edits included)
// and, in a trusted workspace, the workspace's source files, kept current on edit, save,
// create, delete and rename. Changes are coalesced (./logic/corpusQueue.ts) and sent in
// bounded batches, one at a time, so completions never wait behind a huge message.

import * as vscode from 'vscode';
import { corpusLocation } from './documentContext';
import { CorpusQueue } from './logic/corpusQueue';
import { KeyedDebouncer } from './logic/debounce';
import { DecoderError } from './logic/decoderClient';
import { enabledGlobs, looksBinary, skipReasonForPath, skipReasonForSize, type CorpusFilterOptions } from './logic/fileFilter';
import { shareCap } from './logic/folderShare';
import { GitignoreMatcher } from './logic/gitignore';
import type { DecoderService } from './decoderService';
import { readSettings } from './settings';
import type { StatusBar } from './statusBar';

/** ~100 ms of tokenizing in the decoder: a completion never waits long behind a batch. */
const BATCH_CHARS = 128 * 1024;
const EDIT_DEBOUNCE_MS = 400;
const FILE_EVENT_DEBOUNCE_MS = 300;
const READ_CONCURRENCY = 8;
const CORPUS_TIMEOUT_MS = 120_000;
/** Schemes whose documents are real text the user works on (not output panes, diffs of git objects, …). */
const DOCUMENT_SCHEMES = new Set(['file', 'untitled', 'vscode-remote', 'vscode-vfs', 'vscode-userdata']);

export class WorkspaceWatcher implements vscode.Disposable {
  private readonly queue = new CorpusQueue((uri) => corpusLocation(vscode.Uri.parse(uri)));
  /** Workspace files currently meant to be in the corpus (uri strings). */
  private workspaceFiles = new Set<string>();
  private readonly disposables: vscode.Disposable[] = [];
  private readonly editDebouncer: KeyedDebouncer<string>;
  private readonly fileDebouncer: KeyedDebouncer<string>;
  private pumping: Promise<void> | null = null;
  private indexRun = 0;
  /** The filter of the last scan, per workspace folder (each has its own .gitignore files). */
  private filters = new Map<string, CorpusFilterOptions>();

  constructor(private readonly decoder: DecoderService, private readonly status: StatusBar, private readonly log: vscode.LogOutputChannel) {
    this.editDebouncer = new KeyedDebouncer(EDIT_DEBOUNCE_MS, (uri) => this.refreshOpenDocument(uri));
    this.fileDebouncer = new KeyedDebouncer(FILE_EVENT_DEBOUNCE_MS, (uri) => void this.refreshWorkspaceFile(vscode.Uri.parse(uri)));
    const watcher = vscode.workspace.createFileSystemWatcher('**/*');
    this.disposables.push(
      watcher,
      watcher.onDidCreate((uri) => this.onFileEvent(uri)),
      watcher.onDidChange((uri) => this.onFileEvent(uri)),
      watcher.onDidDelete((uri) => this.onFileDeleted(uri)),
      vscode.workspace.onDidOpenTextDocument((document) => this.addOpenDocument(document)),
      vscode.workspace.onDidChangeTextDocument((event) => {
        if (isCorpusDocument(event.document) && event.contentChanges.length > 0) this.editDebouncer.schedule(event.document.uri.toString());
      }),
      vscode.workspace.onDidCloseTextDocument((document) => this.onDocumentClosed(document)),
      vscode.workspace.onDidGrantWorkspaceTrust(() => void this.reindex()),
      vscode.workspace.onDidChangeWorkspaceFolders(() => void this.reindex()),
      this.editDebouncer,
      this.fileDebouncer,
    );
  }

  /** Everything again from scratch, e.g. after the decoder (re)started with an empty corpus. */
  resync(): void {
    this.queue.forgetDecoderState();
    for (const document of vscode.workspace.textDocuments) this.addOpenDocument(document);
    void this.reindex();
  }

  /** Re-scans the workspace files (settings changed, trust granted, or on request). */
  async reindex(): Promise<void> {
    const run = ++this.indexRun;
    const settings = readSettings();
    if (!vscode.workspace.isTrusted) {
      this.log.info('restricted mode: indexing open documents only');
      this.dropWorkspaceFilesExcept(new Set());
      this.pump();
      return;
    }
    const folders = vscode.workspace.workspaceFolders ?? [];
    const filter: CorpusFilterOptions = {
      include: settings.corpusInclude,
      exclude: [...settings.corpusExclude, ...enabledGlobs(vscode.workspace.getConfiguration('files').get('exclude'))],
      maxFileSizeBytes: settings.corpusMaxFileSizeBytes,
      gitignores: [],
    };
    const perFolder: vscode.Uri[][] = [];
    const filters = new Map<string, CorpusFilterOptions>();
    for (const folder of folders) {
      const folderFilter = { ...filter, gitignores: await this.readGitignores(folder, filter.exclude) };
      filters.set(folder.uri.toString(), folderFilter);
      const found = await this.findFiles(folder, filter, settings.corpusMaxFiles);
      perFolder.push(found.filter((uri) => skipReasonForPath(vscode.workspace.asRelativePath(uri, false), folderFilter) === null));
    }
    if (run !== this.indexRun) return;
    this.filters = filters;
    const shares = shareCap(perFolder, settings.corpusMaxFiles);
    const selected = shares.flat();
    const matched = perFolder.reduce((n, uris) => n + uris.length, 0);
    this.dropWorkspaceFilesExcept(new Set(selected.map((uri) => uri.toString())));
    const split = folders.length > 1 ? `; ${folders.map((f, i) => `${f.name}: ${shares[i].length}`).join(', ')}` : '';
    this.log.info(`indexing ${selected.length} workspace files (${matched} matched${split})`);

    let done = 0;
    this.status.setIndexing({ done, total: selected.length });
    let next = 0;
    const worker = async () => {
      while (next < selected.length && run === this.indexRun) {
        const uri = selected[next++];
        await this.readIntoQueue(uri);
        done++;
        if (done % 20 === 0 || done === selected.length) this.status.setIndexing({ done, total: selected.length });
        this.pump();
      }
    };
    await Promise.all(Array.from({ length: READ_CONCURRENCY }, worker));
    if (run !== this.indexRun) return;
    this.status.setIndexing(null);
    this.pump();
  }

  dispose(): void {
    this.indexRun++;
    for (const disposable of this.disposables) disposable.dispose();
  }

  private async findFiles(folder: vscode.WorkspaceFolder, filter: CorpusFilterOptions, maxFiles: number): Promise<vscode.Uri[]> {
    // findFiles cannot take nested braces; brace-free excludes prune the search itself
    // (e.g. node_modules), the rest are applied afterwards by our own matcher.
    const simpleExcludes = filter.exclude.filter((glob) => !/[{}]/.test(glob));
    const exclude = simpleExcludes.length > 0 ? new vscode.RelativePattern(folder, `{${simpleExcludes.join(',')}}`) : undefined;
    const includes = filter.include.length > 0 ? filter.include : ['**/*'];
    const found = new Map<string, vscode.Uri>();
    for (const include of includes) {
      const uris = await vscode.workspace.findFiles(new vscode.RelativePattern(folder, include), exclude, maxFiles * 4 + 100);
      for (const uri of uris) found.set(uri.toString(), uri);
    }
    return [...found.values()].sort((a, b) => a.path.localeCompare(b.path));
  }

  private async readGitignores(folder: vscode.WorkspaceFolder, excludes: readonly string[]): Promise<GitignoreMatcher[]> {
    const simpleExcludes = excludes.filter((glob) => !/[{}]/.test(glob));
    const exclude = simpleExcludes.length > 0 ? new vscode.RelativePattern(folder, `{${simpleExcludes.join(',')}}`) : undefined;
    const files = await vscode.workspace.findFiles(new vscode.RelativePattern(folder, '**/.gitignore'), exclude, 200);
    const matchers: GitignoreMatcher[] = [];
    for (const file of files) {
      try {
        const text = new TextDecoder().decode(await vscode.workspace.fs.readFile(file));
        const relative = vscode.workspace.asRelativePath(file, false);
        const baseDir = relative.includes('/') ? relative.slice(0, relative.lastIndexOf('/')) : '';
        matchers.push(new GitignoreMatcher(text, baseDir));
      } catch (error) {
        this.log.warn(`could not read ${file.toString()}: ${(error as Error).message}`);
      }
    }
    return matchers;
  }

  /** Changes to the corpus other than `uri`'s own (a cached completion for `uri` is valid while it stays). */
  contextVersion(uri: string): number {
    return this.queue.versionExcluding(uri);
  }

  /** Reads a workspace file into the queue unless an open editor holds newer text. */
  private async readIntoQueue(uri: vscode.Uri): Promise<void> {
    const key = uri.toString();
    const open = openDocument(key);
    this.workspaceFiles.add(key);
    if (open) {
      this.addOpenDocument(open);
      return;
    }
    const maxBytes = readSettings().corpusMaxFileSizeBytes;
    try {
      const stat = await vscode.workspace.fs.stat(uri);
      if (skipReasonForSize(stat.size, { maxFileSizeBytes: maxBytes }) !== null) return this.forgetWorkspaceFile(key);
      const bytes = await vscode.workspace.fs.readFile(uri);
      if (looksBinary(bytes)) return this.forgetWorkspaceFile(key);
      this.queue.upsert(key, new TextDecoder().decode(bytes));
    } catch (error) {
      this.forgetWorkspaceFile(key);
      if (!(error instanceof vscode.FileSystemError)) this.log.warn(`could not read ${key}: ${(error as Error).message}`);
    }
  }

  private forgetWorkspaceFile(key: string): void {
    this.workspaceFiles.delete(key);
    this.queue.remove(key);
  }

  private dropWorkspaceFilesExcept(keep: ReadonlySet<string>): void {
    for (const key of [...this.workspaceFiles]) {
      if (keep.has(key)) continue;
      this.workspaceFiles.delete(key);
      if (!openDocument(key)) this.queue.remove(key);
    }
  }

  private addOpenDocument(document: vscode.TextDocument): void {
    if (!isCorpusDocument(document)) return;
    const text = document.getText();
    if (text.length > readSettings().corpusMaxFileSizeBytes) return;
    this.queue.upsert(document.uri.toString(), text);
    this.pump();
  }

  private refreshOpenDocument(uri: string): void {
    const document = openDocument(uri);
    if (document) this.addOpenDocument(document);
  }

  private onDocumentClosed(document: vscode.TextDocument): void {
    const key = document.uri.toString();
    this.editDebouncer.cancel(key);
    // Not isCorpusDocument: the document is closed already when this event comes, and a check of
    // `isClosed` kept every closed document in the corpus (and an edited workspace file at its edits).
    if (!DOCUMENT_SCHEMES.has(document.uri.scheme)) return;
    // A workspace file goes back to its saved text; anything else leaves the corpus.
    if (this.workspaceFiles.has(key)) void this.readIntoQueue(document.uri).then(() => this.pump());
    else {
      this.queue.remove(key);
      this.pump();
    }
  }

  private onFileEvent(uri: vscode.Uri): void {
    if (uri.path.endsWith('/.gitignore')) {
      void this.reindex();
      return;
    }
    this.fileDebouncer.schedule(uri.toString());
  }

  private onFileDeleted(uri: vscode.Uri): void {
    const key = uri.toString();
    this.fileDebouncer.cancel(key);
    if (uri.path.endsWith('/.gitignore')) {
      void this.reindex();
      return;
    }
    // A deleted folder arrives as one event for the folder.
    const folderPrefix = key.endsWith('/') ? key : `${key}/`;
    for (const file of [...this.workspaceFiles]) {
      if ((file === key || file.startsWith(folderPrefix)) && !openDocument(file)) this.forgetWorkspaceFile(file);
    }
    this.pump();
  }

  /** Created or changed on disk (saved, renamed to, written by a tool). */
  private async refreshWorkspaceFile(uri: vscode.Uri): Promise<void> {
    const folder = vscode.workspace.getWorkspaceFolder(uri);
    const filter = folder && this.filters.get(folder.uri.toString());
    if (!vscode.workspace.isTrusted || !filter) return;
    const key = uri.toString();
    if (openDocument(key)) return; // the live text wins
    if (skipReasonForPath(vscode.workspace.asRelativePath(uri, false), filter) !== null) return;
    const settings = readSettings();
    if (!this.workspaceFiles.has(key) && this.workspaceFiles.size >= settings.corpusMaxFiles) return;
    try {
      if ((await vscode.workspace.fs.stat(uri)).type & vscode.FileType.Directory) return;
    } catch {
      return;
    }
    await this.readIntoQueue(uri);
    this.pump();
  }

  /** Sends queued batches one at a time while the decoder is ready. */
  private pump(): void {
    if (this.pumping || this.queue.pendingCount === 0 || this.decoder.state.kind !== 'ready') return;
    this.pumping = (async () => {
      try {
        for (let batch = this.queue.takeBatch(BATCH_CHARS); batch; batch = this.queue.takeBatch(BATCH_CHARS)) {
          const result = await this.decoder.request(batch.method, batch.params as never, { timeoutMs: CORPUS_TIMEOUT_MS }).result;
          this.status.setCorpusSize(result as { documents: number; tokens: number });
        }
      } catch (error) {
        // A dead decoder loses its corpus anyway; resync() runs when it is ready again.
        if (!(error instanceof DecoderError && (error.code === 'exited' || error.code === 'not-running'))) {
          this.log.warn(`corpus update failed: ${(error as Error).message}`);
        }
      } finally {
        this.pumping = null;
      }
      if (this.queue.pendingCount > 0 && this.decoder.state.kind === 'ready') this.pump();
    })();
  }
}

function openDocument(uri: string): vscode.TextDocument | undefined {
  return vscode.workspace.textDocuments.find((document) => !document.isClosed && document.uri.toString() === uri);
}

function isCorpusDocument(document: vscode.TextDocument): boolean {
  return DOCUMENT_SCHEMES.has(document.uri.scheme) && !document.isClosed;
}
