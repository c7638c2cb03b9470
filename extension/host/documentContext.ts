// The text around a position, read from a document with bounded cost (see ./logic/cursorWindow.ts).

import * as vscode from 'vscode';
import type { DocumentLocation } from '../protocol';
import { cursorWindowAt, type CursorWindow } from './logic/cursorWindow';

export function cursorWindow(document: vscode.TextDocument, position: vscode.Position): CursorWindow {
  const lastLine = document.lineAt(document.lineCount - 1);
  const length = document.offsetAt(lastLine.range.end);
  const slice = (start: number, end: number) => document.getText(new vscode.Range(document.positionAt(start), document.positionAt(end)));
  return cursorWindowAt(length, document.offsetAt(position), slice);
}

/** Where a document sits, for repo-level prompts: its workspace-relative path and the folder's name. */
export function documentLocation(uri: vscode.Uri): Required<DocumentLocation> {
  const folder = vscode.workspace.getWorkspaceFolder(uri);
  const path = folder ? vscode.workspace.asRelativePath(uri, false) : uri.path.split('/').slice(-2).join('/');
  return { uri: uri.toString(), path, repoName: folder?.name ?? vscode.workspace.name ?? 'workspace' };
}
