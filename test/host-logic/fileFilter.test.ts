import { strict as assert } from 'node:assert';
import { enabledGlobs, looksBinary, skipReasonForPath, skipReasonForSize } from '../../extension/host/logic/fileFilter';
import { GitignoreMatcher } from '../../extension/host/logic/gitignore';

describe('corpus file filter', () => {
  const options = {
    include: ['**/*.{ts,py}'],
    exclude: ['**/node_modules/**', '**/*.min.ts'],
    maxFileSizeBytes: 1000,
    gitignores: [new GitignoreMatcher('out/\n')],
  };

  it('decides on the path: include, exclude, .gitignore', () => {
    assert.equal(skipReasonForPath('src/a.ts', options), null);
    assert.equal(skipReasonForPath('src/a.rs', options), 'not-included');
    assert.equal(skipReasonForPath('node_modules/x/a.ts', options), 'excluded');
    assert.equal(skipReasonForPath('lib/a.min.ts', options), 'excluded');
    assert.equal(skipReasonForPath('out/a.ts', options), 'gitignored');
  });

  it('an exclude glob naming a folder excludes the files inside it, as files.exclude does', () => {
    const withFolderGlobs = { ...options, exclude: ['**/.git', 'generated'] };
    assert.equal(skipReasonForPath('.git/hooks/a.py', withFolderGlobs), 'excluded');
    assert.equal(skipReasonForPath('pkg/.git/x.ts', withFolderGlobs), 'excluded');
    assert.equal(skipReasonForPath('generated/a.ts', withFolderGlobs), 'excluded');
    assert.equal(skipReasonForPath('src/generated/a.ts', withFolderGlobs), null);
    assert.equal(skipReasonForPath('src/.gitkeep.ts', withFolderGlobs), null);
  });

  it('an empty include list takes every file', () => {
    assert.equal(skipReasonForPath('anything.xyz', { ...options, include: [] }), null);
  });

  it('caps the size', () => {
    assert.equal(skipReasonForSize(1000, options), null);
    assert.equal(skipReasonForSize(1001, options), 'too-large');
  });

  it('recognises binary content but not unicode text', () => {
    assert.equal(looksBinary(new TextEncoder().encode('const x = "héllo wörld ✓ 😀";\n\tret\r\n')), false);
    assert.equal(looksBinary(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13])), true);
    const noise = new Uint8Array(4096);
    let seed = 7;
    for (let i = 0; i < noise.length; i++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      noise[i] = 1 + (seed % 255); // no NUL: must be caught by the other tests
    }
    assert.equal(looksBinary(noise), true);
    assert.equal(looksBinary(new Uint8Array(0)), false);
  });

  it('a multi-byte character cut at the sniff boundary is still text', () => {
    const text = 'a'.repeat(8191) + '€'; // '€' is 3 bytes, starts at byte 8191
    assert.equal(looksBinary(new TextEncoder().encode(text)), false);
  });

  it('reads files.exclude-style settings', () => {
    assert.deepEqual(enabledGlobs({ '**/.git': true, '**/tmp': false, '**/*.x': { when: '$(basename).y' } }), ['**/.git']);
    assert.deepEqual(enabledGlobs(undefined), []);
  });
});
