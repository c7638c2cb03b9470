// The non-neural baseline of the quality bench: copy what followed the longest match of the text
// before the cursor elsewhere in the workspace (other files, and the current file outside the
// hidden middle), cut at the end of its first line with content. A model that loses to this is
// not worth shipping.
import type { BenchSample, SourceFile } from './benchSamples';

/** Longest suffix of the prefix that is searched for (characters). */
const MAX_MATCH_CHARS = 1024;
const SEPARATOR = '\u0000';

/** Up to the end of the first line that has content (pure). */
export function firstLineWithContent(text: string): string {
  let end = text.indexOf('\n');
  while (end >= 0 && text.slice(0, end).trim().length === 0) end = text.indexOf('\n', end + 1);
  return end < 0 ? text : text.slice(0, end);
}

/**
 * The continuation after the longest suffix of `prefix` found in `haystack` (pure). The match
 * length is found by binary search: a suffix that occurs has every shorter suffix occurring too.
 */
export function copyAfterLongestMatch(prefix: string, haystack: string): string {
  let low = 0;
  let high = Math.min(prefix.length, MAX_MATCH_CHARS);
  let at = -1;
  while (low < high) {
    const length = Math.ceil((low + high) / 2);
    const index = haystack.indexOf(prefix.slice(prefix.length - length));
    if (index >= 0) { low = length; at = index + length; } else high = length - 1;
  }
  if (at < 0 || low === 0) return '';
  const rest = haystack.slice(at);
  const end = rest.indexOf(SEPARATOR);
  return firstLineWithContent(end < 0 ? rest : rest.slice(0, end));
}

/** retrieval-copy's completion for a bench sample: the hidden middle is never searched. */
export function retrievalCopy(sample: BenchSample, files: readonly SourceFile[]): string {
  const others = files.filter((f) => f.path !== sample.file).map((f) => f.text);
  // The prefix without its last character, so its own end is not the match.
  const haystack = [...others, sample.suffix, sample.prefix.slice(0, -1)].join(SEPARATOR);
  return copyAfterLongestMatch(sample.prefix, haystack);
}
