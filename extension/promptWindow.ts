// Shared by the extension host (what it sends) and the bench (the prompt the extension would build).
// The text around the cursor that goes to the decoder, bounded so a huge file costs the
// same as a small one. Cuts fall on line boundaries where possible, so the model never
// sees half a line at the edge of its context.

/** Characters of context sent to the decoder; the decoder cuts further to its token budget. */
export const PREFIX_CHARS = 6000;
export const SUFFIX_CHARS = 2000;

export interface PromptWindow {
  prefix: string;
  suffix: string;
}

/** The prefix window's start moves in steps of this many characters (less for a small window). */
export const PREFIX_STEP_CHARS = 512;

/**
 * Where a window of at most `maxChars` before `cursor` starts: a multiple of the step, so it stays
 * put while the user types and the decoder can reuse the KV rows of the prompt it starts (pure).
 */
export function prefixWindowStart(cursor: number, maxChars: number): number {
  if (cursor <= maxChars) return 0;
  const step = Math.max(1, Math.min(PREFIX_STEP_CHARS, Math.floor(maxChars / 8)));
  return Math.ceil((cursor - maxChars) / step) * step;
}

/** Keeps at most `maxChars` of the end of `textBeforeCursor`, from a stepped start moved to a line start. */
export function boundPrefix(textBeforeCursor: string, maxChars: number): string {
  if (textBeforeCursor.length <= maxChars) return textBeforeCursor;
  const start = prefixWindowStart(textBeforeCursor.length, maxChars);
  return snapToLineStart(textBeforeCursor.slice(start), maxChars, textBeforeCursor[start - 1] === '\n');
}

/** Drops the partial first line of a window when that keeps most of it (pure). */
export function snapToLineStart(window: string, maxChars: number, startsAtLineStart: boolean): string {
  if (startsAtLineStart) return window;
  let start = 0;
  const nextLine = window.indexOf('\n');
  // Only move to the next line start if that keeps most of the budget.
  if (nextLine >= 0 && nextLine + 1 < maxChars / 4) start = nextLine + 1;
  else if (isLowSurrogate(window.charCodeAt(0))) start++;
  return window.slice(start);
}

/** Keeps at most `maxChars` of the start of `textAfterCursor`, ending at a line end. */
export function boundSuffix(textAfterCursor: string, maxChars: number): string {
  if (textAfterCursor.length <= maxChars) return textAfterCursor;
  let end = maxChars;
  const lineEnd = textAfterCursor.lastIndexOf('\n', end - 1);
  if (lineEnd >= 0 && end - lineEnd < maxChars / 4) end = lineEnd + 1;
  else if (isLowSurrogate(textAfterCursor.charCodeAt(end))) end--;
  return textAfterCursor.slice(0, end);
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}
