// The docs must not name what the code does not have: a backticked identifier of the decoder's
// shape (`buildTreeInputs`, `TreeInputsBuffer`) that no source file defines, or a model called
// shipped that model/msn.json does not name. Cheap, and it catches docs left behind by a rename.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
/** Names of the platform the docs may mention without the code defining them. */
const PLATFORM = new Set(['SharedArrayBuffer', 'ArrayBuffer', 'BigInt64Array', 'Float32Array', 'Int32Array']);
const DOCS = ['README.md', ...fs.readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/** The repository's own source files (tracked by git: never data or build outputs). */
function sources(): string[] {
  return execFileSync('git', ['ls-files'], { cwd: ROOT, encoding: 'utf8' }).split('\n')
    .filter((f) => /^(extension|training|scripts|test|media)\/.*\.(ts|py|sh|mjs|js)$/.test(f) || f === 'package.json');
}

describe('docs tell the truth about the code', () => {
  const code = sources().filter((f) => f !== 'test/docs.test.ts' && fs.existsSync(path.join(ROOT, f))).map((f) => fs.readFileSync(path.join(ROOT, f), 'utf8')).join('\n');

  it('every backticked camelCase or PascalCase identifier the docs name exists in the code', () => {
    const missing: string[] = [];
    for (const doc of DOCS) {
      const text = fs.readFileSync(path.join(ROOT, doc), 'utf8');
      // `name`, `name()`, `Class.method`: identifiers with an inner capital, as the TypeScript code names things.
      for (const [, name] of text.matchAll(/`([A-Za-z_][A-Za-z0-9_]*[a-z][A-Z][A-Za-z0-9_]*)(?:\(\))?`/g)) {
        if (!PLATFORM.has(name) && !new RegExp(`\\b${name}\\b`).test(code)) missing.push(`${doc}: ${name}`);
      }
    }
    assert.deepEqual(missing, []);
  });

  it('each row of docs/architecture.md "Where is X" names a file that defines its function', () => {
    const text = fs.readFileSync(path.join(ROOT, 'docs/architecture.md'), 'utf8');
    const section = text.slice(text.indexOf('## Where is X'), text.indexOf('\n## ', text.indexOf('## Where is X') + 1));
    const rows = [...section.matchAll(/^\| [^|]+ \| `([^`]+)` \| `([^`]+)` \|$/gm)];
    assert.ok(rows.length >= 15, `${rows.length} rows`);
    const wrong: string[] = [];
    for (const [, file, symbol] of rows) {
      const source = fs.existsSync(path.join(ROOT, file)) ? fs.readFileSync(path.join(ROOT, file), 'utf8') : '';
      const [owner, member] = symbol.includes('.') ? symbol.split('.') : [undefined, symbol];
      const defines = file.endsWith('.py')
        ? new RegExp(`^\\s*def ${member}\\(`, 'm').test(source) // a method is indented
        : new RegExp(`(function ${member}\\b|^\\s+(?:private |async |readonly )*${member}\\()`, 'm').test(source);
      if (!defines || (owner !== undefined && !new RegExp(`class ${owner}\\b`).test(source))) wrong.push(`${file}: ${symbol}`);
    }
    assert.deepEqual(wrong, []);
  });

  it('the docs call shipped only the model model/msn.json names', () => {
    const shipped = JSON.parse(fs.readFileSync(path.join(ROOT, 'model/msn.json'), 'utf8')).name as string;
    const wrong: string[] = [];
    for (const doc of [...DOCS, 'model/MODEL_CARD.md', 'training/README.md']) {
      const text = fs.readFileSync(path.join(ROOT, doc), 'utf8');
      for (const [phrase, name] of text.matchAll(/shipped `(msn-code-[a-z0-9]+)`|`(msn-code-[a-z0-9]+)` \(shipped|(?<=shipped (?:model |default model )?)`(msn-code-[a-z0-9]+)`/g)) {
        const named = name ?? phrase.match(/msn-code-[a-z0-9]+/)![0];
        if (named !== shipped) wrong.push(`${doc}: "${phrase}"`);
      }
    }
    assert.deepEqual(wrong, []);
  });
});
