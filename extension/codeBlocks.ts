// What opens a block of code at the end of a line, shared by the host (which completion mode a cursor
// gets) and the decoder (where a Generate ends): one definition, so both read a line the same way.

/** A line ending in one of these opens a block: brackets, `:`, arrows, and the keywords that start one. */
export const BLOCK_OPENER = /(?:[{([:]|=>|->|\b(?:do|then|else|begin|try|finally))\s*$/;

/** A line of nothing but closing brackets (and the punctuation after them): the end of a block. */
export const BLOCK_CLOSER = /^\s*[\])}]+[;,)\]}]*\s*$/;

/** Columns of a line's leading whitespace (a tab counts as one). */
export function indentOf(line: string): number {
  return line.length - line.trimStart().length;
}
