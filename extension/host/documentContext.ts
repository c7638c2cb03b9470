// The text around a position, read from a document with bounded cost (see ./logic/cursorWindow.ts).

import * as vscode from 'vscode';
import type { DocumentLocation } from '../protocol';
import type { CorpusLocation } from './logic/corpusQueue';
import { cursorWindowAt, type CursorWindow } from './logic/cursorWindow';

export function cursorWindow(document: vscode.TextDocument, position: vscode.Position): CursorWindow {
  const lastLine = document.lineAt(document.lineCount - 1);
  const length = document.offsetAt(lastLine.range.end);
  const slice = (start: number, end: number) => document.getText(new vscode.Range(document.positionAt(start), document.positionAt(end)));
  return cursorWindowAt(length, document.offsetAt(position), slice);
}

/**
 * Where a document sits, for repo-level prompts: its path relative to ITS workspace folder (in a
 * multi-root workspace, not the first one) and that folder's name.
 */
export function documentLocation(uri: vscode.Uri): Required<DocumentLocation> {
  const folder = vscode.workspace.getWorkspaceFolder(uri);
  return { uri: uri.toString(), path: relativePath(uri, folder), repoName: folder?.name ?? vscode.workspace.name ?? 'workspace' };
}

/**
 * Where a corpus document sits: as for a completion, but a document outside every folder (untitled,
 * opened from elsewhere) has no folder name, so the decoder counts it as part of whichever folder asks.
 */
export function corpusLocation(uri: vscode.Uri): CorpusLocation {
  const folder = vscode.workspace.getWorkspaceFolder(uri);
  return folder ? { path: relativePath(uri, folder), repoName: folder.name } : { path: relativePath(uri, undefined) };
}

function relativePath(uri: vscode.Uri, folder: vscode.WorkspaceFolder | undefined): string {
  // `false`: never prefixed with the folder's name (VS Code's default in a multi-root workspace).
  return folder ? vscode.workspace.asRelativePath(uri, false) : uri.path.split('/').slice(-2).join('/');
}
