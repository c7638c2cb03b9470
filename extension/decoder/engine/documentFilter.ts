// Which workspace documents are worth indexing (pure). Binary files decoded as text and
// huge generated files only cost time and memory and never help the draft.

export const DEFAULT_MAX_DOCUMENT_CHARS = 512 * 1024;
const SAMPLE_CHARS = 8192;
const MAX_CONTROL_RATIO = 0.05;

export type DocumentVerdict = { index: true } | { index: false; reason: string };

function isControl(code: number): boolean {
  // Tab, newline, form feed and carriage return are ordinary in source files.
  if (code === 9 || code === 10 || code === 12 || code === 13) return false;
  return code < 32 || code === 127 || code === 0xfffd;
}

export function judgeDocument(text: string, maxChars = DEFAULT_MAX_DOCUMENT_CHARS): DocumentVerdict {
  if (text.length > maxChars) return { index: false, reason: `too large (${text.length} characters > ${maxChars})` };
  if (text.includes('\u0000')) return { index: false, reason: 'binary (contains NUL)' };
  const sample = text.length > SAMPLE_CHARS ? text.slice(0, SAMPLE_CHARS) : text;
  let control = 0;
  for (let i = 0; i < sample.length; i++) if (isControl(sample.charCodeAt(i))) control++;
  if (sample.length > 0 && control / sample.length > MAX_CONTROL_RATIO) {
    return { index: false, reason: `binary-looking (${((100 * control) / sample.length).toFixed(0)}% control characters)` };
  }
  return { index: true };
}
