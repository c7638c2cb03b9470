// "MSN Complete: Generate": streams a generation into the editor at the cursor (or after the
// selection) as one undoable edit, with a cancellable progress notification.

import * as vscode from 'vscode';
import type { DecodeStats } from '../protocol';
import { DecoderError } from './logic/decoderClient';
import { shiftOffset } from './logic/offsetTracking';
import type { DecoderService } from './decoderService';
import { textAround } from './documentContext';
import { readSettings } from './settings';

export const GENERATE_COMMAND = 'msn-complete.generate';

/**
 * Documents Generate is streaming into. Inline completions stay quiet there: ghost text
 * popping up between the streamed edits would flicker and can split the undo group.
 */
export const documentsBeingGenerated = new Set<string>();

export async function runGenerate(decoder: DecoderService, onCompleted: (stats: DecodeStats) => void): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor) {
    void vscode.window.showInformationMessage('MSN Complete: open a file and place the cursor where text should be generated.');
    return;
  }
  const settings = readSettings();
  const document = editor.document;
  const anchor = editor.selection.isEmpty ? editor.selection.active : editor.selection.end;
  const offset = document.offsetAt(anchor);
  const { prefix, suffix } = textAround(document, anchor);

  await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'MSN Complete: generating', cancellable: true }, async (progress, token) => {
    if (decoder.state.kind !== 'ready') {
      progress.report({ message: 'waiting for the decoder…' });
      if (!(await decoder.whenReady(60_000))) {
        void vscode.window.showErrorMessage('MSN Complete: the decoder is not running. Run "MSN Complete: Restart Decoder".');
        return;
      }
    }
    if (token.isCancellationRequested) return;
    const streamer = new EditorStreamer(editor, offset);
    const documentKey = document.uri.toString();
    documentsBeingGenerated.add(documentKey);
    const handle = decoder.request('generate', {
      prefix,
      suffix,
      maxTokens: settings.generateMaxTokens,
      strategy: settings.strategy,
      treeBudget: settings.treeBudget,
    }, { onChunk: (text) => streamer.push(text) });
    const cancellation = token.onCancellationRequested(() => handle.cancel());
    streamer.onFailure(() => handle.cancel());
    try {
      const result = await handle.result;
      // Chunks concatenate to the final text; insert whatever did not arrive as a chunk.
      if (result.text.startsWith(streamer.received)) streamer.push(result.text.slice(streamer.received.length));
      await streamer.finish();
      onCompleted(result.stats);
      const s = result.stats;
      progress.report({ message: `${s.tokens} tokens, ${s.tokensPerSecond.toFixed(0)} tokens/s` });
    } catch (error) {
      await streamer.finish();
      if (error instanceof DecoderError && error.code === 'cancelled') return;
      void vscode.window.showErrorMessage(`MSN Complete: generation failed: ${(error as Error).message}`);
    } finally {
      cancellation.dispose();
      streamer.dispose();
      documentsBeingGenerated.delete(documentKey);
    }
  });
}

/**
 * Inserts streamed text at a tracked offset. All edits but the first skip their undo stops
 * and the last one closes the group, so the whole generation is one undo step. The last
 * character is held back until the end so that closing edit always has text to carry.
 */
class EditorStreamer implements vscode.Disposable {
  private pending = '';
  private flushing: Promise<void> = Promise.resolve();
  private started = false;
  private failed = false;
  private failureListener: (() => void) | null = null;
  private readonly tracking: vscode.Disposable;

  constructor(private readonly editor: vscode.TextEditor, private offset: number) {
    this.tracking = vscode.workspace.onDidChangeTextDocument((event) => {
      if (event.document === editor.document) this.offset = shiftOffset(this.offset, event.contentChanges);
    });
  }

  onFailure(listener: () => void): void {
    this.failureListener = listener;
  }

  /** Everything pushed so far. */
  received = '';

  push(text: string): void {
    if (text === '') return;
    this.received += text;
    this.pending += text;
    this.flushing = this.flushing.then(() => this.flush(false));
  }

  async finish(): Promise<void> {
    this.flushing = this.flushing.then(() => this.flush(true));
    await this.flushing;
  }

  dispose(): void {
    this.tracking.dispose();
  }

  private async flush(final: boolean): Promise<void> {
    if (this.failed) return;
    const keep = final ? 0 : lastCodePointLength(this.pending);
    const text = this.pending.slice(0, this.pending.length - keep);
    if (text === '') return;
    this.pending = this.pending.slice(text.length);
    const first = !this.started;
    this.started = true;
    const position = this.editor.document.positionAt(this.offset);
    let applied = false;
    try {
      applied = await this.editor.edit((builder) => builder.insert(position, text), { undoStopBefore: first, undoStopAfter: final });
    } catch {
      applied = false;
    }
    if (!applied) {
      // The editor was closed or the edit was rejected: stop generating instead of losing text silently.
      this.failed = true;
      this.failureListener?.();
      void vscode.window.showWarningMessage('MSN Complete: generation stopped because the editor could not be edited.');
    }
  }
}

function lastCodePointLength(text: string): number {
  if (text.length === 0) return 0;
  const last = text.charCodeAt(text.length - 1);
  return last >= 0xdc00 && last <= 0xdfff && text.length > 1 ? 2 : 1;
}
