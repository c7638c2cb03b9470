// Ghost-text completions while typing: FIM prefix/suffix around the cursor, debounced,
// cancelled with the editor's token, served from the cache when the very same request comes
// again (typing what a suggestion predicted is answered exactly by the decoder's memo).

import * as vscode from 'vscode';
import type { CompletionMode, DecodeStats } from '../protocol';
import type { CompletionCache } from './logic/completionCache';
import { chooseCompletionMode } from './logic/completionMode';
import { delayUnlessCancelled } from './logic/debounce';
import { DecoderError } from './logic/decoderClient';
import { shapeSuggestion } from './logic/suggestion';
import type { DecoderService } from './decoderService';
import { documentLocation, textAround } from './documentContext';
import { documentsBeingGenerated } from './generateCommand';
import { readSettings } from './settings';

const COMPLETE_TIMEOUT_MS = 20_000;

export interface CursorWindow {
  prefix: string;
  suffix: string;
  linePrefix: string;
  lineSuffix: string;
  mode: CompletionMode;
}

export function cursorWindow(document: vscode.TextDocument, position: vscode.Position): CursorWindow {
  const { prefix, suffix } = textAround(document, position);
  const line = document.lineAt(position.line).text;
  const linePrefix = line.slice(0, position.character);
  const lineSuffix = line.slice(position.character);
  return { prefix, suffix, linePrefix, lineSuffix, mode: chooseCompletionMode(linePrefix, lineSuffix) };
}

export class InlineCompletionProvider implements vscode.InlineCompletionItemProvider {
  constructor(
    private readonly decoder: DecoderService,
    private readonly cache: CompletionCache,
    private readonly onCompleted: (stats: DecodeStats) => void,
    private readonly log: vscode.LogOutputChannel,
    /** Changes to the corpus other than the document's own (their chunks are in the prompt). */
    private readonly contextVersion: (document: string) => number,
  ) {}

  async provideInlineCompletionItems(
    document: vscode.TextDocument,
    position: vscode.Position,
    context: vscode.InlineCompletionContext,
    token: vscode.CancellationToken,
  ): Promise<vscode.InlineCompletionItem[] | undefined> {
    const settings = readSettings();
    if (!settings.enabled || documentsBeingGenerated.has(document.uri.toString())) return undefined;
    const cursor = cursorWindow(document, position);
    const uri = document.uri.toString();
    const key = { document: uri, prefix: cursor.prefix, suffix: cursor.suffix, mode: cursor.mode, contextVersion: this.contextVersion(uri) };

    const hit = this.cache.lookup(key);
    if (hit) return this.items(hit.remaining, cursor, position);
    if (this.decoder.state.kind !== 'ready') return undefined;

    const explicit = context.triggerKind === vscode.InlineCompletionTriggerKind.Invoke;
    if (!explicit && !(await delayUnlessCancelled(settings.debounceMs, token))) return undefined;

    const handle = this.decoder.request('complete', {
      prefix: cursor.prefix,
      suffix: cursor.suffix,
      mode: cursor.mode,
      maxTokens: settings.maxTokens,
      strategy: settings.strategy,
      treeBudget: settings.treeBudget,
      ...documentLocation(document.uri),
    }, { timeoutMs: COMPLETE_TIMEOUT_MS });
    const cancellation = token.onCancellationRequested(() => handle.cancel());
    try {
      const result = await handle.result;
      if (result.stats.stopReason === 'cancelled') return undefined;
      this.cache.store(key, result.text);
      this.onCompleted(result.stats);
      if (token.isCancellationRequested) return undefined;
      return this.items(result.text, cursor, position);
    } catch (error) {
      const code = error instanceof DecoderError ? error.code : 'internal';
      if (code !== 'cancelled' && code !== 'not-running' && code !== 'exited') this.log.warn(`completion failed: ${(error as Error).message}`);
      return undefined;
    } finally {
      cancellation.dispose();
    }
  }

  private items(text: string, cursor: CursorWindow, position: vscode.Position): vscode.InlineCompletionItem[] | undefined {
    const shaped = shapeSuggestion(text, cursor);
    if (!shaped) return undefined;
    // The range starts at the cursor so the built-in "accept word" / "accept line" commands
    // can take the suggestion piece by piece.
    const range = new vscode.Range(position, position.translate(0, shaped.replaceLength));
    return [new vscode.InlineCompletionItem(shaped.insertText, range)];
  }
}
