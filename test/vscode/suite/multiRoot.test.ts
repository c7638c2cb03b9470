// Multi-root workspaces, in the session test/vscode/sessions.ts opens for this file: a
// `.code-workspace` with the folders `app` (the e2e workspace) and `lib`
// (test/fixtures/multi-root-lib), first with the fixture model, whose repo-level tokens make every
// completion's stats say what its prompt's header named, then with the shipped model (or
// MSN_TEST_MODEL), whose completions show as ghost text.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { MsnCompleteApi } from '../../../extension/host/extension';
import type { DecodeStats, PromptContext } from '../../../extension/protocol';
import { acceptInlineCompletion, editorWithCursorAfter, waitFor } from './editing';

const EXTENSION_ID = 'msn-complete.msn-complete';
/** Typed at the end of lib's src/vector.ts: app's file at the same path has `subtract` and `Vector`. */
const LIB_PROMPT = '\nexport function subtract(a: Vector, b: Vector): Vector {\n  return ';
/** Typed at the end of app's src/vector.ts: lib's files have `Vector3`. */
const APP_PROMPT = '\nexport function flatten(a: Vector3): Vector {\n  return ';
/** For the ghost text in lib: a prompt of its own, so no cache answers it. */
const GHOST_PROMPT = '\nexport function cross3(a: Vector3, b: Vector3): Vector3 {\n  return ';

function folderNamed(name: string): vscode.WorkspaceFolder {
  const folder = vscode.workspace.workspaceFolders?.find((f) => f.name === name);
  assert.ok(folder, `the workspace has a folder "${name}": ${vscode.workspace.workspaceFolders?.map((f) => f.name)}`);
  return folder;
}

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((relative) => fs.statSync(path.join(dir, relative)).isFile());
}

/** Appends `prompt` to `relative` in `folder`, asks for ghost text, and returns the stats of the decoder's answer. */
async function completeAtEnd(api: MsnCompleteApi, folder: vscode.WorkspaceFolder, relative: string, prompt: string): Promise<DecodeStats> {
  await editorWithCursorAfter(vscode.Uri.joinPath(folder.uri, relative), prompt);
  const before = api.recentStats().length;
  await vscode.commands.executeCommand('editor.action.inlineSuggest.trigger');
  const stats = await waitFor(`a completion in ${folder.name}/${relative}`, () => api.recentStats().slice(before)[0], 60_000);
  assert.notEqual(stats.stopReason, 'cancelled', `the decoder answered: ${JSON.stringify(stats)}`);
  return stats;
}

/**
 * Every file the header names is a real file of the right folder, `<other folder>/path` one of the
 * other folder, a bare path one of the current folder; the current file itself is never among them.
 */
function assertFilesResolve(context: PromptContext, current: vscode.WorkspaceFolder, other: vscode.WorkspaceFolder): void {
  for (const file of context.files) {
    const foreign = file.startsWith(`${other.name}/`);
    const [folder, relative] = foreign ? [other, file.slice(other.name.length + 1)] : [current, file];
    assert.ok(fs.existsSync(path.join(folder.uri.fsPath, relative)), `${file} is a file of ${folder.name}: ${JSON.stringify(context)}`);
    assert.ok(foreign || relative !== context.path, `the current file is not its own context: ${JSON.stringify(context)}`);
  }
}

describe('MSN Complete in a multi-root workspace', function () {
  let api: MsnCompleteApi;

  before(async function () {
    const extension = vscode.extensions.getExtension<MsnCompleteApi>(EXTENSION_ID);
    assert.ok(extension, `${EXTENSION_ID} is installed`);
    api = await extension.activate();
    assert.equal(await api.whenReady(120_000), true, `decoder state: ${api.decoderState()}`);
  });

  afterEach(async function () {
    await vscode.commands.executeCommand('workbench.action.files.revert');
  });

  it('indexes the files of both folders into the retrieval corpus', async function () {
    assert.deepEqual(vscode.workspace.workspaceFolders?.map((f) => f.name), ['app', 'lib']);
    const expected = filesUnder(folderNamed('app').uri.fsPath).length + filesUnder(folderNamed('lib').uri.fsPath).length;
    const indexed = () => api.corpusSize()?.documents === expected;
    await waitFor(`${expected} corpus documents`, indexed, 60_000).catch((error: Error) => {
      throw new Error(`${error.message}; the decoder has ${JSON.stringify(api.corpusSize())}, open documents: ${vscode.workspace.textDocuments.map((d) => d.uri.toString())}`);
    });
  });

  it('a document opened and closed again leaves the corpus (VS Code itself may do so, e.g. with the workspace file)', async function () {
    const indexed = api.corpusSize()?.documents ?? 0;
    const untitled = await vscode.workspace.openTextDocument({ content: 'def scratch():\n    return 1\n', language: 'python' });
    await vscode.window.showTextDocument(untitled);
    await waitFor('the open document in the corpus', () => api.corpusSize()?.documents === indexed + 1, 30_000);
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    await waitFor(`the corpus back to ${indexed} documents (now ${api.corpusSize()?.documents})`, () => api.corpusSize()?.documents === indexed, 30_000);
  });

  it('a prompt in the second folder names that folder and the path inside it, and app\'s file of the same path as app\'s', async function () {
    const lib = folderNamed('lib');
    const { context } = await completeAtEnd(api, lib, 'src/vector.ts', LIB_PROMPT);
    assert.ok(context, 'the prompt has a repo-level header');
    assert.equal(context.repoName, 'lib');
    assert.equal(context.path, 'src/vector.ts');
    assert.ok(context.files.includes('app/src/vector.ts'), `app's src/vector.ts is context, named as app's: ${JSON.stringify(context)}`);
    assertFilesResolve(context, lib, folderNamed('app'));
  });

  it('and one in the first folder the other way round', async function () {
    const app = folderNamed('app');
    const { context } = await completeAtEnd(api, app, 'src/vector.ts', APP_PROMPT);
    assert.ok(context, 'the prompt has a repo-level header');
    assert.equal(context.repoName, 'app');
    assert.equal(context.path, 'src/vector.ts');
    assert.ok(context.files.some((f) => f.startsWith('lib/')), `lib's files are context, named as lib's: ${JSON.stringify(context)}`);
    assertFilesResolve(context, app, folderNamed('lib'));
  });

  it('with a trained model, ghost text in a file of the second folder is accepted', async function () {
    // Global, as Select Model… writes it: VS Code puts a machine-scoped setting into the machine's file.
    const config = vscode.workspace.getConfiguration('msnComplete');
    const previous = api.decoderPid();
    await config.update('modelPath', process.env.MSN_VSCODE_MODEL || undefined, vscode.ConfigurationTarget.Global);
    await waitFor('the decoding process restarted on the model', () => {
      const pid = api.decoderPid();
      return pid !== undefined && pid !== previous && api.decoderState() === 'ready';
    }, 120_000, 200);
    const editor = await editorWithCursorAfter(vscode.Uri.joinPath(folderNamed('lib').uri, 'src/vector.ts'), GHOST_PROMPT);
    const inserted = await acceptInlineCompletion(api, editor);
    assert.ok(inserted.trim().length > 0, `accepted completion is not blank: ${JSON.stringify(inserted)}`);
  });
});
