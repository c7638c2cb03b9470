import assert from 'node:assert/strict';
import type { DraftNode } from '../../../extension/decoder/draft/types';
import { parseMixtureWeights, MIXTURE_FORMAT } from '../../../extension/decoder/mixture/mixtureWeights';
import { HealingConstraint } from '../../../extension/decoder/mixture/tokenHealing';
import { currentDocumentExclusion, mixedChoice, mixedChoiceAmong, RequestMixture, type NgramDistribution } from '../../../extension/decoder/mixture/workspaceMixture';
import { TokenIndex } from '../../../extension/decoder/retrieval/tokenIndex';

const VOCAB = 8;
const weights = (lambda: number) => parseMixtureWeights({
  format: MIXTURE_FORMAT, match_edges: [2], count_edges: [1], confidence_edges: [0],
  lambda: { workspace: [[[lambda]]], own: [[[lambda]]] },
});
/** One logits row per entry: the given token ids get the given logits, the rest -10. */
function rows(...entries: Record<number, number>[]): Float32Array {
  const logits = new Float32Array(entries.length * VOCAB).fill(-10);
  entries.forEach((e, r) => { for (const [t, x] of Object.entries(e)) logits[r * VOCAB + Number(t)] = x; });
  return logits;
}
const texts = Array.from({ length: VOCAB }, (_, i) => `t${i}`);

describe('TokenIndex.nextTokenCounts', () => {
  it('counts what followed the longest suffix match, outside excluded documents', () => {
    const index = new TokenIndex({ orders: [2, 4] });
    index.set('a', [1, 2, 3, 4, 5]);
    index.set('b', [9, 2, 3, 4, 6, 2, 3, 4, 6]);
    index.set('c', [7, 3, 4, 7]);
    // Tail [1,2,3,4]: the longest match (4) is in 'a' only.
    assert.deepEqual(index.nextTokenCounts([1, 2, 3, 4]), { matchLength: 4, tokens: [5], counts: [1], total: 1 });
    // Tail [0,2,3,4]: three matches of length 3, followed by 6, 6 and 5.
    const counts = index.nextTokenCounts([0, 2, 3, 4]);
    assert.equal(counts.matchLength, 3);
    assert.deepEqual(Object.fromEntries(counts.tokens.map((t, i) => [t, counts.counts[i]])), { 5: 1, 6: 2 });
    // Excluding 'b' leaves 'a'; a match shorter than the smallest order is none.
    assert.deepEqual(index.nextTokenCounts([0, 2, 3, 4], new Map([['b', 0]])).tokens, [5]);
    assert.equal(index.nextTokenCounts([8, 4]).matchLength, 0);
    // A match at a document's end has no next token.
    assert.equal(index.nextTokenCounts([3, 4, 7]).matchLength, 0);
  });
});

describe('the current document in the datastore', () => {
  const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

  it('finds where a text occurs once and only once in a document', () => {
    const index = new TokenIndex();
    index.set('doc', [1, 2, 3, 4, 2, 3, 5]);
    assert.equal(index.onlyEndOf('doc', [3, 4]), 4);
    assert.equal(index.onlyEndOf('doc', [2, 3]), -1, 'twice');
    assert.equal(index.onlyEndOf('doc', [9]), -1);
    assert.equal(index.onlyEndOf('other', [1]), -1);
  });

  it('keeps what stands above the prompt\'s prefix and leaves out the prefix, the cursor and what follows', () => {
    const index = new TokenIndex({ orders: [2] });
    // The document: 100 tokens above the prefix window, then the window (200..299), then the text below (300..).
    const above = range(1000, 1100);
    const prefix = range(2000, 2100);
    index.set('doc', [...above, ...prefix, ...range(3000, 3050)]);
    const excluded = currentDocumentExclusion(index, 'doc', prefix);
    assert.deepEqual([...excluded], [['doc', 100]]);
    // Text above the window can be continued; the cursor's own continuation (what stands below it) cannot.
    assert.deepEqual(index.nextTokenCounts([1010, 1011], excluded).tokens, [1012]);
    assert.equal(index.nextTokenCounts([2098, 2099], excluded).matchLength, 0);
    // An index behind the editor (the prefix's end not found) leaves the whole document out.
    assert.deepEqual([...currentDocumentExclusion(index, 'doc', range(5000, 5100))], [['doc', 0]]);
  });
});

describe('the mixture\'s greedy choice', () => {
  const d = (tokens: number[], probabilities: number[]): NgramDistribution => ({ matchLength: 4, source: 'workspace', occurrences: 1, tokens, probabilities });
  const fixed = (lambda: number) => () => lambda;

  it('is the model\'s argmax at λ = 0 and the n-gram token when λ outweighs the model\'s margin', () => {
    const logits = rows({ 1: 2, 2: 1.5 });
    assert.equal(mixedChoice(logits, 0, VOCAB, 1, d([2], [1]), fixed(0)), 1);
    assert.equal(mixedChoice(logits, 0, VOCAB, 1, d([2], [1]), fixed(0.2)), 2);
    assert.equal(mixedChoice(logits, 0, VOCAB, 1, d([5], [1]), fixed(0.01)), 1);
  });

  it('asks for λ with the model\'s top probability', () => {
    const logits = rows({ 1: 2, 2: 1.5 });
    let seen = -1;
    mixedChoice(logits, 0, VOCAB, 1, d([2], [1]), (confidence) => { seen = confidence; return 0.5; });
    const sum = Math.exp(0) + Math.exp(-0.5) + 6 * Math.exp(-12);
    assert.ok(Math.abs(seen - 1 / sum) < 1e-6, `confidence ${seen}`);
  });

  it('breaks exact ties toward the lower id, as the model\'s argmax does', () => {
    const logits = rows({ 3: 1, 4: 1 });
    assert.equal(mixedChoice(logits, 0, VOCAB, 3, d([4, 3], [0.5, 0.5]), fixed(0.5)), 3);
  });

  it('among allowed tokens only', () => {
    const logits = rows({ 1: 5, 2: 1, 3: 0 });
    assert.equal(mixedChoiceAmong(logits, 0, VOCAB, Int32Array.of(2, 3), null, null), 2);
    assert.equal(mixedChoiceAmong(logits, 0, VOCAB, Int32Array.of(2, 3), d([3, 1], [0.5, 0.5]), fixed(0.9)), 3);
  });
});

describe('RequestMixture', () => {
  it('takes the request\'s own text over the workspace where its match is as long, the longer match otherwise', () => {
    const workspace = new TokenIndex({ orders: [2] });
    workspace.set('other', [1, 2, 3, 1, 2, 3, 1, 2, 4, 1, 2, 5, 6]);
    const own = (prefix: number[]) => new RequestMixture({ weights: weights(0.5), workspace, prefix, suffix: [], tokenTexts: texts }, new TokenIndex({ orders: [2] }));
    // [1, 2] occurs in the workspace (followed by 3, 3, 4, 5) and once in the prefix (followed by 7): the prefix's.
    const near = own([1, 2, 7, 0]).distribution([0, 1, 2])!;
    assert.deepEqual([near.source, near.matchLength, near.tokens, near.probabilities], ['own', 2, [7], [1]]);
    // [1, 2, 5] is the workspace's alone: its counts.
    const far = own([0, 7]).distribution([1, 2, 5])!;
    assert.deepEqual([far.source, far.matchLength, far.tokens], ['workspace', 3, [6]]);
    // Both hold [1, 2]; the workspace's longer match [3, 1, 2] wins.
    const longer = own([1, 2, 7, 0]).distribution([3, 1, 2])!;
    assert.equal(longer.source, 'workspace');
    assert.deepEqual(Object.fromEntries(longer.tokens.map((t, i) => [t, longer.probabilities[i]])), { 3: 0.5, 4: 0.5 });
  });

  it('chooses at each reachable node from that node\'s own path, in text order', () => {
    const workspace = new TokenIndex({ orders: [2] });
    workspace.set('other', [1, 2, 5, 1, 2, 6, 6]);
    workspace.set('current', [1, 2, 7]); // the document under the cursor: never read
    const mixture = new RequestMixture({ weights: weights(0.9), workspace, excluded: new Map([['current', 0]]), prefix: [1], suffix: [], tokenTexts: texts }, new TokenIndex({ orders: [2] }));
    // Root (after prefix [1]) then two children: 2 (matches the model and the n-grams' history) and 3.
    const nodes: DraftNode[] = [
      { token: 1, parent: -1, depth: 0, source: 'root' },
      { token: 2, parent: 0, depth: 1, source: 'retrieval' },
      { token: 3, parent: 0, depth: 1, source: 'jacobi' },
    ];
    // The model prefers 2 at the root, and 7 after [.., 1, 2]; the n-grams say 5 or 6 there ([1, 2] -> 5, 6).
    const logits = rows({ 2: 3 }, { 7: 3, 5: 0, 6: 0 }, { 0: 3 });
    const chosen = mixture.alongTree(logits, nodes, VOCAB, []);
    assert.equal(chosen[0], 2);
    assert.ok(chosen[1] === 5 || chosen[1] === 6, `the n-gram side wins at λ 0.9, got ${chosen[1]}`);
    assert.equal(chosen[2], -1, 'a node the walk cannot reach is not evaluated');
    // The same context as a chain of emitted tokens gives the same choice (what ar decodes).
    const chain = mixture.alongTree(rows({ 7: 3, 5: 0, 6: 0 }), [nodes[1]].map((n) => ({ ...n, parent: -1, depth: 0 })), VOCAB, [2]);
    assert.equal(chain[0], chosen[1]);
  });

  it('heals: the emitted tokens first spell the dropped text, which is hidden; a replay later on hides the rest', () => {
    const vocab = ['a', 'b', 'ab', 'abc', 'c', 'x'];
    const special = new Set<number>();
    const healing = new HealingConstraint('ab', vocab, special, () => []);
    const mixture = new RequestMixture({ weights: weights(0.5), prefix: [5], suffix: [], tokenTexts: vocab, healing }, new TokenIndex());
    assert.equal(mixture.hiddenText, 'ab');
    const logits = new Float32Array(2 * vocab.length).fill(-10);
    logits[5] = 4; // the model wants "x" first: not allowed before "ab" is spelt
    logits[3] = 1; // "abc"
    logits[vocab.length + 5] = 4;
    const nodes: DraftNode[] = [{ token: 5, parent: -1, depth: 0, source: 'root' }, { token: 3, parent: 0, depth: 1, source: 'jacobi' }];
    const chosen = mixture.alongTree(logits, nodes, vocab.length, []);
    assert.equal(vocab[chosen[0]], 'abc');
    assert.equal(vocab[chosen[1]], 'x', 'once spelt, the model is free');
    assert.equal(mixture.after([0]).hiddenText, 'b');
    assert.equal(mixture.after([3]).hiddenText, '');
  });
});
