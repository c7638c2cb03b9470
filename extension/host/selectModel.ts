// "MSN Complete: Select Model…" and "Select Decoding Strategy…". Select Model lists the models `npm run model`
// installed (logic/installedModels.ts), the shipped model and a folder picker for any model exported to
// msn-onnx/1. A folder that is clearly not a model gets one sentence and changes nothing; otherwise the
// setting is written and the decoding process restarts with it (and reports, naming the file, anything else
// that is wrong).

import * as vscode from 'vscode';
import { listAllInstalled, modelPicks, modelsHome } from './logic/installedModels';
import { modelFolderProblem } from './logic/modelFolder';
import { SECTION } from './settings';

export const SELECT_MODEL_COMMAND = 'msn-complete.selectModel';

export async function selectModel(): Promise<void> {
  const configuration = vscode.workspace.getConfiguration(SECTION);
  const current = configuration.inspect<string>('modelPath')?.globalValue ?? '';
  const home = modelsHome();
  const picks = modelPicks(await listAllInstalled(home, current), current, home);
  const picked = await vscode.window.showQuickPick(picks, { title: 'MSN Complete: model', matchOnDescription: true });
  if (!picked) return;
  if (picked.modelPath === undefined) return browseForModel();
  await configuration.update('modelPath', picked.modelPath, vscode.ConfigurationTarget.Global);
  void vscode.window.setStatusBarMessage(`MSN Complete: loading ${picked.modelPath ? picked.modelPath : 'the shipped model'}`, 5000);
}

/** The folder picker: any folder with a model exported to msn-onnx/1. */
async function browseForModel(): Promise<void> {
  const picked = await vscode.window.showOpenDialog({
    canSelectFolders: true, canSelectFiles: false, canSelectMany: false, openLabel: 'Use this model',
    title: 'MSN Complete: a model folder (model.onnx, tokenizer.json, msn.json)',
  });
  const folder = picked?.[0];
  if (!folder) return;
  const entries = await vscode.workspace.fs.readDirectory(folder);
  const files = entries.filter(([, type]) => (type & vscode.FileType.File) !== 0).map(([name]) => name);
  let msnJson: string | undefined;
  if (files.includes('msn.json')) msnJson = new TextDecoder().decode(await vscode.workspace.fs.readFile(vscode.Uri.joinPath(folder, 'msn.json')));
  const problem = modelFolderProblem({ files, msnJson });
  if (problem) {
    void vscode.window.showErrorMessage(`MSN Complete: ${folder.fsPath} is not a model folder. ${problem}`);
    return;
  }
  await vscode.workspace.getConfiguration(SECTION).update('modelPath', folder.fsPath, vscode.ConfigurationTarget.Global);
  void vscode.window.setStatusBarMessage(`MSN Complete: loading the model in ${folder.fsPath}`, 5000);
}

export const SELECT_STRATEGY_COMMAND = 'msn-complete.selectStrategy';

/** "MSN Complete: Select Decoding Strategy…": tr-jacobi (fast) or ar (plain greedy, the reference); the text is the same. */
export async function selectStrategy(): Promise<void> {
  const picked = await vscode.window.showQuickPick([
    { label: 'tr-jacobi', description: 'draft trees verified in one pass (default)' },
    { label: 'ar', description: 'plain greedy, one token per pass: the reference, for comparing speed' },
  ], { title: 'MSN Complete: decoding strategy (both give exactly the same text)' });
  if (picked) await vscode.workspace.getConfiguration(SECTION).update('strategy', picked.label, vscode.ConfigurationTarget.Global);
}
