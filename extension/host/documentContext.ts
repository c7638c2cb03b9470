// The text around a position, read from a document with bounded cost (see ../promptWindow.ts).

import * as vscode from 'vscode';
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
