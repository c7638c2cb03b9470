// The workspaces the extension-host suite runs in, one VS Code session each: the e2e workspace as a
// single folder (every suite file but multiRoot*), and a multi-root workspace of two folders
// (multiRoot*.test.js): `app`, the e2e workspace again, and `lib`, test/fixtures/multi-root-lib,
// which has a file at the same relative path as one of app's.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { modelOverrideSettings, REPO_ROOT } from '../harness/codeServer';
import { copyWorkspace, E2E_WORKSPACE } from '../harness/workspace';

const MULTI_ROOT_LIB = path.join(REPO_ROOT, 'test/fixtures/multi-root-lib');
const FIXTURE_MODEL = path.join(REPO_ROOT, 'test/fixtures/tiny-model');

export type SessionName = 'folder' | 'multi-root';

export interface SuiteSession {
  /** Passed to the extension host as MSN_VSCODE_SESSION: suite/index.ts picks the files by it. */
  name: SessionName;
  /** What VS Code opens: a folder, or a `.code-workspace` file. */
  open: { folder: string } | { workspaceFile: string };
  machineSettings: Record<string, unknown>;
  /** More environment for the extension host (the suite reads it). */
  env: Record<string, string>;
}

/** Copies the workspaces into `scratch` (edits never reach the repository) and describes the sessions. */
export function prepareSessions(scratch: string): SuiteSession[] {
  const folder = copyWorkspace(E2E_WORKSPACE, path.join(scratch, 'workspace'));
  const multiRoot = path.join(scratch, 'multi-root');
  copyWorkspace(E2E_WORKSPACE, path.join(multiRoot, 'app'));
  copyWorkspace(MULTI_ROOT_LIB, path.join(multiRoot, 'lib'));
  const workspaceFile = path.join(multiRoot, 'two-folders.code-workspace');
  fs.writeFileSync(workspaceFile, JSON.stringify({ folders: [{ path: 'app' }, { path: 'lib' }] }, null, 2));
  const model = modelOverrideSettings();
  return [
    { name: 'folder', open: { folder }, machineSettings: model, env: {} },
    // First the fixture model, whatever MSN_TEST_MODEL says: what is checked is which folder and
    // paths the prompts name, and only a model with repo-level tokens gets that header (the shipped
    // one has none). Its random weights end every FIM completion at once, so the suite then switches
    // to MSN_VSCODE_MODEL (empty: the shipped model) to see ghost text in the second folder.
    {
      name: 'multi-root', open: { workspaceFile }, machineSettings: { 'msnComplete.modelPath': FIXTURE_MODEL },
      env: { MSN_VSCODE_MODEL: String(model['msnComplete.modelPath'] ?? '') },
    },
  ];
}
