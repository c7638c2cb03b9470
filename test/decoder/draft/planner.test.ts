import assert from 'node:assert/strict';
import { acceptGreedy } from '../../../extension/decoder/draft/acceptance';
import { AcceptanceStats, LatencyCurve } from '../../../extension/decoder/draft/costModel';
import { TreePlanner, type PlanRequest, type PlannedContinuation } from '../../../extension/decoder/draft/planner';

const FLAT = new LatencyCurve({ 1: 1, 64: 1 });

function seeded(seed: number) {
  let s = seed >>> 0;
  return (n: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s >>> 8) % n;
  };
}

/**
 * Reference: every candidate node the planner could ever take, built eagerly by
 * recursion with the same rules (children proposing one token merge, keeping the
 * highest probability), with the value of each.
 */
function allCandidateValues(request: PlanRequest, stats: AcceptanceStats): number[] {
  const values: number[] = [];
  type Cursor = { c: number; pos: number };
  function visit(depth: number, value: number, jacobiDepth: number, cursors: Cursor[]) {
    const children = new Map<number, { p: number; jd: number; cursors: Cursor[] }>();
    const offer = (token: number, p: number, jd: number, cursor?: Cursor) => {
      const child = children.get(token) ?? { p: 0, jd: -1, cursors: [] };
      child.p = Math.max(child.p, p);
      if (jd !== -1) child.jd = jd;
      if (cursor) child.cursors.push(cursor);
      children.set(token, child);
    };
    const jacobi = request.jacobi;
    if (jacobi && jacobiDepth !== -1 && jacobiDepth < jacobi.maxDepth && jacobiDepth < jacobi.table.knownDepth) {
      for (let r = 0; r < jacobi.ranks; r++) {
        offer(jacobi.table.tokens[jacobiDepth * jacobi.table.stride + r], stats.probability(stats.jacobiFeature(depth + 1, r)), jacobiDepth + 1);
      }
    }
    for (const { c, pos } of cursors) {
      const cont = request.continuations[c];
      if (pos + 1 < cont.tokens.length) {
        offer(cont.tokens[pos + 1], stats.probability(stats.retrievalFeature(cont.origin, cont.matchLength, pos + 1)), -1, { c, pos: pos + 1 });
      }
    }
    for (const child of children.values()) {
      values.push(value * child.p);
      visit(depth + 1, value * child.p, child.jd, child.cursors);
    }
  }
  visit(0, 1, request.jacobi ? 0 : -1, request.continuations.map((_, c) => ({ c, pos: -1 })));
  return values.sort((a, b) => b - a);
}

function randomRequest(random: (n: number) => number, budget: number): PlanRequest {
  const ranks = 1 + random(3);
  const maxDepth = 1 + random(4);
  const knownDepth = random(maxDepth + 1);
  const tokens = new Int32Array(ranks * maxDepth);
  for (let d = 0; d < maxDepth; d++) {
    // distinct tokens per row, as a top-k is
    const row = new Set<number>();
    while (row.size < ranks) row.add(random(4));
    [...row].forEach((t, r) => (tokens[d * ranks + r] = t));
  }
  const continuations: PlannedContinuation[] = Array.from({ length: random(4) }, () => ({
    tokens: Array.from({ length: 1 + random(5) }, () => random(4)),
    matchLength: 1 + random(6),
    origin: random(2) === 0 ? 'context' : 'workspace',
  }));
  return {
    root: 9, jacobi: random(4) === 0 ? undefined : { table: { tokens, stride: ranks, knownDepth }, ranks, maxDepth },
    continuations, budget, maxDrafts: 64, minDrafts: 0,
  };
}

describe('TreePlanner', () => {
  it('with a fixed budget, takes the most valuable nodes a tree of that size can hold', () => {
    const random = seeded(1);
    const stats = new AcceptanceStats();
    // Some learned, non-monotone statistics so the order is not just the priors.
    for (let i = 0; i < 300; i++) {
      stats.record(stats.jacobiFeature(1 + random(4), random(3)), random(3) === 0);
      stats.record(stats.retrievalFeature(random(2) ? 'context' : 'workspace', 1 + random(6), random(5)), random(2) === 0);
    }
    const planner = new TreePlanner(stats, FLAT);
    for (let trial = 0; trial < 400; trial++) {
      const budget = 1 + random(12);
      const request = randomRequest(random, budget);
      const tree = planner.plan(request);
      const all = allCandidateValues(request, stats);
      assert.equal(tree.size, 1 + Math.min(budget, all.length), `trial ${trial}`);
      const best = all.slice(0, budget).reduce((s, v) => s + v, 1);
      assert.ok(Math.abs(planner.expectedTokens - best) < 1e-9, `trial ${trial}: ${planner.expectedTokens} vs ${best}`);
      // A trie in parents-first order.
      const seen = new Set<string>();
      tree.nodes.forEach((n, i) => {
        if (i === 0) return;
        assert.ok(n.parent < i);
        const key = `${n.parent}/${n.token}`;
        assert.ok(!seen.has(key));
        seen.add(key);
      });
    }
  });

  it('sizes automatically by expected tokens per unit of latency', () => {
    const stats = new AcceptanceStats();
    const continuation = { tokens: [1, 2, 3, 4, 5, 6], matchLength: 8, origin: 'workspace' as const };
    const base = { root: 0, continuations: [continuation], maxDrafts: 63, minDrafts: 0 };
    assert.equal(new TreePlanner(stats, FLAT).plan(base).size, 7);
    assert.equal(new TreePlanner(stats, new LatencyCurve({ 1: 1, 2: 3 })).plan(base).size, 1);
    assert.equal(new TreePlanner(stats, new LatencyCurve({ 1: 1, 2: 3 })).plan({ ...base, minDrafts: 2 }).size, 3);
    // Noise alone does not pay on the CPU curve, but the floor keeps a trajectory going.
    const noisy = { root: 0, continuations: [], jacobi: { table: { tokens: new Int32Array(8), stride: 1, knownDepth: 0 }, ranks: 1, maxDepth: 8 }, noise: () => 7, maxDrafts: 63 };
    const cpu = LatencyCurve.defaultCurve();
    assert.equal(new TreePlanner(stats, cpu).plan({ ...noisy, minDrafts: 0 }).size, 1);
    const kept = new TreePlanner(stats, cpu).plan({ ...noisy, minDrafts: 2 });
    assert.deepEqual(kept.nodes.map((n) => [n.parent, n.source]), [[-1, 'root'], [0, 'noise'], [1, 'noise']]);
  });

  it('drafts the chain where recorded steps found chains accepted and Jacobi guesses rejected, and the Jacobi trajectory in the reverse case', () => {
    // One step offering both: a retrieved chain of 6 tokens and two Jacobi guesses at each of 4 depths.
    const jacobi = { table: { tokens: Int32Array.of(10, 11, 20, 21, 30, 31, 40, 41), stride: 2, knownDepth: 4 }, ranks: 2, maxDepth: 4 };
    const chain = { tokens: [50, 51, 52, 53, 54, 55], matchLength: 12, origin: 'workspace' as const };
    const request = { root: 0, jacobi, continuations: [chain], maxDrafts: 63, minDrafts: 0 };
    const learned = (chainAccepted: boolean) => {
      const stats = new AcceptanceStats();
      for (let step = 0; step < 400; step++) {
        for (let position = 0; position < 6; position++) stats.record(stats.retrievalFeature('workspace', 12, position), chainAccepted);
        for (let depth = 1; depth <= 4; depth++) stats.record(stats.jacobiFeature(depth, 0), !chainAccepted);
        for (let depth = 1; depth <= 4; depth++) stats.record(stats.jacobiFeature(depth, 1), false);
      }
      return stats;
    };
    const sourcesOf = (tree: { nodes: readonly { source: string }[] }) => tree.nodes.slice(1).map((n) => n.source);
    const cpu = LatencyCurve.defaultCurve();
    const chainTree = new TreePlanner(learned(true), cpu).plan(request);
    assert.deepEqual(sourcesOf(chainTree), Array(6).fill('retrieval'), 'the whole chain, no Jacobi branch beside it');
    const jacobiTree = new TreePlanner(learned(false), cpu).plan(request);
    assert.deepEqual(sourcesOf(jacobiTree), Array(4).fill('jacobi'), 'the top guess at each depth, no retrieved token, no second-rank branch');
    assert.deepEqual(jacobiTree.nodes.map((n) => n.parent), [-1, 0, 1, 2, 3], 'one trajectory');
  });

  it('adds a trajectory tail below the end of the most likely path while it pays', () => {
    const stats = new AcceptanceStats();
    const jacobi = { table: { tokens: Int32Array.of(10, 11, 20, 21, 30, 31), stride: 2, knownDepth: 3 }, ranks: 2, maxDepth: 3 };
    const continuation = { tokens: [10, 50, 51], matchLength: 8, origin: 'workspace' as const };
    const base = { root: 0, jacobi, continuations: [continuation], maxDrafts: 63, minDrafts: 0 };
    // On a flat curve everything is taken; the tail adds nothing new beyond the budget of candidates.
    const steep = new LatencyCurve({ 1: 1, 2: 100 });
    assert.equal(new TreePlanner(stats, steep).plan(base).size, 1);
    // On a steep curve not even the Jacobi guesses its logits would give pay for a tail.
    assert.equal(new TreePlanner(stats, steep).plan({ ...base, trajectoryTail: 2 }).size, 1);
    // Node 10 (merged retrieval + Jacobi, value 0.8) alone does not pay for q = 2 at 1.9x,
    // but with the next step's Jacobi guess from its logits (0.3) it does; 50 below it
    // would need q = 3, far too dear.
    const tailCurve = new LatencyCurve({ 1: 1, 2: 1.9, 3: 100 });
    assert.equal(new TreePlanner(stats, tailCurve).plan(base).size, 1);
    const tailed = new TreePlanner(stats, tailCurve).plan({ ...base, trajectoryTail: 2 });
    assert.deepEqual(tailed.nodes.map((n) => [n.token, n.parent]), [[0, -1], [10, 0]]);
    // With a cheap q=2..4 the chain 10-50-51 is chosen and the tail continues below 51's
    // end of the path: 51 has no Jacobi or retrieval children, so the tail stops there.
    const medium = new LatencyCurve({ 1: 1, 4: 1.05, 5: 100 });
    const chain = new TreePlanner(stats, medium).plan({ ...base, trajectoryTail: 2 });
    assert.deepEqual(chain.nodes.map((n) => n.token), [0, 10, 50, 51]);
    // A fixed budget is exact: no tail.
    assert.equal(new TreePlanner(stats, steep).plan({ ...base, budget: 1, trajectoryTail: 2 }).size, 2);
  });

  it('merges a Jacobi guess and a retrieved token into one node, and credits both when it is accepted', () => {
    const stats = new AcceptanceStats();
    const planner = new TreePlanner(stats, FLAT);
    const tree = planner.plan({
      root: 0,
      jacobi: { table: { tokens: Int32Array.of(5, 6), stride: 2, knownDepth: 1 }, ranks: 2, maxDepth: 1 },
      continuations: [{ tokens: [5, 8], matchLength: 3, origin: 'context' }],
      budget: 10, maxDrafts: 63, minDrafts: 0,
    });
    assert.deepEqual(tree.nodes.map((n) => n.token), [0, 5, 8, 6]);
    assert.equal(tree.nodes[1].source, 'retrieval'); // its probability (0.6) beats Jacobi's (0.3)
    const jacobi = stats.jacobiFeature(1, 0);
    const retrieved = stats.retrievalFeature('context', 3, 0);
    const sibling = stats.jacobiFeature(1, 1);
    const second = stats.retrievalFeature('context', 3, 1);
    // The model says 5 then 9: node 5 accepted, its child 8 rejected, sibling 6 rejected.
    planner.learn(acceptGreedy(tree, Int32Array.of(5, 9, 0, 0)));
    assert.equal(stats.observations(jacobi), 1);
    assert.equal(stats.observations(retrieved), 1);
    assert.ok(stats.probability(jacobi) > stats.prior(jacobi));
    assert.ok(stats.probability(retrieved) > stats.prior(retrieved));
    assert.ok(stats.probability(sibling) < stats.prior(sibling));
    assert.ok(stats.probability(second) < stats.prior(second));
    // A rejection at the root leaves deeper nodes untested.
    const before = stats.observations(second);
    planner.plan({ root: 0, continuations: [{ tokens: [5, 8], matchLength: 3, origin: 'context' }], budget: 2, maxDrafts: 63, minDrafts: 0 });
    planner.learn(acceptGreedy(planner.tree, Int32Array.of(4, 0, 0)));
    assert.equal(stats.observations(second), before);
  });

  it('plans a 64-node tree in well under a millisecond', () => {
    const random = seeded(3);
    const planner = new TreePlanner(new AcceptanceStats(), LatencyCurve.defaultCurve());
    const tokens = Int32Array.from({ length: 32 }, () => random(1000));
    const continuations = Array.from({ length: 6 }, () => ({ tokens: Array.from({ length: 16 }, () => random(1000)), matchLength: 3, origin: 'workspace' as const }));
    const request = { root: 1, jacobi: { table: { tokens, stride: 4, knownDepth: 8 }, ranks: 4, maxDepth: 8 }, noise: () => random(1000), continuations, budget: 63, maxDrafts: 63, minDrafts: 0 };
    for (let i = 0; i < 200; i++) planner.plan(request);
    const started = performance.now();
    const runs = 2000;
    for (let i = 0; i < runs; i++) planner.plan(request);
    const perPlan = (performance.now() - started) / runs;
    assert.equal(planner.tree.size, 64);
    assert.ok(perPlan < 0.5, `${perPlan.toFixed(3)} ms per plan`);
  });
});
