// Which workspace files enter the retrieval corpus. Pure decisions over a path, a size
// and the first bytes; the host does the file system calls.

import { BINARY_CONTROL_SHARE, BINARY_SNIFF_CHARS } from '../../limits';
import { matchesAnyGlob } from './glob';
import type { GitignoreMatcher } from './gitignore';

export interface CorpusFilterOptions {
  include: readonly string[];
  exclude: readonly string[];
  maxFileSizeBytes: number;
  gitignores: readonly GitignoreMatcher[];
}

export type SkipReason = 'not-included' | 'excluded' | 'gitignored' | 'too-large' | 'binary';

/** Decides on the path alone (before any I/O); `null` means "read it". */
export function skipReasonForPath(relativePath: string, options: CorpusFilterOptions): SkipReason | null {
  if (options.include.length > 0 && !matchesAnyGlob(relativePath, options.include)) return 'not-included';
  if (excludedWithAncestors(relativePath, options.exclude)) return 'excluded';
  if (options.gitignores.some((matcher) => matcher.ignores(relativePath))) return 'gitignored';
  return null;
}

// Like files.exclude: a glob that names a folder (such as "**/.git") excludes everything inside it.
export function excludedWithAncestors(relativePath: string, globs: readonly string[]): boolean {
  if (globs.length === 0) return false;
  let end = relativePath.length;
  while (end > 0) {
    if (matchesAnyGlob(relativePath.slice(0, end), globs)) return true;
    end = relativePath.lastIndexOf('/', end - 1);
  }
  return false;
}

export function skipReasonForSize(sizeBytes: number, options: Pick<CorpusFilterOptions, 'maxFileSizeBytes'>): SkipReason | null {
  return sizeBytes > options.maxFileSizeBytes ? 'too-large' : null;
}


/**
 * Binary if the start holds a NUL byte (git's own test) or is mostly not text:
 * control characters other than tab/newline/carriage return/form feed, or invalid UTF-8.
 */
export function looksBinary(bytes: Uint8Array): boolean {
  const sample = bytes.subarray(0, BINARY_SNIFF_CHARS);
  if (sample.length === 0) return false;
  let suspicious = 0;
  for (const byte of sample) {
    if (byte === 0) return true;
    if (byte < 32 && byte !== 9 && byte !== 10 && byte !== 13 && byte !== 12) suspicious++;
  }
  if (suspicious / sample.length > BINARY_CONTROL_SHARE) return true;
  return invalidUtf8Fraction(sample) > BINARY_CONTROL_SHARE;
}

function invalidUtf8Fraction(sample: Uint8Array): number {
  let invalid = 0;
  let i = 0;
  while (i < sample.length) {
    const lead = sample[i];
    const length = lead < 0x80 ? 1 : lead >= 0xc2 && lead < 0xe0 ? 2 : lead >= 0xe0 && lead < 0xf0 ? 3 : lead >= 0xf0 && lead < 0xf5 ? 4 : 0;
    if (length === 0) {
      invalid++;
      i++;
      continue;
    }
    // A sequence cut off by the sample's end is not evidence of binary.
    if (i + length > sample.length) break;
    let ok = true;
    for (let k = 1; k < length; k++) if ((sample[i + k] & 0xc0) !== 0x80) ok = false;
    if (ok) i += length;
    else {
      invalid++;
      i++;
    }
  }
  return invalid / sample.length;
}

/** `files.exclude`-style objects map a glob to true/false (or a `when` clause we cannot evaluate). */
export function enabledGlobs(setting: Record<string, unknown> | undefined): string[] {
  if (!setting) return [];
  return Object.entries(setting).filter(([, value]) => value === true).map(([glob]) => glob);
}
