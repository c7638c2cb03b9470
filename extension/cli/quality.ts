// Quality of a completion against the text that really followed the cursor (pure).

/** Levenshtein distance over UTF-16 code units, two-row dynamic programme. */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  if (a.length === 0) return b.length;
  if (b.length === 0) return a.length;
  let previous = new Uint32Array(b.length + 1).map((_, j) => j);
  let current = new Uint32Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    current[0] = i;
    const ca = a.charCodeAt(i - 1);
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (ca === b.charCodeAt(j - 1) ? 0 : 1);
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, substitution);
    }
    [previous, current] = [current, previous];
  }
  return previous[b.length];
}

/** 1 - distance / max length: 1 for identical texts, 0 for nothing in common. */
export function editSimilarity(prediction: string, truth: string): number {
  const longest = Math.max(prediction.length, truth.length);
  return longest === 0 ? 1 : 1 - editDistance(prediction, truth) / longest;
}

/** The first line with content, trailing whitespace ignored. */
export function firstLine(text: string): string {
  const line = text.split('\n').find((l) => l.trim().length > 0) ?? '';
  return line.trimEnd();
}

export function firstLineExactMatch(prediction: string, truth: string): boolean {
  return firstLine(prediction) === firstLine(truth);
}
