import { strict as assert } from 'node:assert';
import { DecoderClient, DecoderError } from '../../extension/host/logic/decoderClient';

/** A client whose sent lines are recorded; answers are fed back by hand. */
function harness() {
  const sent: Array<{ id: number; method: string; params: Record<string, unknown> }> = [];
  const progress: unknown[] = [];
  const stray: string[] = [];
  const speedups: Array<{ id: number; tokens: number }> = [];
  const client = new DecoderClient((line) => sent.push(JSON.parse(line)), {
    onProgress: (data) => progress.push(data),
    onSpeedup: (id, measurement) => speedups.push({ id, tokens: measurement.tokens }),
    onStrayLine: (line) => stray.push(line),
  });
  return { client, sent, progress, stray, speedups };
}

describe('DecoderClient', () => {
  it('numbers requests and matches responses by id, in any order', async () => {
    const { client, sent } = harness();
    const first = client.request('stats', {});
    const second = client.request('corpus.remove', { uris: ['a'] });
    assert.equal(sent.length, 2);
    assert.notEqual(sent[0].id, sent[1].id);
    client.handleLine(JSON.stringify({ id: second.id, result: { documents: 0, tokens: 0 } }));
    client.handleLine(JSON.stringify({ id: first.id, result: { model: null, corpus: { documents: 1, tokens: 2 }, recent: [] } }));
    assert.deepEqual(await second.result, { documents: 0, tokens: 0 });
    assert.equal((await first.result).corpus.tokens, 2);
    assert.equal(client.openRequests, 0);
  });

  it('turns error responses into DecoderError with the protocol code', async () => {
    const { client } = harness();
    const handle = client.request('complete', { prefix: 'a', suffix: '', mode: 'line', maxTokens: 4 });
    client.handleLine(JSON.stringify({ id: handle.id, error: { code: 'model-not-loaded', message: 'load first' } }));
    await assert.rejects(handle.result, (error: DecoderError) => error.code === 'model-not-loaded' && /load first/.test(error.message));
  });

  it('routes chunk events to their request and progress events to the hook', async () => {
    const { client, progress } = harness();
    const chunks: string[] = [];
    const handle = client.request('generate', { prefix: 'x', maxTokens: 8 }, { onChunk: (text) => chunks.push(text) });
    client.handleLine(JSON.stringify({ id: handle.id, event: 'chunk', data: { text: 'he' } }));
    client.handleLine(JSON.stringify({ event: 'progress', data: { phase: 'indexing', message: 'x', done: 1, total: 2 } }));
    client.handleLine(JSON.stringify({ id: handle.id, event: 'chunk', data: { text: 'llo' } }));
    client.handleLine(JSON.stringify({ id: handle.id, result: { text: 'hello', stats: {} } }));
    assert.equal((await handle.result).text, 'hello');
    assert.deepEqual(chunks, ['he', 'llo']);
    assert.equal(progress.length, 1);
  });

  it('hands speedup events to their hook after the answer; a malformed one is a stray line, not a figure', () => {
    const { client, speedups, stray } = harness();
    const data = { strategy: 'tr-jacobi', tokens: 40, liveMs: 30, treeIdleMs: 25, arIdleMs: 60 };
    client.handleLine(JSON.stringify({ id: 7, event: 'speedup', data }));
    assert.deepEqual(speedups, [{ id: 7, tokens: 40 }]);
    for (const bad of [{ ...data, liveMs: 'fast' }, { ...data, arIdleMs: -1 }, { ...data, strategy: 'magic' }, null]) {
      client.handleLine(JSON.stringify({ id: 8, event: 'speedup', data: bad }));
    }
    client.handleLine(JSON.stringify({ id: 9, event: 'mystery', data: {} }));
    assert.equal(speedups.length, 1);
    assert.equal(stray.length, 5);
  });

  it('request ids stay unique across clients (a restarted decoder): a late event names one completion only', () => {
    const a = harness();
    const b = harness();
    const ids = [a.client.request('stats', {}).id, b.client.request('stats', {}).id, a.client.request('stats', {}).id];
    assert.equal(new Set(ids).size, 3);
  });

  it('cancel sends a cancel request naming the request, and swallows its answer', async () => {
    const { client, sent, stray } = harness();
    const handle = client.request('complete', { prefix: 'a', suffix: '', mode: 'line', maxTokens: 4 });
    handle.cancel();
    assert.equal(sent[1].method, 'cancel');
    assert.deepEqual(sent[1].params, { requestId: handle.id });
    client.handleLine(JSON.stringify({ id: sent[1].id, result: { cancelled: true } }));
    client.handleLine(JSON.stringify({ id: handle.id, error: { code: 'cancelled', message: 'stopped' } }));
    await assert.rejects(handle.result, (error: DecoderError) => error.code === 'cancelled');
    assert.deepEqual(stray, []);
  });

  it('times out, and cancels a decoding request that timed out', async () => {
    const { client, sent } = harness();
    const handle = client.request('complete', { prefix: 'a', suffix: '', mode: 'line', maxTokens: 4 }, { timeoutMs: 20 });
    await assert.rejects(handle.result, (error: DecoderError) => error.code === 'timeout');
    assert.equal(sent.at(-1)!.method, 'cancel');
    // A late answer is reported as stray, not delivered twice.
    client.handleLine(JSON.stringify({ id: handle.id, result: { text: 'late', stats: {} } }));
    assert.equal(client.openRequests, 0);
  });

  it('close fails every open request and every later one', async () => {
    const { client } = harness();
    const a = client.request('stats', {});
    const b = client.request('generate', { prefix: '', maxTokens: 1 });
    client.close(new DecoderError('exited', 'gone'));
    await assert.rejects(a.result, /gone/);
    await assert.rejects(b.result, /gone/);
    await assert.rejects(client.request('stats', {}).result, /gone/);
  });

  it('reports lines that are not JSON without failing anything', () => {
    const { client, stray } = harness();
    client.handleLine('warning: something printed to stdout');
    client.handleLine(JSON.stringify({ id: 999, result: {} }));
    assert.equal(stray.length, 2);
  });

  it('a send that throws rejects that request only', async () => {
    const client = new DecoderClient(() => {
      throw new Error('EPIPE');
    });
    await assert.rejects(client.request('stats', {}).result, (error: DecoderError) => error.code === 'not-running');
  });
});
