// Glob patterns as VS Code writes them (files.exclude, search globs): `*`, `?`, `**`,
// `{a,b}` alternatives and `[...]` classes, matched against '/'-separated relative paths.

const cache = new Map<string, RegExp>();

/** Compiles a glob into an anchored regular expression (memoised: settings reuse the same few). */
export function globToRegExp(glob: string): RegExp {
  let compiled = cache.get(glob);
  if (!compiled) {
    compiled = new RegExp(`^${translate(glob)}$`);
    if (cache.size > 1000) cache.clear();
    cache.set(glob, compiled);
  }
  return compiled;
}

export function matchesGlob(path: string, glob: string): boolean {
  return globToRegExp(glob).test(path);
}

export function matchesAnyGlob(path: string, globs: readonly string[]): boolean {
  return globs.some((glob) => matchesGlob(path, glob));
}

function translate(glob: string): string {
  let out = '';
  let i = 0;
  while (i < glob.length) {
    const c = glob[i];
    if (c === '\\' && i + 1 < glob.length) {
      out += escapeRegExp(glob[i + 1]);
      i += 2;
    } else if (c === '*') {
      if (glob[i + 1] === '*') {
        const atSegmentStart = i === 0 || glob[i - 1] === '/';
        const next = glob[i + 2];
        if (atSegmentStart && next === '/') {
          out += '(?:[^/]*/)*'; // `**/`: zero or more whole directories
          i += 3;
          continue;
        }
        if (atSegmentStart && next === undefined) {
          out += '.*';
          i += 2;
          continue;
        }
        out += '[^/]*'; // `a**b` is just a star inside one segment
        i += 2;
        continue;
      }
      out += '[^/]*';
      i += 1;
    } else if (c === '?') {
      out += '[^/]';
      i += 1;
    } else if (c === '{') {
      const close = findClosingBrace(glob, i);
      if (close < 0) {
        out += '\\{';
        i += 1;
        continue;
      }
      const alternatives = splitTopLevel(glob.slice(i + 1, close));
      out += `(?:${alternatives.map(translate).join('|')})`;
      i = close + 1;
    } else if (c === '[') {
      const close = glob.indexOf(']', i + 2);
      if (close < 0) {
        out += '\\[';
        i += 1;
        continue;
      }
      let body = glob.slice(i + 1, close);
      const negated = body.startsWith('!') || body.startsWith('^');
      if (negated) body = body.slice(1);
      out += `[${negated ? '^' : ''}${body.replace(/[\\\]]/g, '\\$&')}]`;
      i = close + 1;
    } else {
      out += escapeRegExp(c);
      i += 1;
    }
  }
  return out;
}

function findClosingBrace(glob: string, open: number): number {
  let depth = 0;
  for (let i = open; i < glob.length; i++) {
    if (glob[i] === '{') depth++;
    else if (glob[i] === '}' && --depth === 0) return i;
  }
  return -1;
}

function splitTopLevel(body: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < body.length; i++) {
    if (body[i] === '{') depth++;
    else if (body[i] === '}') depth--;
    else if (body[i] === ',' && depth === 0) {
      parts.push(body.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(body.slice(start));
  return parts;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
