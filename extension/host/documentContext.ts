// The text around a position, read from a document with bounded cost (see ../promptWindow.ts).

import * as vscode from 'vscode';
import type { DocumentLocation } from '../protocol';
import { boundSuffix, prefixWindowStart, PREFIX_CHARS, snapToLineStart, SUFFIX_CHARS, type PromptWindow } from '../promptWindow';

export function textAround(document: vscode.TextDocument, position: vscode.Position): PromptWindow {
  const offset = document.offsetAt(position);
  // The window starts at a stepped offset of the document, so typing does not move it.
  const start = document.positionAt(prefixWindowStart(offset, PREFIX_CHARS));
  const end = document.positionAt(offset + SUFFIX_CHARS + 1);
  const prefix = document.getText(new vscode.Range(start, position));
  return {
    prefix: snapToLineStart(prefix, PREFIX_CHARS, start.character === 0),
    suffix: boundSuffix(document.getText(new vscode.Range(position, end)), SUFFIX_CHARS),
  };
}

/** Where a document sits, for repo-level prompts: its workspace-relative path and the folder's name. */
export function documentLocation(uri: vscode.Uri): Required<DocumentLocation> {
  const folder = vscode.workspace.getWorkspaceFolder(uri);
  const path = folder ? vscode.workspace.asRelativePath(uri, false) : uri.path.split('/').slice(-2).join('/');
  return { uri: uri.toString(), path, repoName: folder?.name ?? vscode.workspace.name ?? 'workspace' };
}
