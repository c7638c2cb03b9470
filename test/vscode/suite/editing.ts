// What the extension-host tests do in an editor: wait, put a prompt at the end of a file, accept
// ghost text. Shared by the suite's files (index.ts runs only *.test.js).
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { MsnCompleteApi } from '../../../extension/host/extension';

export async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs: number, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Opens a file as saved, appends `appended` and puts the cursor after it. */
export async function editorWithCursorAfter(uri: vscode.Uri, appended: string): Promise<vscode.TextEditor> {
  const document = await vscode.workspace.openTextDocument(uri);
  const editor = await vscode.window.showTextDocument(document, { preview: false });
  await vscode.commands.executeCommand('workbench.action.files.revert');
  const end = document.lineAt(document.lineCount - 1).range.end;
  assert.ok(await editor.edit((b) => b.insert(end, appended)), 'prompt inserted');
  const cursor = document.positionAt(document.getText().length);
  editor.selection = new vscode.Selection(cursor, cursor);
  return editor;
}

/** Asks for ghost text explicitly and accepts it; returns the text it inserted. */
export async function acceptInlineCompletion(api: MsnCompleteApi, editor: vscode.TextEditor): Promise<string> {
  const before = editor.document.getText();
  const completionsBefore = api.recentStats().length;
  await vscode.commands.executeCommand('editor.action.inlineSuggest.trigger');
  await waitFor('the decoder to answer a completion request', () => api.recentStats().length > completionsBefore, 60_000);
  // The suggestion is shown asynchronously after the provider returns; commit is a no-op until then.
  const answer = JSON.stringify(api.recentStats().at(-1));
  await waitFor(`ghost text to be accepted (the decoder's answer: ${answer})`, async () => {
    await vscode.commands.executeCommand('editor.action.inlineSuggest.commit');
    return editor.document.getText() !== before || undefined;
  }, 15_000, 250);
  const after = editor.document.getText();
  assert.ok(after.startsWith(before), 'the completion was inserted at the cursor (end of the file)');
  return after.slice(before.length);
}
