// "MSN Complete: Generate": generates at the cursor (or after the selection). The text
// streams in as a live preview at the insertion point and lands as ONE edit, so a single
// undo removes it. (Streaming real edits cannot promise that: anything that closes the
// undo group mid-stream, e.g. the auto-save that browser-hosted VS Code enables by default,
// would split the generation into several undo steps.)

import * as vscode from 'vscode';
import type { DecodeStats } from '../protocol';
import { DecoderError } from './logic/decoderClient';
import { shiftOffset } from './logic/offsetTracking';
import type { DecoderService } from './decoderService';
import { cursorWindow, documentLocation } from './documentContext';
import { readSettings } from './settings';

export const GENERATE_COMMAND = 'msn-complete.generate';

/** Documents Generate is working in: inline completions stay quiet there meanwhile. */
const documentsBeingGenerated = new Set<string>();

/** Whether Generate is writing into the document with this uri right now. */
export function isGenerating(documentUri: string): boolean {
  return documentsBeingGenerated.has(documentUri);
}

const PREVIEW_INTERVAL_MS = 50;
const PREVIEW_CHARS = 120;

export async function runGenerate(decoder: DecoderService, onCompleted: (stats: DecodeStats) => void): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor) {
    void vscode.window.showInformationMessage('MSN Complete: open a file and place the cursor where text should be generated.');
    return;
  }
  const settings = readSettings();
  const document = editor.document;
  const anchor = editor.selection.isEmpty ? editor.selection.active : editor.selection.end;
  const { prefix, suffix } = cursorWindow(document, anchor);

  await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'MSN Complete: generating', cancellable: true }, async (progress, token) => {
    if (decoder.state.kind !== 'ready') {
      progress.report({ message: 'waiting for the decoder…' });
      if (!(await decoder.whenReady(60_000))) {
        void vscode.window.showErrorMessage('MSN Complete: the decoder is not running. Run "MSN Complete: Restart Decoder".');
        return;
      }
    }
    if (token.isCancellationRequested) return;
    const insertion = new StreamingInsertion(editor, document.offsetAt(anchor));
    const documentKey = document.uri.toString();
    documentsBeingGenerated.add(documentKey);
    const handle = decoder.request('generate', {
      prefix,
      suffix,
      maxTokens: settings.generateMaxTokens,
      strategy: settings.strategy,
      treeBudget: settings.treeBudget,
      workspaceMixture: settings.workspaceMixture,
      ...documentLocation(document.uri),
    }, {
      onChunk: (text) => {
        insertion.append(text);
        progress.report({ message: `${insertion.text.length} characters…` });
      },
    });
    const cancellation = token.onCancellationRequested(() => handle.cancel());
    try {
      const result = await handle.result;
      // Chunks concatenate to the final text; the final text is authoritative.
      insertion.replaceAll(result.text);
      await insertion.commit();
      onCompleted(result.stats);
    } catch (error) {
      // Cancelled or failed mid-way: keep what was generated, as streaming would have.
      await insertion.commit();
      if (!(error instanceof DecoderError && error.code === 'cancelled')) {
        void vscode.window.showErrorMessage(`MSN Complete: generation failed: ${(error as Error).message}`);
      }
    } finally {
      cancellation.dispose();
      insertion.dispose();
      documentsBeingGenerated.delete(documentKey);
    }
  });
}

/**
 * Collects streamed text for one insertion point, shows it as it arrives (a ghost-styled
 * decoration with the latest line), follows the point through the user's own edits, and
 * inserts everything with one edit.
 */
class StreamingInsertion implements vscode.Disposable {
  text = '';
  private readonly decoration = vscode.window.createTextEditorDecorationType({
    after: { color: new vscode.ThemeColor('editorGhostText.foreground'), fontStyle: 'italic' },
  });
  private readonly tracking: vscode.Disposable;
  private previewTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly editor: vscode.TextEditor, private offset: number) {
    this.tracking = vscode.workspace.onDidChangeTextDocument((event) => {
      if (event.document === editor.document) this.offset = shiftOffset(this.offset, event.contentChanges);
    });
  }

  append(text: string): void {
    this.text += text;
    this.schedulePreview();
  }

  replaceAll(text: string): void {
    this.text = text;
  }

  /** Inserts the collected text (if any) as one undo step. */
  async commit(): Promise<void> {
    this.clearPreview();
    if (this.text === '') return;
    const document = this.editor.document;
    const edit = new vscode.WorkspaceEdit();
    edit.insert(document.uri, document.positionAt(this.offset), this.text);
    if (!(await vscode.workspace.applyEdit(edit))) {
      void vscode.window.showWarningMessage('MSN Complete: the generated text could not be inserted (the document changed or was closed).');
    }
  }

  dispose(): void {
    this.clearPreview();
    this.tracking.dispose();
    this.decoration.dispose();
  }

  private schedulePreview(): void {
    if (this.previewTimer) return;
    this.previewTimer = setTimeout(() => {
      this.previewTimer = null;
      const lines = this.text.split('\n');
      const lastLine = lines[lines.length - 1];
      const shown = lastLine.length > PREVIEW_CHARS ? `…${lastLine.slice(-PREVIEW_CHARS)}` : lastLine;
      const label = lines.length > 1 ? `⟨${lines.length - 1} lines⟩ ${shown}` : shown;
      const position = this.editor.document.positionAt(this.offset);
      this.editor.setDecorations(this.decoration, [{ range: new vscode.Range(position, position), renderOptions: { after: { contentText: label } } }]);
    }, PREVIEW_INTERVAL_MS);
  }

  private clearPreview(): void {
    if (this.previewTimer) clearTimeout(this.previewTimer);
    this.previewTimer = null;
    this.editor.setDecorations(this.decoration, []);
  }
}
