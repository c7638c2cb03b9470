// Which workspace documents are worth indexing (pure). Binary files decoded as text and
// huge generated files only cost time and memory and never help the draft.

import { BINARY_CONTROL_SHARE, BINARY_SNIFF_CHARS, MAX_DOCUMENT_CHARS } from '../../limits';

export const DEFAULT_MAX_DOCUMENT_CHARS = MAX_DOCUMENT_CHARS;

export type DocumentVerdict = { index: true } | { index: false; reason: string };

function isControl(code: number): boolean {
  // Tab, newline, form feed and carriage return are ordinary in source files.
  if (code === 9 || code === 10 || code === 12 || code === 13) return false;
  return code < 32 || code === 127 || code === 0xfffd;
}

export function judgeDocument(text: string, maxChars = DEFAULT_MAX_DOCUMENT_CHARS): DocumentVerdict {
  if (text.length > maxChars) return { index: false, reason: `too large (${text.length} characters > ${maxChars})` };
  if (text.includes('\u0000')) return { index: false, reason: 'binary (contains NUL)' };
  const sample = text.length > BINARY_SNIFF_CHARS ? text.slice(0, BINARY_SNIFF_CHARS) : text;
  let control = 0;
  for (let i = 0; i < sample.length; i++) if (isControl(sample.charCodeAt(i))) control++;
  if (sample.length > 0 && control / sample.length > BINARY_CONTROL_SHARE) {
    return { index: false, reason: `binary-looking (${((100 * control) / sample.length).toFixed(0)}% control characters)` };
  }
  return { index: true };
}
