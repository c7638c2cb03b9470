import assert from 'node:assert/strict';
import type { StrategyName } from '../../../extension/protocol';
import { AcceptanceStats, LatencyCurve } from '../../../extension/decoder/draft/costModel';
import { SeededRandom } from '../../../extension/decoder/draft/prng';
import { TokenIndex } from '../../../extension/decoder/retrieval/tokenIndex';
import { createStrategy, type StrategyDeps } from '../../../extension/decoder/strategies';
import { decodeWith, greedyReference, hashModel, textModel, unaryModel, type FakeModel } from './fakeModel';

function seeded(seed: number) {
  const generator = new SeededRandom(seed);
  return (n: number) => generator.nextUint32() % n;
}

const DRAFTING: StrategyName[] = ['jacobi', 'pld', 'tr-jacobi'];

function workspaceWith(docs: number[][]): TokenIndex {
  const index = new TokenIndex({ orders: [2, 4] });
  docs.forEach((tokens, i) => index.add(`file${i}.ts`, tokens));
  return index;
}

describe('strategies: lossless against plain greedy decoding', () => {
  for (const name of ['ar', ...DRAFTING] as StrategyName[]) {
    it(`${name} emits exactly the greedy tokens for 300 random prompts`, async () => {
      const random = seeded(name.length * 7919);
      const budgets = [0, 0, 1, 3, 8, 30];
      let drafted = 0;
      for (let trial = 0; trial < 300; trial++) {
        const vocab = 3 + random(40);
        const text = Array.from({ length: 200 }, () => random(vocab));
        const model: FakeModel = trial % 2 === 0 ? hashModel(vocab, trial) : textModel(text, vocab, trial);
        const prompt = trial % 3 === 0
          ? text.slice(random(100), 110 + random(40))
          : Array.from({ length: 1 + random(60) }, () => random(vocab));
        const deps: StrategyDeps = {
          treeBudget: budgets[trial % budgets.length],
          seed: trial,
          workspace: trial % 4 === 1 ? workspaceWith([text, text.slice(50).reverse()]) : undefined,
          latencyCurve: trial % 5 === 0 ? { 1: 1, 64: 1 } : undefined,
        };
        const strategy = createStrategy(name, deps);
        const maxTokens = 1 + random(60);
        const result = await decodeWith(strategy, model, prompt, maxTokens);
        assert.deepEqual(result.tokens, greedyReference(model, prompt, maxTokens), `trial ${trial}`);
        drafted += result.treeSizes.reduce((s, q) => s + q - 1, 0);
        if (deps.treeBudget) assert.ok(result.treeSizes.every((q) => q <= deps.treeBudget! + 1));
      }
      if (name === 'ar') assert.equal(drafted, 0);
      else assert.ok(drafted > 300, `${name} drafted only ${drafted} nodes`);
    });
  }

  it('a strategy reused across requests stays lossless (statistics carry over)', async () => {
    const random = seeded(99);
    const shared = new AcceptanceStats();
    for (const name of DRAFTING) {
      const strategy = createStrategy(name, { stats: shared, seed: 5 });
      for (let request = 0; request < 40; request++) {
        const vocab = 5 + random(10);
        const model = hashModel(vocab, request);
        const prompt = Array.from({ length: 5 + random(30) }, () => random(vocab));
        assert.deepEqual((await decodeWith(strategy, model, prompt, 40)).tokens, greedyReference(model, prompt, 40));
      }
    }
  });
});

describe('strategies: speed on predictable text', () => {
  const motif = [11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22];
  const repetitive = Array.from({ length: 20 }, () => motif).flat();

  it('pld and tr-jacobi accept several tokens per pass on a repetitive sequence', async () => {
    const model = textModel(repetitive, 32, 1);
    const prompt = repetitive.slice(0, 30);
    for (const name of ['pld', 'tr-jacobi'] as StrategyName[]) {
      const result = await decodeWith(createStrategy(name, {}), model, prompt, 120);
      assert.deepEqual(result.tokens, greedyReference(model, prompt, 120));
      const perPass = result.tokens.length / result.passes;
      assert.ok(perPass > 4, `${name}: ${perPass.toFixed(2)} tokens per pass`);
    }
    const ar = await decodeWith(createStrategy('ar'), model, prompt, 120);
    assert.equal(ar.passes, 120);
  });

  it('tr-jacobi finds a continuation in the workspace that the prompt does not contain', async () => {
    const random = seeded(4);
    const vocab = 200;
    const file = Array.from({ length: 400 }, () => random(vocab)); // no repetition inside
    const model = textModel(file, vocab, 2);
    const prompt = [7, 7, ...file.slice(100, 104)];
    const workspace = workspaceWith([Array.from({ length: 300 }, () => random(vocab)), file]);
    const withWorkspace = await decodeWith(createStrategy('tr-jacobi', { workspace }), model, prompt, 100);
    const without = await decodeWith(createStrategy('tr-jacobi', {}), model, prompt, 100);
    assert.deepEqual(withWorkspace.tokens, greedyReference(model, prompt, 100));
    assert.deepEqual(without.tokens, withWorkspace.tokens);
    assert.ok(withWorkspace.tokens.length / withWorkspace.passes > 4, `${withWorkspace.passes} passes`);
    assert.ok(withWorkspace.passes * 1.5 < without.passes, `${withWorkspace.passes} vs ${without.passes}`);
  });

  it('tr-jacobi drops Jacobi guesses that never pay, after probing them (draft/jacobiGate.ts: the rule itself)', async () => {
    const jacobiNodes = (trees: { nodes: readonly { source: string }[] }[]) => trees.map((t) => t.nodes.filter((n) => n.source === 'jacobi' || n.source === 'noise').length);
    // A hash model over a large vocabulary: guesses made on a rejected chain are wrong.
    const random = seeded(9);
    const noisy = hashModel(2000, 5);
    const start = Array.from({ length: 50 }, () => random(2000));
    const wasted = await decodeWith(createStrategy('tr-jacobi', {}), noisy, start, 40, true);
    assert.deepEqual(wasted.tokens, greedyReference(noisy, start, 40));
    const nodes = jacobiNodes(wasted.trees);
    assert.ok(nodes.slice(0, 5).some((n) => n > 0), `Jacobi is probed first: ${nodes.join(',')}`);
    assert.ok(nodes.slice(-10).every((n) => n === 0), `and dropped once it does not pay: ${nodes.join(',')}`);
  });

  it('jacobi converges on a model with a fixed point', async () => {
    // Halves the distance to 40 at every token: from any guess the Jacobi iteration
    // reaches the fixed point in a few passes, after which the whole chain is accepted.
    // (A fully accepted chain leaves no guesses behind, so the next chain restarts from
    // noise and converges again.)
    const model = unaryModel(48, (last) => (last >= 40 ? 40 : last + Math.ceil((40 - last) / 2)));
    const prompt = [3, 1, 4, 1, 5];
    const result = await decodeWith(createStrategy('jacobi', { treeBudget: 6 }), model, prompt, 200, true);
    assert.deepEqual(result.tokens, greedyReference(model, prompt, 200));
    const fullChains = result.trees.filter((t) => t.nodes.every((n) => n.token === 40)).length;
    assert.ok(fullChains >= 15, `${fullChains} passes converged`);
    assert.ok(200 / result.passes > 2.5, `${result.passes} passes`);
    // Automatic sizing learns (with some exploration) that deeper guesses pay and grows the chain.
    const auto = await decodeWith(createStrategy('jacobi', {}), model, prompt, 400);
    assert.deepEqual(auto.tokens, greedyReference(model, prompt, 400));
    const late = auto.treeSizes.slice(-20);
    const early = auto.treeSizes.slice(0, 20);
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    assert.ok(mean(late) > mean(early) + 1, `tree sizes: early ${early}, late ${late}`);
    assert.ok(400 / auto.passes > 2.5, `${auto.passes} passes`);
  });

  it('tr-jacobi learns Jacobi acceptance on a constant model', async () => {
    const model = unaryModel(20, () => 3);
    const result = await decodeWith(createStrategy('tr-jacobi', {}), model, [1, 2], 300);
    assert.deepEqual(result.tokens, greedyReference(model, [1, 2], 300));
    assert.ok(result.tokens.length / result.passes > 5, `${(result.tokens.length / result.passes).toFixed(2)} per pass`);
  });
});

describe('strategies: shape and determinism', () => {
  it('ar verifies the root alone', async () => {
    const strategy = createStrategy('ar', { treeBudget: 30 });
    strategy.begin([1, 2, 3]);
    assert.deepEqual(strategy.draft(3, [1, 2, 3]).nodes, [{ token: 3, parent: -1, depth: 0, source: 'root' }]);
  });

  it('jacobi drafts a single chain; pld one retrieved chain or nothing', async () => {
    const model = hashModel(30, 1);
    const jacobi = await decodeWith(createStrategy('jacobi', { treeBudget: 5 }), model, [1, 2, 3], 50, true);
    jacobi.trees.forEach((tree, step) => {
      tree.nodes.forEach((n, i) => assert.equal(n.parent, i - 1));
      // Near the end of the request the chain is cut to the tokens left (deeper guesses would be wasted).
      assert.equal(tree.nodes.length, Math.min(6, jacobi.tokensLeft[step]));
    });
    assert.equal(jacobi.trees[0].nodes[1].source, 'noise'); // cold start
    assert.ok(jacobi.trees.slice(1).some((t) => t.nodes[1].source === 'jacobi'));
    const pld = createStrategy('pld', {});
    pld.begin([1, 2, 3, 4]);
    assert.equal(pld.draft(4, [1, 2, 3, 4]).nodes.length, 1, 'no match: root only');
    pld.begin([1, 2, 3, 4, 1, 2]);
    const tree = pld.draft(2, [1, 2, 3, 4, 1, 2]);
    assert.deepEqual(tree.nodes.map((n) => n.token), [2, 3, 4, 1, 2].slice(0, tree.nodes.length));
    assert.ok(tree.nodes.length >= 3);
    assert.ok(tree.nodes.every((n, i) => n.parent === i - 1 && (i === 0 || n.source === 'retrieval')));
    // Nodes deeper than the tokens the request may still emit are never drafted.
    for (const tokensLeft of [1, 2, 3]) {
      const limited = pld.draft(2, [1, 2, 3, 4, 1, 2], tokensLeft);
      assert.ok(limited.nodes.every((n) => n.depth <= tokensLeft - 1), `tokensLeft ${tokensLeft}: depth ${Math.max(...limited.nodes.map((n) => n.depth))}`);
    }
    for (const name of ['jacobi', 'tr-jacobi'] as const) {
      const strategy = createStrategy(name, { treeBudget: 16 });
      strategy.begin([1, 2, 3, 4, 1, 2]);
      assert.equal(strategy.draft(2, [1, 2, 3, 4, 1, 2], 1).nodes.length, 1, `${name}: one token left, root only`);
    }
  });

  it('tr-jacobi mixes Jacobi candidates and retrieval into one tree with the budget filled', async () => {
    const random = seeded(8);
    const vocab = 60;
    const text = Array.from({ length: 300 }, () => random(vocab));
    const model = textModel(text, vocab, 3);
    const prompt = [...text.slice(0, 40), ...text.slice(10, 14)];
    const result = await decodeWith(createStrategy('tr-jacobi', { treeBudget: 24 }), model, prompt, 60, true);
    const sources = new Set(result.trees.flatMap((t) => t.nodes.map((n) => n.source)));
    assert.ok(sources.has('jacobi') && sources.has('retrieval') && sources.has('noise'), [...sources].join());
    assert.ok(result.trees.every((t, step) => result.tokensLeft[step] <= 24 || t.nodes.length === 25));
    assert.ok(result.trees.some((t) => t.nodes.filter((n) => n.parent === 0).length > 1), 'a tree, not only chains');
  });

  it('is deterministic for a seed, and the seed only changes what is checked', async () => {
    const model = hashModel(25, 4);
    const prompt = [1, 2, 3, 4, 5, 6, 7, 8];
    const shapes = async (seed: number) => await decodeWith(createStrategy('tr-jacobi', { seed, treeBudget: 10 }), model, prompt, 80, true);
    const a = await shapes(1);
    const b = await shapes(1);
    const c = await shapes(2);
    assert.deepEqual(a.trees, b.trees);
    assert.notDeepEqual(a.trees, c.trees);
    assert.deepEqual(a.tokens, c.tokens);
  });

  it('survives the runtime verifying a tree of its own', async () => {
    const strategy = createStrategy('tr-jacobi', {});
    strategy.begin([1, 2, 3]);
    strategy.draft(3, [1, 2, 3]);
    const rootOnly = { nodes: [{ token: 3, parent: -1, depth: 0, source: 'root' as const }] };
    strategy.observe({ tree: rootOnly, acceptance: { path: [0], emitted: [4], acceptedBySource: { jacobi: 0, retrieval: 0, noise: 0 } }, topK: () => Int32Array.of(4), forwardMs: 1 });
    assert.ok(strategy.draft(4, [1, 2, 3, 4]).nodes.length >= 1);
  });

  it('keeps its Jacobi guesses, one token on, across a root-only step of the runtime (near the context limit)', async () => {
    const strategy = createStrategy('tr-jacobi', { treeBudget: 8 });
    strategy.begin([1, 2, 3]);
    const tree = strategy.draft(3, [1, 2, 3]);
    // The root is accepted alone (no draft matched); its logits and the drafts' give guesses 50.., 60.., ...
    const topK = (node: number, k: number) => Int32Array.from({ length: k }, (_, r) => 50 + 10 * node + r);
    strategy.observe({ tree, acceptance: { path: [0], emitted: [50], acceptedBySource: { jacobi: 0, retrieval: 0, noise: 0 } }, topK, forwardMs: 1 });
    const rootOnly = { nodes: [{ token: 50, parent: -1, depth: 0, source: 'root' as const }] };
    strategy.observe({ tree: rootOnly, acceptance: { path: [0], emitted: [77], acceptedBySource: { jacobi: 0, retrieval: 0, noise: 0 } }, topK: () => Int32Array.of(77), forwardMs: 1 });
    const next = strategy.draft(77, [1, 2, 3, 50, 77]);
    assert.ok(next.nodes.some((n) => n.source === 'jacobi'), `guesses survive the probe: ${JSON.stringify(next.nodes)}`);
  });

  it('rejects an unknown strategy name', async () => {
    assert.throws(() => createStrategy('beam' as StrategyName), RangeError);
  });

  it('drafts a 64-node tree with workspace retrieval in well under a millisecond', async function () {
    this.timeout(60_000);
    const random = seeded(12);
    const vocab = 256;
    const docs = Array.from({ length: 40 }, () => Array.from({ length: 25_000 }, () => random(200)));
    const workspace = workspaceWith(docs); // 1M tokens, small alphabet: hot n-grams
    const model = hashModel(vocab, 9);
    const prompt = Array.from({ length: 500 }, () => random(200));
    const strategy = createStrategy('tr-jacobi', { workspace, treeBudget: 63, latencyCurve: LatencyCurve.defaultCurve() });
    await decodeWith(strategy, model, prompt, 50); // warm up
    const result = await decodeWith(strategy, model, prompt, 200);
    // The median: the fake model allocates a lot, and its garbage collections land anywhere.
    const times = result.draftTimes.slice().sort((a, b) => a - b);
    const median = times[times.length >> 1];
    assert.ok(result.treeSizes.every((q, step) => result.tokensLeft[step] <= 63 || q === 64));
    assert.ok(median < 0.5, `${median.toFixed(3)} ms per draft (median)`);
    console.log(`      tr-jacobi draft, 64 nodes, 1M-token workspace: median ${median.toFixed(3)} ms, mean ${(result.draftMs / result.passes).toFixed(3)} ms`);
  });
});
