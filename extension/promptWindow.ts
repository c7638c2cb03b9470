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

/** Keeps at most `maxChars` of the end of `textBeforeCursor`, starting at a line start. */
export function boundPrefix(textBeforeCursor: string, maxChars: number): string {
  if (textBeforeCursor.length <= maxChars) return textBeforeCursor;
  let start = textBeforeCursor.length - maxChars;
  const nextLine = textBeforeCursor.indexOf('\n', start);
  // Only move to the next line start if that keeps most of the budget.
  if (nextLine >= 0 && nextLine + 1 - start < maxChars / 4) start = nextLine + 1;
  else if (isLowSurrogate(textBeforeCursor.charCodeAt(start))) start++;
  return textBeforeCursor.slice(start);
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
