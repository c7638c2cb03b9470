// Where a completion ends, from its decoded text (pure). The engine checks after every
// emitted token, so a multi-token step stops exactly where plain greedy decoding would.
import { BLOCK_CLOSER, BLOCK_OPENER, indentOf } from '../../codeBlocks';
import type { CompletionMode } from '../../protocol';

export interface StopRules {
  mode?: CompletionMode;
  stopStrings: readonly string[];
  /** Stop where the text starts looping (what the editor's requests ask for; a timing replay does not). */
  stopOnLoop?: boolean;
  /**
   * The first line with content below the cursor, without its line end (nextLineOf): a completion stops
   * before a line of its own that says it again, indentation and all, since that code is there already
   * (completions that rewrite the lines below the cursor are the duplicates users complain of most).
   */
  nextLine?: string;
  /**
   * The block the cursor's line is in (blockOf): a completion ends with it, after a line of its own that
   * closes it, or before a line that starts outside it (the next function, which the workspace mixture
   * would otherwise copy on from the file).
   */
  block?: CursorBlock;
}

/** The indentation a completion's lines stay inside: deeper than `outside`. */
export interface CursorBlock {
  /** A line indented this much or less is outside the block. */
  outside: number;
}

/**
 * The block of the line the cursor is on (the text above the cursor's last line): the one it opens
 * (`foo() {`: lines at its indentation are outside) or the one it is in (lines indented less are
 * outside). Undefined for a cursor at column 0 of a line that opens nothing: no block to end (pure).
 */
export function blockOf(textAbove: string | undefined): CursorBlock | undefined {
  if (textAbove === undefined) return undefined;
  const line = textAbove.slice(textAbove.lastIndexOf('\n') + 1);
  const indent = indentOf(line);
  if (BLOCK_OPENER.test(line)) return { outside: indent };
  return indent > 0 ? { outside: indent - 1 } : undefined;
}

/**
 * Where a completion must end so as not to run past the cursor's block: after a line of its own (not
 * the cursor's) outside the block that only closes brackets, or before the newline of one that does
 * anything else once the completion wrote something; -1 if no line ended by a newline at or after
 * `from` ends it.
 */
function endOfBlock(text: string, block: CursorBlock, from: number): number {
  for (const { newline, line } of linesEndedFrom(text, from)) {
    if (line.trim().length === 0 || indentOf(line) > block.outside) continue;
    if (BLOCK_CLOSER.test(line)) return withoutCarriageReturn(text, newline + 1 + line.length);
    // A completion that starts outside the block is not ended before it wrote anything.
    if (text.slice(0, newline).trim().length > 0) return withoutCarriageReturn(text, newline);
  }
  return -1;
}

/**
 * The lines of a completion after its first (the cursor's own) whose ending newline is at or after
 * `from`, each with the index of the newline before it: what the line rules read once a line is whole.
 */
function* linesEndedFrom(text: string, from: number): Generator<{ newline: number; line: string }> {
  for (let end = text.indexOf('\n', from); end >= 0; end = text.indexOf('\n', end + 1)) {
    const newline = text.lastIndexOf('\n', end - 1);
    if (newline >= 0) yield { newline, line: text.slice(newline + 1, end) };
  }
}

/** The first line with content of the text below the cursor, trailing whitespace dropped; undefined when none (pure). */
export function nextLineOf(textBelow: string | undefined): string | undefined {
  return textBelow?.split('\n').find((l) => l.trim().length > 0)?.trimEnd();
}

/**
 * Where a completion must end so as not to write the line below the cursor again: before the newline
 * that starts a line of its own equal to it (the first line is the cursor's, never compared); -1 if no
 * line ended by a newline at or after `from` is.
 */
function beforeRepeatedLine(text: string, nextLine: string, from: number): number {
  for (const { newline, line } of linesEndedFrom(text, from)) if (line.trimEnd() === nextLine) return withoutCarriageReturn(text, newline);
  return -1;
}

const NON_WHITESPACE = /\S/;

/** Index of the first '\n' that comes after some non-whitespace, or -1. */
function firstNewlineAfterContent(text: string): number {
  const content = text.search(NON_WHITESPACE);
  if (content < 0) return -1;
  return text.indexOf('\n', content);
}

function withoutCarriageReturn(text: string, index: number): number {
  return index > 0 && text[index - 1] === '\r' ? index - 1 : index;
}

// With stopOnLoop, a completion stops where it starts looping: once its text ends in
// REPEAT_COPIES copies of one unit of at most REPEAT_MAX_PERIOD characters that holds a letter, the run
// covering at least REPEAT_MIN_CHARS (`b: Hash, b: Hash, b: Hash, `; the same line three times). The copies
// so far stay: text already streamed is never taken back.
const REPEAT_COPIES = 3;
const REPEAT_MIN_CHARS = 24;
const REPEAT_MAX_PERIOD = 100;
const LETTER = /[A-Za-z]/;

/**
 * Where a growing text first ends in a loop. For each period p it keeps how many characters in a row
 * equal the one p before; a run of r such characters means the last r + p characters repeat with period p.
 */
class RepetitionTracker {
  private readonly runs = new Int32Array(REPEAT_MAX_PERIOD + 1);
  private fed = 0;

  /** The first end index (one past a character) in text[fed..] where the text ends in a loop, or -1. */
  feed(text: string): number {
    for (let at = this.fed; at < text.length; at++) {
      this.fed = at + 1;
      for (let p = 1; p <= REPEAT_MAX_PERIOD && p <= at; p++) {
        const run = text.charCodeAt(at) === text.charCodeAt(at - p) ? this.runs[p] + 1 : 0;
        this.runs[p] = run;
        const copies = Math.max(REPEAT_COPIES, Math.ceil(REPEAT_MIN_CHARS / p));
        if (run >= (copies - 1) * p && LETTER.test(text.slice(at + 1 - p, at + 1))) return at + 1;
      }
    }
    return -1;
  }
}

/** Length of the completion if it must stop now, or -1 when no rule fires. */
export function findStop(text: string, rules: StopRules): number {
  let cut = -1;
  const consider = (index: number) => {
    if (index >= 0 && (cut < 0 || index < cut)) cut = index;
  };
  if (rules.stopOnLoop) consider(new RepetitionTracker().feed(text));
  if (rules.nextLine) consider(beforeRepeatedLine(text, rules.nextLine, 0));
  if (rules.block) consider(endOfBlock(text, rules.block, 0));
  for (const stop of rules.stopStrings) if (stop.length > 0) consider(text.indexOf(stop));
  if (rules.mode === 'line') {
    const newline = firstNewlineAfterContent(text);
    if (newline >= 0) consider(withoutCarriageReturn(text, newline));
  } else if (rules.mode === 'block') {
    const content = text.search(NON_WHITESPACE);
    if (content >= 0) {
      const blank = /\n[ \t]*\r?\n/g;
      blank.lastIndex = content;
      const match = blank.exec(text);
      if (match) consider(withoutCarriageReturn(text, match.index));
    }
  }
  return cut;
}

/**
 * findStop for a text that only grows (the decoded completion), scanning only what is new on each
 * call, so checking after every token costs O(new text) instead of O(all text).
 */
export class StopScanner {
  private scanned = 0;
  private content = -1;
  private readonly longestStop: number;
  private readonly repetition = new RepetitionTracker();

  constructor(private readonly rules: StopRules) {
    this.longestStop = Math.max(0, ...rules.stopStrings.map((s) => s.length));
  }

  /** Same answer as findStop(text, rules); `text` must extend the text of the previous call. */
  find(text: string): number {
    const from = this.scanned;
    this.scanned = text.length;
    let cut = -1;
    const consider = (index: number) => {
      if (index >= 0 && (cut < 0 || index < cut)) cut = index;
    };
    // A stop string may straddle the old end: look back by the longest one.
    const stopFrom = Math.max(0, from - this.longestStop + 1);
    for (const stop of this.rules.stopStrings) if (stop.length > 0) consider(text.indexOf(stop, stopFrom));
    if (this.rules.stopOnLoop) consider(this.repetition.feed(text));
    // Only lines whose ending newline is new: the earlier ones were checked when theirs came.
    if (this.rules.nextLine) consider(beforeRepeatedLine(text, this.rules.nextLine, from));
    if (this.rules.block) consider(endOfBlock(text, this.rules.block, from));
    if (this.content < 0) {
      const found = text.slice(from).search(NON_WHITESPACE);
      if (found >= 0) this.content = from + found;
    }
    if (this.content >= 0 && this.rules.mode === 'line') {
      consider(withoutCarriageReturn(text, text.indexOf('\n', Math.max(this.content, from))));
    } else if (this.content >= 0 && this.rules.mode === 'block') {
      // A blank line that ends in the new text starts at the last newline before it, at the earliest.
      const lastNewline = from > 0 ? text.lastIndexOf('\n', from - 1) : -1;
      const blank = /\n[ \t]*\r?\n/g;
      blank.lastIndex = Math.max(this.content, lastNewline, 0);
      const match = blank.exec(text);
      if (match) consider(withoutCarriageReturn(text, match.index));
    }
    return cut;
  }
}

/**
 * How much of `text` is final whatever comes next: text that a later token could still
 * turn into (part of) a stop is held back, so streamed chunks never need retracting.
 */
export function stableLength(text: string, rules: StopRules): number {
  let stable = text.length;
  for (const stop of rules.stopStrings) {
    for (let k = Math.min(stop.length - 1, text.length); k > 0; k--) {
      if (text.endsWith(stop.slice(0, k))) {
        stable = Math.min(stable, text.length - k);
        break;
      }
    }
  }
  if (text.endsWith('\r')) stable = Math.min(stable, text.length - 1);
  if (rules.mode === 'block') {
    // A trailing newline plus blanks may become a blank line (scanned from the end: O(blanks)).
    let at = text.length - 1;
    while (at >= 0 && (text[at] === ' ' || text[at] === '\t' || text[at] === '\r')) at--;
    if (at >= 0 && text[at] === '\n') stable = Math.min(stable, at - (at > 0 && text[at - 1] === '\r' ? 1 : 0));
  }
  if (rules.nextLine || rules.block) {
    // The line being written may yet repeat the line below or leave the block: a cut before it would take
    // back its newline too, so that newline and what follows it wait for the line to end.
    const newline = text.lastIndexOf('\n');
    if (newline >= 0) stable = Math.min(stable, withoutCarriageReturn(text, newline));
  }
  return stable;
}
