// What the host sends for a cursor, computed from any text source (pure): the live document, or the
// text the document WILL have once a suggestion is accepted (speculative next suggestion). Both go
// through this one function, so a speculative request has exactly the key of the real one.

import type { CompletionMode } from '../../protocol';
import { boundSuffix, prefixWindowStart, PREFIX_CHARS, snapToLineStart, SUFFIX_CHARS } from '../../promptWindow';
import { chooseCompletionMode } from '../../completionMode';

export interface CursorWindow {
  prefix: string;
  suffix: string;
  linePrefix: string;
  lineSuffix: string;
  mode: CompletionMode;
}

/** Text of [start, end) of a document of `length` characters (clamped by the caller's source). */
export type TextSlice = (start: number, end: number) => string;

export function cursorWindowAt(length: number, offset: number, slice: TextSlice): CursorWindow {
  const start = prefixWindowStart(offset, PREFIX_CHARS);
  const prefix = snapToLineStart(slice(start, offset), PREFIX_CHARS, start === 0 || slice(start - 1, start) === '\n');
  const suffix = boundSuffix(slice(offset, Math.min(length, offset + SUFFIX_CHARS + 1)), SUFFIX_CHARS);
  const before = slice(Math.max(0, offset - PREFIX_CHARS), offset);
  const linePrefix = before.slice(before.lastIndexOf('\n') + 1);
  const lineEnd = suffix.indexOf('\n');
  const lineSuffix = (lineEnd < 0 ? suffix : suffix.slice(0, lineEnd)).replace(/\r$/, '');
  return { prefix, suffix, linePrefix, lineSuffix, mode: chooseCompletionMode(before, suffix) };
}

/** The window at the end of `insertText` once it replaced `replaceLength` characters at `offset` of `text`. */
export function windowAfterAccept(text: string, offset: number, insertText: string, replaceLength: number): CursorWindow {
  const after = text.slice(0, offset) + insertText + text.slice(offset + replaceLength);
  return cursorWindowAt(after.length, offset + insertText.length, (start, end) => after.slice(Math.max(0, start), end));
}
