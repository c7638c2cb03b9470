// A .gitignore reader for the patterns people actually write: comments, blank lines,
// `!` negation, a leading or inner `/` anchoring to the file's folder, a trailing `/`
// for folders only, `*`, `?`, `**` and `[...]`. Matching follows git's rule that the
// last matching pattern wins and that a file inside an ignored folder stays ignored.

import { globToRegExp } from './glob';

interface IgnoreRule {
  negated: boolean;
  directoryOnly: boolean;
  regex: RegExp;
}

export class GitignoreMatcher {
  private readonly rules: IgnoreRule[];

  /** @param baseDir the folder of the .gitignore, relative to the workspace root ('' for the root). */
  constructor(text: string, private readonly baseDir = '') {
    this.rules = text.split(/\r?\n/).map(parseRule).filter((rule): rule is IgnoreRule => rule !== null);
  }

  /** Whether a file (a '/'-separated path relative to the workspace root) is ignored. */
  ignores(filePath: string): boolean {
    const relative = this.relativeToBase(filePath);
    if (relative === null || this.rules.length === 0) return false;
    const segments = relative.split('/');
    // Folders first: once a parent folder is excluded git never looks inside it.
    for (let depth = 1; depth < segments.length; depth++) {
      if (this.decide(segments.slice(0, depth).join('/'), true)) return true;
    }
    return this.decide(relative, false);
  }

  private decide(path: string, isDirectory: boolean): boolean {
    let ignored = false;
    for (const rule of this.rules) {
      if (rule.directoryOnly && !isDirectory) continue;
      if (rule.regex.test(path)) ignored = !rule.negated;
    }
    return ignored;
  }

  private relativeToBase(filePath: string): string | null {
    if (this.baseDir === '') return filePath;
    const prefix = this.baseDir.endsWith('/') ? this.baseDir : `${this.baseDir}/`;
    return filePath.startsWith(prefix) ? filePath.slice(prefix.length) : null;
  }
}

function parseRule(rawLine: string): IgnoreRule | null {
  let line = rawLine.replace(/(?<!\\)\s+$/, '');
  if (line === '' || line.startsWith('#')) return null;
  let negated = false;
  if (line.startsWith('!')) {
    negated = true;
    line = line.slice(1);
  } else if (line.startsWith('\\!') || line.startsWith('\\#')) {
    line = line.slice(1);
  }
  let directoryOnly = false;
  if (line.endsWith('/')) {
    directoryOnly = true;
    line = line.slice(0, -1);
  }
  if (line === '') return null;
  // A slash anywhere but the end anchors the pattern to the .gitignore's folder;
  // otherwise it matches a name at any depth.
  const anchored = line.includes('/');
  if (line.startsWith('/')) line = line.slice(1);
  const glob = anchored ? line : `**/${line}`;
  return { negated, directoryOnly, regex: globToRegExp(escapeBraces(glob)) };
}

/** Braces are literal in .gitignore, unlike in VS Code globs. */
function escapeBraces(glob: string): string {
  return glob.replace(/[{}]/g, (brace) => (brace === '{' ? '\\{' : '\\}'));
}
