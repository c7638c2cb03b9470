// The text around a position, read from a document with bounded cost (see ../promptWindow.ts).

import * as vscode from 'vscode';
import { boundPrefix, boundSuffix, PREFIX_CHARS, SUFFIX_CHARS, type PromptWindow } from '../promptWindow';

export function textAround(document: vscode.TextDocument, position: vscode.Position): PromptWindow {
  const offset = document.offsetAt(position);
  const start = document.positionAt(Math.max(0, offset - PREFIX_CHARS - 1));
  const end = document.positionAt(offset + SUFFIX_CHARS + 1);
  return {
    prefix: boundPrefix(document.getText(new vscode.Range(start, position)), PREFIX_CHARS),
    suffix: boundSuffix(document.getText(new vscode.Range(position, end)), SUFFIX_CHARS),
  };
}
