// Single line or a whole block? Decided from the line the cursor is on, the way a person
// would expect: mid-line text gets the rest of the line; an empty line or the end of a
// line that opens a block gets a block.

import { BLOCK_OPENER } from '../../codeBlocks';
import type { CompletionMode } from '../../protocol';

export function chooseCompletionMode(linePrefix: string, lineSuffix: string): CompletionMode {
  if (lineSuffix.trim() !== '') return 'line';
  if (linePrefix.trim() === '') return 'block';
  // A comment that happens to end with ':' does not open a block.
  if (/^\s*(?:\/\/|#|--|\*|\/\*)/.test(linePrefix)) return 'line';
  return BLOCK_OPENER.test(linePrefix) ? 'block' : 'line';
}
