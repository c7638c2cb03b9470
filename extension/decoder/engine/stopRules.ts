// Where a completion ends, from its decoded text (pure). The engine checks after every
// emitted token, so a multi-token step stops exactly where plain greedy decoding would.
import type { CompletionMode } from '../../protocol';

export interface StopRules {
  mode?: CompletionMode;
  stopStrings: readonly string[];
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

/** Length of the completion if it must stop now, or -1 when no rule fires. */
export function findStop(text: string, rules: StopRules): number {
  let cut = -1;
  const consider = (index: number) => {
    if (index >= 0 && (cut < 0 || index < cut)) cut = index;
  };
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
    // A trailing newline plus blanks may become a blank line.
    const tail = /\n[ \t\r]*$/.exec(text);
    if (tail) stable = Math.min(stable, tail.index - (tail.index > 0 && text[tail.index - 1] === '\r' ? 1 : 0));
  }
  return stable;
}
