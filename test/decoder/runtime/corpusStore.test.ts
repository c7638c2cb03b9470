import * as assert from 'node:assert/strict';
import { judgeDocument } from '../../../extension/decoder/engine/documentFilter';
import { CorpusStore } from '../../../extension/decoder/engine/corpusStore';
import type { LoadedModel } from '../../../extension/decoder/model/modelDir';
import { TokenIndex } from '../../../extension/decoder/retrieval/tokenIndex';
import { fixtureModel } from './fixtureModel';

describe('workspace corpus', () => {
  let m: LoadedModel;
  before(async () => {
    m = await fixtureModel();
  });

  it('judges binary-looking and huge documents', () => {
    assert.deepEqual(judgeDocument('def f():\n\treturn 1\r\n'), { index: true });
    assert.equal(judgeDocument('PK\u0003\u0004\u0000\u0000').index, false);
    assert.equal(judgeDocument('\u0001\u0002\u0003\u0004abc'.repeat(10)).index, false);
    assert.equal(judgeDocument('\uFFFD\uFFFD\uFFFDab'.repeat(10)).index, false);
    assert.equal(judgeDocument('x'.repeat(101), 100).index, false);
    assert.deepEqual(judgeDocument('emoji 🎉 and 世界 are fine'), { index: true });
  });

  it('add / update / remove keep counts and the index equal to a rebuild', async () => {
    const corpus = new CorpusStore();
    const index = new TokenIndex();
    await corpus.attach(m.tokenizer, index);
    const a = 'import os\nprint(os.getcwd())\n';
    const b = 'export const x = 1;\n';
    const added = await corpus.upsert([{ uri: 'a.py', text: a }, { uri: 'b.ts', text: b }, { uri: 'c.bin', text: 'ELF\u0000\u0001' }]);
    assert.equal(added.documents, 2);
    assert.equal(added.tokens, m.tokenizer.encode(a).length + m.tokenizer.encode(b).length);
    assert.deepEqual(added.skipped.map((s) => s.uri), ['c.bin']);

    const a2 = 'import sys\nprint(sys.argv)\n';
    const updated = await corpus.upsert([{ uri: 'a.py', text: a2 }]);
    assert.equal(updated.documents, 2);
    assert.equal(updated.tokens, m.tokenizer.encode(a2).length + m.tokenizer.encode(b).length);
    assert.deepEqual([...index.tokensOf('a.py')!], m.tokenizer.encode(a2));

    const removed = await corpus.remove(['b.ts', 'never-added.ts']);
    assert.deepEqual(removed, { documents: 1, tokens: m.tokenizer.encode(a2).length });
    assert.equal(index.has('b.ts'), false);

    // A document that turns binary leaves the corpus.
    const binary = await corpus.upsert([{ uri: 'a.py', text: '\u0000' }]);
    assert.deepEqual({ documents: binary.documents, tokens: binary.tokens }, { documents: 0, tokens: 0 });
    assert.equal(index.documentCount, 0);
  });

  it('documents pushed before a model is loaded are indexed when it attaches', async () => {
    const corpus = new CorpusStore();
    const early = await corpus.upsert([{ uri: 'x.py', text: 'x = 1\n' }]);
    assert.deepEqual({ documents: early.documents, tokens: early.tokens }, { documents: 1, tokens: 0 });
    const index = new TokenIndex();
    const counts = await corpus.attach(m.tokenizer, index);
    assert.deepEqual(counts, { documents: 1, tokens: m.tokenizer.encode('x = 1\n').length });
    assert.deepEqual([...index.tokensOf('x.py')!], m.tokenizer.encode('x = 1\n'));
  });
});
