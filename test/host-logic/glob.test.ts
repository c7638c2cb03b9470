import { strict as assert } from 'node:assert';
import { matchesGlob } from '../../extension/host/logic/glob';
import { GitignoreMatcher } from '../../extension/host/logic/gitignore';

describe('glob (VS Code style)', () => {
  const cases: Array<[string, string, boolean]> = [
    ['**/node_modules/**', 'node_modules/a/b.js', true],
    ['**/node_modules/**', 'src/node_modules/x.js', true],
    ['**/node_modules/**', 'src/node_modulesx/x.js', false],
    ['**/*.ts', 'a.ts', true],
    ['**/*.ts', 'src/deep/a.ts', true],
    ['**/*.ts', 'src/a.tsx', false],
    ['*.ts', 'src/a.ts', false],
    ['src/*.{ts,js}', 'src/a.js', true],
    ['src/*.{ts,js}', 'src/a.py', false],
    ['**/*.{ts,{m,c}js}', 'x/y.mjs', true],
    ['file?.txt', 'file1.txt', true],
    ['file?.txt', 'file12.txt', false],
    ['[abc].md', 'b.md', true],
    ['[!abc].md', 'b.md', false],
    ['**/.git', '.git', true],
    ['a+b(c).js', 'a+b(c).js', true],
    ['a.js', 'aXjs', false],
  ];
  for (const [glob, path, expected] of cases) {
    it(`${glob} ${expected ? 'matches' : 'does not match'} ${path}`, () => {
      assert.equal(matchesGlob(path, glob), expected);
    });
  }
});

describe('GitignoreMatcher', () => {
  const ignore = new GitignoreMatcher([
    '# build output',
    'dist/',
    '*.log',
    '!keep.log',
    '/root-only.txt',
    'docs/*.md',
    '**/generated/**',
    'secret\\#file',
    '',
  ].join('\n'));

  it('ignores a folder named anywhere and everything inside it', () => {
    assert.equal(ignore.ignores('dist/a.js'), true);
    assert.equal(ignore.ignores('pkg/dist/deep/a.js'), true);
  });
  it('a trailing slash matches folders only, not a file of that name', () => {
    assert.equal(ignore.ignores('src/dist'), false);
  });
  it('unanchored names match at any depth, negation re-includes', () => {
    assert.equal(ignore.ignores('a/b/c.log'), true);
    assert.equal(ignore.ignores('a/keep.log'), false);
  });
  it('a leading slash anchors to the folder of the .gitignore', () => {
    assert.equal(ignore.ignores('root-only.txt'), true);
    assert.equal(ignore.ignores('sub/root-only.txt'), false);
  });
  it('an inner slash anchors too, and * stays inside one segment', () => {
    assert.equal(ignore.ignores('docs/a.md'), true);
    assert.equal(ignore.ignores('docs/sub/a.md'), false);
    assert.equal(ignore.ignores('x/docs/a.md'), false);
  });
  it('handles ** and escapes', () => {
    assert.equal(ignore.ignores('a/generated/b/c.ts'), true);
    assert.equal(ignore.ignores('secret#file'), true);
    assert.equal(ignore.ignores('src/index.ts'), false);
  });
  it('a nested .gitignore only applies below its folder', () => {
    const nested = new GitignoreMatcher('*.tmp\n', 'pkg');
    assert.equal(nested.ignores('pkg/a.tmp'), true);
    assert.equal(nested.ignores('other/a.tmp'), false);
  });
  it('a file inside an ignored folder cannot be re-included by a negation', () => {
    const matcher = new GitignoreMatcher('build/\n!build/keep.js\n');
    assert.equal(matcher.ignores('build/keep.js'), true);
  });
});
