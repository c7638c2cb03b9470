import { strict as assert } from 'node:assert';
import { CorpusQueue } from '../../extension/host/logic/corpusQueue';
import { shareCap } from '../../extension/host/logic/folderShare';

const files = (folder: string, count: number) => Array.from({ length: count }, (_, i) => `${folder}/${i}`);

describe('multi-root workspaces (host side)', () => {
  it('the file cap is shared: a big first folder leaves the second its share', () => {
    const [first, second] = shareCap([files('a', 5000), files('b', 300)], 2000);
    assert.equal(first.length, 1700);
    assert.deepEqual(second, files('b', 300));
    assert.deepEqual(shareCap([files('a', 5000), files('b', 5000)], 2000).map((l) => l.length), [1000, 1000]);
  });

  it('what a small folder leaves goes to the others; order kept; one folder is a plain cut', () => {
    const shares = shareCap([files('a', 10), files('b', 1), files('c', 10)], 12);
    assert.deepEqual(shares.map((l) => l.length), [6, 1, 5]);
    assert.deepEqual(shares[0], files('a', 6));
    assert.deepEqual(shareCap([files('a', 10)], 4), [files('a', 4)]);
    assert.deepEqual(shareCap([files('a', 3), []], 10), [files('a', 3), []]);
    assert.deepEqual(shareCap([files('a', 3)], 0), [[]]);
    assert.equal(shareCap([files('a', 7), files('b', 7), files('c', 7)], 20).flat().length, 20);
  });

  it('corpus documents go to the decoder with their own folder\'s name and a path relative to it', () => {
    const locations: Record<string, { path: string; repoName?: string }> = {
      'file:///w/app/src/index.ts': { path: 'src/index.ts', repoName: 'app' },
      'file:///w/lib/src/index.ts': { path: 'src/index.ts', repoName: 'lib' },
      'untitled:Untitled-1': { path: 'Untitled-1' },
    };
    const queue = new CorpusQueue((uri) => locations[uri]);
    for (const uri of Object.keys(locations)) queue.upsert(uri, 'text');
    const batch = queue.takeBatch(1000);
    assert.deepEqual(batch, { method: 'corpus.upsert', params: { documents: Object.entries(locations).map(([uri, location]) => ({ uri, text: 'text', ...location })) } });
  });
});
