// Single line or a whole block? Decided from the cursor's line and its neighbours, the way a person
// (and Copilot) would expect: mid-line text gets the rest of the line; the end of a line that opens
// a block gets the block; an empty line gets a block where new code starts (an empty block just
// opened, between top-level declarations, the end of the file) and a single line inside a body that
// goes on below, so a suggestion there does not write over the statements that follow.
// Shared by the host and the bench, so the bench decodes each cursor as the editor would.

import { BLOCK_OPENER, indentOf } from './codeBlocks';
import type { CompletionMode } from './protocol';

/** `textAbove`: the text before the cursor (its last line is the cursor's); `textBelow`: the text after it. */
export function chooseCompletionMode(textAbove: string, textBelow: string): CompletionMode {
  const lines = textAbove.split('\n');
  const linePrefix = lines[lines.length - 1];
  const below = textBelow.split('\n');
  if (below[0].trim() !== '') return 'line';
  if (linePrefix.trim() !== '') {
    // A comment that happens to end with ':' does not open a block.
    if (/^\s*(?:\/\/|#|--|\*|\/\*)/.test(linePrefix)) return 'line';
    return BLOCK_OPENER.test(linePrefix) ? 'block' : 'line';
  }
  const next = below.slice(1).find((line) => line.trim() !== '');
  if (next === undefined) return 'block';
  const previous = lines.slice(0, -1).reverse().find((line) => line.trim() !== '');
  // Right after a line that opens a block: a block while that block is still empty.
  if (previous !== undefined && BLOCK_OPENER.test(previous)) return indentOf(next) <= indentOf(previous) ? 'block' : 'line';
  // A body that goes on below at the cursor's depth or deeper: one line; top level, or a body's end: a block.
  return indentOf(next) > 0 && indentOf(next) >= linePrefix.length ? 'line' : 'block';
}
