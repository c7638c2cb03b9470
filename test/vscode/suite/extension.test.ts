// The real extension, with the real shipped model, inside a real VS Code (code-server).
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { MsnCompleteApi } from '../../../extension/host/extension';
import { acceptInlineCompletion, editorWithCursorAfter as editorWithCursorAfterIn, waitFor } from './editing';

const EXTENSION_ID = 'msn-complete.msn-complete';
/** extension/speedup.ts MIN_SPEED_TOKENS (the suite runs compiled file by file, without the extension's sources). */
const MIN_SPEED_TOKENS = 8;
const COMMANDS = [
  'msn-complete.generate',
  'msn-complete.toggleInline',
  'msn-complete.showStats',
  'msn-complete.restartDecoder',
  'msn-complete.selectModel',
  'msn-complete.selectStrategy',
  'msn-complete.reindexWorkspace',
];
/** Text the tests add at the end of a workspace file, with the cursor after it. */
const COMPLETION_PROMPT = '\nexport function midpoint(a: Vector, b: Vector): Vector {\n  return ';
/** A different prompt: a repeated one would be served from the extension's completion cache. */
const SECOND_PROMPT = '\nexport function trace(m: Matrix): number {\n  return ';

function workspaceFile(relative: string): vscode.Uri {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'a workspace folder is open');
  return vscode.Uri.joinPath(folder.uri, relative);
}

/** Opens a workspace file as saved, appends `appended` and puts the cursor after it. */
function editorWithCursorAfter(relative: string, appended: string): Promise<vscode.TextEditor> {
  return editorWithCursorAfterIn(workspaceFile(relative), appended);
}

describe('MSN Complete in a real VS Code', function () {
  let extension: vscode.Extension<MsnCompleteApi>;
  let api: MsnCompleteApi;

  before(async function () {
    const found = vscode.extensions.getExtension<MsnCompleteApi>(EXTENSION_ID);
    assert.ok(found, `${EXTENSION_ID} is installed`);
    extension = found;
    api = await extension.activate();
  });

  afterEach(async function () {
    await vscode.commands.executeCommand('workbench.action.files.revert');
  });

  it('activates and loads its model', async function () {
    assert.equal(extension.isActive, true);
    const ready = await api.whenReady(120_000);
    assert.equal(ready, true, `decoder state after 120 s: ${api.decoderState()}`);
    assert.ok(api.decoderPid(), 'the decoding process has a pid');
  });

  it('registers and contributes its commands', async function () {
    const registered = await vscode.commands.getCommands(true);
    for (const command of COMMANDS) assert.ok(registered.includes(command), `${command} is registered`);
    const contributed = (extension.packageJSON.contributes.commands as { command: string }[]).map((c) => c.command);
    assert.deepEqual([...contributed].sort(), [...COMMANDS].sort());
  });

  it('shows a model completion as ghost text and inserts it on accept', async function () {
    const editor = await editorWithCursorAfter('src/vector.ts', COMPLETION_PROMPT);
    const inserted = await acceptInlineCompletion(api, editor);
    assert.ok(inserted.trim().length > 0, `accepted completion is not blank: ${JSON.stringify(inserted)}`);
    const stats = api.recentStats().at(-1);
    assert.ok(stats && stats.tokens > 0 && stats.tokensPerSecond > 0, `stats of the completion: ${JSON.stringify(stats)}`);
    // A speed figure needs a completion long enough to mean anything.
    const measurable = api.recentStats().some((s) => s.tokens >= MIN_SPEED_TOKENS && s.stopReason !== 'cancelled');
    if (measurable) assert.match(api.statusText(), /tok\/s/, `status bar shows the speed: ${api.statusText()}`);
    else assert.match(api.statusText(), /MSN: ready/, `no figure from too short a completion: ${api.statusText()}`);
  });

  it('Generate inserts text as one undoable edit', async function () {
    const editor = await editorWithCursorAfter('src/vector.ts', COMPLETION_PROMPT);
    const original = editor.document.getText();
    await vscode.commands.executeCommand('msn-complete.generate');
    const generated = editor.document.getText();
    assert.ok(generated.length > original.length, `Generate inserted text (last decode: ${JSON.stringify(api.recentStats().at(-1))})`);
    assert.ok(generated.startsWith(original), 'the text was inserted at the cursor (end of the file)');
    await vscode.window.showTextDocument(editor.document);
    await vscode.commands.executeCommand('workbench.action.focusActiveEditorGroup');
    await vscode.commands.executeCommand('undo');
    if (editor.document.getText() !== original) {
      // Say whether the edit was split into several undo steps or undo did not reach the editor.
      let undos = 1;
      while (editor.document.getText() !== original && undos < 50) {
        await vscode.commands.executeCommand('undo');
        undos += 1;
      }
      const outcome = editor.document.getText() === original ? `${undos} undos were needed` : `${undos} undos did not restore it`;
      assert.fail(`one undo should restore the original text, but ${outcome}; generated ${JSON.stringify(generated.slice(original.length))}`);
    }
  });

  it('restarts the decoding process after it is killed, and completes again', async function () {
    const killed = api.decoderPid();
    assert.ok(killed, 'decoder running');
    process.kill(killed, 'SIGKILL');
    await waitFor('a new decoding process', () => {
      const pid = api.decoderPid();
      return pid !== undefined && pid !== killed && api.decoderState() === 'ready' ? pid : undefined;
    }, 120_000, 200);
    const editor = await editorWithCursorAfter('src/matrix.ts', SECOND_PROMPT);
    const inserted = await acceptInlineCompletion(api, editor);
    assert.ok(inserted.length > 0, 'a completion after the restart');
  });

  it('Generate keeps what it streamed as one undo step when the decoder is killed mid-way, and completions work after', async function () {
    const config = vscode.workspace.getConfiguration('msnComplete');
    await config.update('generateMaxTokens', 4096, vscode.ConfigurationTarget.Global);
    try {
      const editor = await editorWithCursorAfter('src/vector.ts', COMPLETION_PROMPT);
      const original = editor.document.getText();
      const killed = api.decoderPid();
      assert.ok(killed);
      const generating = vscode.commands.executeCommand('msn-complete.generate');
      await new Promise((resolve) => setTimeout(resolve, 400));
      process.kill(killed, 'SIGKILL');
      await generating;
      const after = editor.document.getText();
      assert.ok(after.startsWith(original), 'nothing before the cursor changed');
      if (after !== original) {
        await vscode.window.showTextDocument(editor.document);
        await vscode.commands.executeCommand('undo');
        assert.equal(editor.document.getText(), original, 'the partial text is one undo step');
      }
      await waitFor('a new decoding process', () => {
        const pid = api.decoderPid();
        return pid !== undefined && pid !== killed && api.decoderState() === 'ready' ? pid : undefined;
      }, 120_000, 200);
      const next = await editorWithCursorAfter('src/matrix.ts', SECOND_PROMPT);
      assert.ok((await acceptInlineCompletion(api, next)).length > 0, 'a completion after the crash');
    } finally {
      await config.update('generateMaxTokens', undefined, vscode.ConfigurationTarget.Global);
    }
  });
});
