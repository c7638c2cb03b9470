import assert from 'node:assert/strict';
import { OutputHistory } from '../../../extension/decoder/retrieval/outputHistory';

const query = (history: OutputHistory, tail: number[]) =>
  history.index.query(tail, { maxContinuations: 2, length: 4, minMatch: 3 }).map((c) => [...c.tokens]);

describe('OutputHistory', () => {
  it("finds an earlier request's output from the tail of its prompt", () => {
    const history = new OutputHistory({ requests: 8, lead: 3 });
    history.start([100, 101, 10, 11, 12]);
    history.record([20, 21]);
    history.record([22]);
    assert.deepEqual(query(history, [50, 10, 11, 12]), [], 'the current request is not indexed before the next one starts');
    history.start([7, 10, 11, 12]);
    assert.equal(history.size, 1);
    assert.deepEqual(query(history, [50, 10, 11, 12]), [[20, 21, 22]]);
    assert.deepEqual(query(history, [101, 10, 11]), [], 'prompt tokens before the lead are not kept');
  });

  it('keeps only the last `requests` records, newest first', () => {
    const history = new OutputHistory({ requests: 2, lead: 3 });
    for (const output of [[30], [31], [32]]) {
      history.start([1, 2, 3]);
      history.record(output);
    }
    history.commit();
    assert.equal(history.size, 2);
    assert.deepEqual(query(history, [1, 2, 3]), [[32], [31]]);
  });

  it('indexes nothing for a request that emitted nothing', () => {
    const history = new OutputHistory({ requests: 4, lead: 2 });
    history.start([1, 2, 3]);
    history.start([4, 5, 6]);
    history.record([]);
    history.commit();
    assert.equal(history.size, 0);
    assert.equal(history.index.tokenCount, 0);
  });

  it('discardPending drops the current record, clear every record', () => {
    const history = new OutputHistory({ requests: 4, lead: 3 });
    history.start([1, 2, 3]);
    history.record([40]);
    history.discardPending();
    history.start([1, 2, 3]);
    history.record([41]);
    history.commit();
    assert.deepEqual(query(history, [1, 2, 3]), [[41]], 'the discarded output was never indexed');
    history.clear();
    assert.equal(history.size, 0);
    assert.deepEqual(query(history, [1, 2, 3]), []);
  });
});
