import assert from 'node:assert/strict';
import { ChunkBatcher } from '../../extension/decoder/chunkBatcher';

describe('ChunkBatcher', () => {
  it('sends the first text at once, then at most one chunk per interval, and the rest on flush', () => {
    let now = 0;
    const sent: string[] = [];
    const chunks = new ChunkBatcher((text) => sent.push(text), 50, () => now);
    chunks.push('a');
    assert.deepEqual(sent, ['a']);
    for (const [t, text] of [[10, 'b'], [30, 'c'], [49, 'd']] as const) { now = t; chunks.push(text); }
    assert.deepEqual(sent, ['a'], 'nothing within the interval');
    now = 50;
    chunks.push('e');
    assert.deepEqual(sent, ['a', 'bcde']);
    now = 60;
    chunks.push('f');
    chunks.flush();
    chunks.flush();
    assert.deepEqual(sent, ['a', 'bcde', 'f'], 'flush sends what is pending, once');
    assert.equal(sent.join(''), 'abcdef', 'the chunks concatenate to the streamed text');
  });

  it('sends nothing for empty text', () => {
    const sent: string[] = [];
    const chunks = new ChunkBatcher((text) => sent.push(text), 50, () => 0);
    chunks.push('');
    chunks.flush();
    assert.deepEqual(sent, []);
  });
});
