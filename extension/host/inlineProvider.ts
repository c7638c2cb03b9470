// Ghost-text completions while typing: FIM prefix/suffix around the cursor, debounced,
// cancelled with the editor's token, served from the cache when the very same request comes
// again (typing what a suggestion predicted is answered exactly by the decoder's memo).

import * as vscode from 'vscode';
import type { DecodeStats } from '../protocol';
import type { CompletionCache, CompletionRequestKey } from './logic/completionCache';
import type { HostTimings } from './logic/statsHistory';
import { windowAfterAccept, type CursorWindow } from './logic/cursorWindow';
import { delayUnlessCancelled } from './logic/debounce';
import { DecoderError, type RequestHandle } from './logic/decoderClient';
import { shapeSuggestion } from './logic/suggestion';
import type { DecoderService } from './decoderService';
import { cursorWindow, documentLocation } from './documentContext';
import { isGenerating } from './generateCommand';
import { readSettings, type Settings } from './settings';

const COMPLETE_TIMEOUT_MS = 20_000;

export class InlineCompletionProvider implements vscode.InlineCompletionItemProvider {
  constructor(
    private readonly decoder: DecoderService,
    private readonly cache: CompletionCache,
    private readonly onCompleted: (stats: DecodeStats, host: HostTimings) => void,
    private readonly log: vscode.LogOutputChannel,
    /** Changes to the corpus other than the document's own (their chunks are in the prompt). */
    private readonly contextVersion: (document: string) => number,
  ) {}

  /** Told when a suggestion came from the cache (the log says so: a latency without a request). */
  onCacheHit?: (calledAt: number, answeredAt: number) => void;

  /** The speculative request for the position after accepting the last suggestion, while it runs. */
  private speculation: { id: string; handle: RequestHandle<'complete'> } | null = null;

  async provideInlineCompletionItems(
    document: vscode.TextDocument,
    position: vscode.Position,
    context: vscode.InlineCompletionContext,
    token: vscode.CancellationToken,
  ): Promise<vscode.InlineCompletionItem[] | undefined> {
    const calledAt = Date.now();
    const settings = readSettings();
    if (!settings.enabled || isGenerating(document.uri.toString())) return undefined;
    const cursor = cursorWindow(document, position);
    const uri = document.uri.toString();
    const key = this.keyFor(uri, cursor, settings);

    const hit = this.cache.lookup(key);
    if (hit) {
      const items = this.offer(document, hit.remaining, cursor, position, settings);
      this.onCacheHit?.(calledAt, Date.now());
      return items;
    }
    // A speculation for another spot would only delay this request.
    if (this.speculation && this.speculation.id !== JSON.stringify(key)) this.speculation.handle.cancel();
    if (this.decoder.state.kind !== 'ready') return undefined;

    const explicit = context.triggerKind === vscode.InlineCompletionTriggerKind.Invoke;
    const debounceStart = performance.now();
    if (!explicit && !(await delayUnlessCancelled(settings.debounceMs, token))) return undefined;
    const debounceMs = performance.now() - debounceStart;

    const sentAt = performance.now();
    const handle = this.request(document, cursor, settings);
    const cancellation = token.onCancellationRequested(() => handle.cancel());
    try {
      const result = await handle.result;
      if (result.stats.stopReason === 'cancelled') return undefined;
      this.cache.store(key, result.text);
      const roundTripMs = performance.now() - sentAt;
      if (token.isCancellationRequested) return undefined;
      const items = this.offer(document, result.text, cursor, position, settings);
      this.onCompleted(result.stats, {
        debounceMs, roundTripMs, cached: false, speculative: false, calledAt, answeredAt: Date.now(), openRequests: this.decoder.openRequests,
      });
      return items;
    } catch (error) {
      const code = error instanceof DecoderError ? error.code : 'internal';
      if (code !== 'cancelled' && code !== 'not-running' && code !== 'exited') this.log.warn(`completion failed: ${(error as Error).message}`);
      return undefined;
    } finally {
      cancellation.dispose();
    }
  }

  private keyFor(uri: string, cursor: CursorWindow, settings: Settings): CompletionRequestKey {
    return {
      document: uri, prefix: cursor.prefix, suffix: cursor.suffix, mode: cursor.mode, contextVersion: this.contextVersion(uri),
      strategy: settings.strategy, workspaceMixture: settings.workspaceMixture,
    };
  }

  private request(document: vscode.TextDocument, cursor: CursorWindow, settings: Settings): RequestHandle<'complete'> {
    return this.decoder.request('complete', {
      prefix: cursor.prefix,
      suffix: cursor.suffix,
      mode: cursor.mode,
      maxTokens: settings.maxTokens,
      strategy: settings.strategy,
      treeBudget: settings.treeBudget,
      workspaceMixture: settings.workspaceMixture,
      ...documentLocation(document.uri),
    }, { timeoutMs: COMPLETE_TIMEOUT_MS });
  }

  /** Shows `text` and, in the background, asks for the suggestion that follows it once accepted. */
  private offer(document: vscode.TextDocument, text: string, cursor: CursorWindow, position: vscode.Position, settings: Settings) {
    const shaped = shapeSuggestion(text, cursor);
    if (!shaped) return undefined;
    this.speculate(document, position, shaped.insertText, shaped.replaceLength, settings);
    return this.items(shaped.insertText, shaped.replaceLength, position);
  }

  /**
   * Speculative next suggestion (llama.vscode's "speculative FIM"): the window the document will
   * have after Tab is computed exactly as the live one, so accepting finds the answer in the cache.
   */
  private speculate(document: vscode.TextDocument, position: vscode.Position, insertText: string, replaceLength: number, settings: Settings): void {
    const uri = document.uri.toString();
    const next = windowAfterAccept(document.getText(), document.offsetAt(position), insertText, replaceLength);
    const key = this.keyFor(uri, next, settings);
    const id = JSON.stringify(key);
    if (this.cache.lookup(key) || this.speculation?.id === id || this.decoder.state.kind !== 'ready') return;
    this.speculation?.handle.cancel();
    const sentAt = performance.now();
    const handle = this.request(document, next, settings);
    const speculation = { id, handle };
    this.speculation = speculation;
    handle.result.then((result) => {
      if (result.stats.stopReason !== 'cancelled') {
        this.cache.store(key, result.text);
        const now = Date.now();
        this.onCompleted(result.stats, {
          debounceMs: 0, roundTripMs: performance.now() - sentAt, cached: false, speculative: true, calledAt: now, answeredAt: now,
          openRequests: this.decoder.openRequests,
        });
      }
    }, () => undefined).finally(() => {
      if (this.speculation === speculation) this.speculation = null;
    });
  }

  private items(insertText: string, replaceLength: number, position: vscode.Position): vscode.InlineCompletionItem[] {
    // The range starts at the cursor so the built-in "accept word" / "accept line" commands
    // can take the suggestion piece by piece.
    const range = new vscode.Range(position, position.translate(0, replaceLength));
    return [new vscode.InlineCompletionItem(insertText, range)];
  }
}
