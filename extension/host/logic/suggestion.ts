// Turns the decoder's raw completion into what the editor should show, or nothing.
// The model fills the middle between prefix and suffix; small models often re-type text
// that already follows the cursor, which would duplicate it on accept.

import type { CompletionMode } from '../../protocol';

export interface CursorContext {
  mode: CompletionMode;
  /** Text after the cursor on the cursor's line. */
  lineSuffix: string;
  /** Text after the cursor (bounded), starting with `lineSuffix`. */
  suffix: string;
}

export interface ShapedSuggestion {
  insertText: string;
  /** How many characters after the cursor the suggestion replaces (the re-typed rest of the line). */
  replaceLength: number;
}

export function shapeSuggestion(raw: string, context: CursorContext): ShapedSuggestion | null {
  // At a line's end a model often starts with a newline and writes the next line (as after `{`); in
  // line mode that next line is the suggestion (shown below the cursor), not the blank before it.
  const from = context.lineSuffix.trim() === '' ? Math.max(0, raw.search(/\S/)) : 0;
  let text = context.mode === 'line' ? firstLine(raw, from) : raw;
  text = text.replace(/\s+$/, '');
  if (text.trim() === '') return null;
  if (onlyRepeatsFollowingText(text, context.suffix)) return null;
  if (context.mode === 'block') {
    text = dropLinesRepeatedBySuffix(text, context.suffix);
    if (text.trim() === '') return null;
  }
  const restOfLine = context.lineSuffix.replace(/\s+$/, '');
  if (restOfLine !== '') {
    const firstLineOfText = firstLine(text);
    if (firstLineOfText.endsWith(restOfLine)) {
      if (firstLineOfText === restOfLine) return null;
      return { insertText: text, replaceLength: restOfLine.length };
    }
  }
  return { insertText: text, replaceLength: 0 };
}

/** `text` up to the first newline at or after `from`. */
function firstLine(text: string, from = 0): string {
  const newline = text.indexOf('\n', from);
  return newline < 0 ? text : text.slice(0, newline).replace(/\r$/, '');
}

/** True when accepting would only re-type what is already after the cursor (ignoring whitespace). */
export function onlyRepeatsFollowingText(text: string, suffix: string): boolean {
  const compact = (value: string) => value.replace(/\s+/g, '');
  const wanted = compact(text);
  return wanted !== '' && compact(suffix).startsWith(wanted);
}

/** Removes trailing lines of a block that equal the first non-blank lines after the cursor (e.g. a closing brace). */
export function dropLinesRepeatedBySuffix(text: string, suffix: string): string {
  const lines = text.split('\n');
  const following = suffix.split('\n').map((line) => line.trim()).filter((line) => line !== '');
  for (let count = Math.min(lines.length - 1, following.length); count >= 1; count--) {
    const tail = lines.slice(lines.length - count).map((line) => line.trim());
    if (tail.every((line, i) => line === following[i])) {
      return lines.slice(0, lines.length - count).join('\n').replace(/\s+$/, '');
    }
  }
  return text;
}
