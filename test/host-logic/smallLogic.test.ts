import { strict as assert } from 'node:assert';
import type { DecodeStats, SpeedupMeasurement } from '../../extension/protocol';
import { CorpusQueue } from '../../extension/host/logic/corpusQueue';
import { CrashPolicy } from '../../extension/host/logic/crashPolicy';
import { delayUnlessCancelled, KeyedDebouncer } from '../../extension/host/logic/debounce';
import { shiftOffset } from '../../extension/host/logic/offsetTracking';
import { StatsHistory, summarize, type MeasuredStats } from '../../extension/host/logic/statsHistory';
import { formatSpeed, formatStatusText, formatTooltip, recentSpeed } from '../../extension/host/logic/statusText';

/** A tree completion's replay: 40 tokens that took 325 ms as they ran, 300 ms replayed, 665 ms by plain greedy (2.12x). */
function replay(overrides: Partial<SpeedupMeasurement> = {}): SpeedupMeasurement {
  return { strategy: 'tr-jacobi', tokens: 40, liveMs: 325, treeIdleMs: 300, arIdleMs: 665, ...overrides };
}

/** stats() measured by replay(). */
function measured(statsOverrides: Partial<DecodeStats> = {}, replayOverrides: Partial<SpeedupMeasurement> = {}): MeasuredStats {
  return { stats: stats(statsOverrides), speedup: replay(replayOverrides) };
}

function stats(overrides: Partial<DecodeStats> = {}): DecodeStats {
  return {
    strategy: 'tr-jacobi', tokens: 40, forwardPasses: 16, elapsedMs: 325, tokensPerSecond: 123.4, meanAcceptedPerPass: 2.44,
    acceptedFromRetrieval: 12, acceptedFromJacobi: 8, acceptedFromNoise: 1, treeBudget: 12,
    stopReason: 'eos', promptTokens: 900, reusedPromptTokens: 850, prefillMs: 12, fromMemo: false, queueMs: 1, workspaceMixture: false,
    ...overrides,
  };
}

describe('CrashPolicy', () => {
  it('backs off exponentially and gives up at the third crash within the window', () => {
    const policy = new CrashPolicy({ maxCrashes: 3, windowMs: 60_000, baseDelayMs: 500, maxDelayMs: 10_000 });
    assert.deepEqual(policy.recordCrash(0), { action: 'restart', delayMs: 500, crashesInWindow: 1 });
    assert.deepEqual(policy.recordCrash(1000), { action: 'restart', delayMs: 1000, crashesInWindow: 2 });
    assert.deepEqual(policy.recordCrash(2000), { action: 'give-up', crashesInWindow: 3 });
  });
  it('forgets crashes older than the window, and on reset', () => {
    const policy = new CrashPolicy({ maxCrashes: 3, windowMs: 60_000, baseDelayMs: 500, maxDelayMs: 10_000 });
    policy.recordCrash(0);
    policy.recordCrash(1000);
    assert.equal(policy.recordCrash(70_000).action, 'restart');
    policy.reset();
    assert.deepEqual(policy.recordCrash(70_001), { action: 'restart', delayMs: 500, crashesInWindow: 1 });
  });
  it('caps the delay', () => {
    const policy = new CrashPolicy({ maxCrashes: 100, windowMs: 60_000, baseDelayMs: 500, maxDelayMs: 3000 });
    let last = 0;
    for (let i = 0; i < 10; i++) {
      const decision = policy.recordCrash(i);
      if (decision.action === 'restart') last = decision.delayMs;
    }
    assert.equal(last, 3000);
  });
});

describe('CorpusQueue', () => {
  it('adds new documents, updates known ones, removes, in bounded batches', () => {
    const queue = new CorpusQueue();
    queue.upsert('a', 'x'.repeat(60));
    queue.upsert('b', 'y'.repeat(60));
    queue.upsert('c', 'z'.repeat(10));
    assert.deepEqual(queue.takeBatch(100), { method: 'corpus.upsert', params: { documents: [{ uri: 'a', text: 'x'.repeat(60) }] } });
    const second = queue.takeBatch(100)!;
    assert.equal(second.method, 'corpus.upsert');
    assert.deepEqual(second.method === 'corpus.upsert' && second.params.documents.map((d) => d.uri), ['b', 'c']);
    assert.equal(queue.takeBatch(100), null);
    queue.upsert('a', 'new');
    queue.remove('b');
    assert.deepEqual(queue.takeBatch(100), { method: 'corpus.remove', params: { uris: ['b'] } });
    assert.deepEqual(queue.takeBatch(100), { method: 'corpus.upsert', params: { documents: [{ uri: 'a', text: 'new' }] } });
    assert.equal(queue.knownCount, 2);
  });
  it('coalesces repeated edits and drops add-then-remove without a message', () => {
    const queue = new CorpusQueue();
    queue.upsert('a', '1');
    queue.upsert('a', '2');
    queue.upsert('tmp', 't');
    queue.remove('tmp');
    assert.deepEqual(queue.takeBatch(100), { method: 'corpus.upsert', params: { documents: [{ uri: 'a', text: '2' }] } });
    assert.equal(queue.takeBatch(100), null);
    assert.equal(queue.has('tmp'), false);
    assert.equal(queue.has('a'), true);
  });
  it('a single document larger than the batch still goes through', () => {
    const queue = new CorpusQueue();
    queue.upsert('big', 'b'.repeat(1000));
    const batch = queue.takeBatch(10)!;
    assert.equal(batch.method === 'corpus.upsert' && batch.params.documents.length, 1);
  });
  it('after a decoder restart, documents are added again rather than updated', () => {
    const queue = new CorpusQueue();
    queue.upsert('a', '1');
    queue.takeBatch(100);
    queue.forgetDecoderState();
    queue.upsert('a', '1');
    assert.equal(queue.takeBatch(100)!.method, 'corpus.upsert');
  });
});

describe('shiftOffset', () => {
  it('moves with edits before it and ignores edits after it', () => {
    assert.equal(shiftOffset(10, [{ rangeOffset: 2, rangeLength: 3, text: 'abcdef' }]), 13);
    assert.equal(shiftOffset(10, [{ rangeOffset: 12, rangeLength: 3, text: '' }]), 10);
  });
  it('an insertion at the offset moves it past the insertion', () => {
    assert.equal(shiftOffset(10, [{ rangeOffset: 10, rangeLength: 0, text: 'xyz' }]), 13);
  });
  it('a replacement around the offset puts it at the end of the replacement', () => {
    assert.equal(shiftOffset(10, [{ rangeOffset: 8, rangeLength: 5, text: 'Q' }]), 9);
  });
  it('applies several changes of one event', () => {
    assert.equal(shiftOffset(10, [{ rangeOffset: 20, rangeLength: 0, text: 'x' }, { rangeOffset: 0, rangeLength: 2, text: '' }]), 8);
  });
});

describe('status bar text', () => {
  const base = { engine: { kind: 'ready' as const }, indexing: null, recent: [] as MeasuredStats[], inlineEnabled: true };
  it('formats the speed read-out over recent completions: measured speed-up, short ones left out', () => {
    // 40 tokens in 325 ms = 123 tok/s; idle, the trees took 300 ms and plain greedy 665: slowed as the completion was
    // (25 ms, half in proportion: x 1 + 12.5 / 300, half as time: + 12.5 ms), plain greedy 705.2 ms: 705.2 / 325 = 2.17x.
    assert.equal(formatStatusText({ ...base, recent: [measured()] }), '$(zap) 123 tok/s · 2.5/step · 2.2x');
    const short = { stats: stats({ tokens: 2, elapsedMs: 10, tokensPerSecond: 200 }) };
    assert.equal(formatStatusText({ ...base, recent: [measured(), short] }), '$(zap) 123 tok/s · 2.5/step · 2.2x');
    assert.equal(formatStatusText({ ...base, recent: [short] }), '$(zap) MSN: ready');
    assert.equal(formatStatusText({ ...base, recent: [{ stats: stats() }] }), '$(zap) 123 tok/s · 2.5/step', 'no figure before a measurement');
    // Pooled: 325 + 1000 ms as they ran; plain greedy 705.2 + 1000 (500 idle, slowed 2x: half x1.5, half +250 ms): 1.3x.
    const slow = measured({ tokens: 40, elapsedMs: 1000, tokensPerSecond: 40 }, { liveMs: 1000, treeIdleMs: 500, arIdleMs: 500 });
    assert.equal(formatSpeed(recentSpeed([measured(), slow])!), `$(zap) ${Math.round(80000 / 1325)} tok/s · 2.5/step · 1.3x`);
  });
  it('covers only the completions of the strategy in use (the last one\'s), wherever they fell; plain greedy is 1x by definition', () => {
    const ar = { stats: stats({ strategy: 'ar', forwardPasses: 40, tokensPerSecond: 58 }) };
    assert.equal(formatStatusText({ ...base, recent: [ar, measured()] }), '$(zap) 123 tok/s · 2.5/step · 2.2x', 'ar is left out');
    // Completions of the strategy in use on both sides of another's are pooled: an A/B that alternates them.
    assert.equal(recentSpeed([slowTree(), ar, measured()])!.completions, 2);
    assert.equal(formatStatusText({ ...base, recent: [slowTree(), ar, measured()] }), formatStatusText({ ...base, recent: [slowTree(), measured()] }));
    assert.equal(recentSpeed([measured(), ar])!.completions, 1);
    assert.equal(formatStatusText({ ...base, recent: [measured(), ar] }), '$(zap) 123 tok/s · 1.0/step · 1.0x');
    function slowTree() { return measured({ tokens: 40, elapsedMs: 4000, tokensPerSecond: 10 }, { liveMs: 4000 }); }
  });
  it('shows the state by priority: error, loading, indexing, speed, ready', () => {
    assert.equal(formatStatusText({ ...base, engine: { kind: 'error', reason: 'x' } }), '$(error) MSN: error');
    assert.equal(formatStatusText({ ...base, engine: { kind: 'loading' } }), '$(loading~spin) MSN: loading model');
    assert.equal(formatStatusText({ ...base, engine: { kind: 'restarting', reason: 'x' } }), '$(loading~spin) MSN: restarting decoder');
    assert.equal(formatStatusText({ ...base, indexing: { done: 3, total: 40 }, recent: [measured()] }), '$(loading~spin) MSN: indexing 3/40 files');
    assert.equal(formatStatusText({ ...base, indexing: { done: 40, total: 40 }, recent: [measured()] }), '$(zap) 123 tok/s · 2.5/step · 2.2x');
    assert.equal(formatStatusText(base), '$(zap) MSN: ready');
    assert.equal(formatStatusText({ ...base, inlineEnabled: false }), '$(circle-slash) MSN: inline off');
  });
  it('the tooltip has the details, says how the speed-up is measured and what restricted mode limits', () => {
    const tooltip = formatTooltip({ ...base, recent: [measured()], model: { name: 'msn-tiny', parameters: 158016, promptFormat: 'FIM psm, repo-level context' }, corpus: { documents: 5, tokens: 900 }, workspaceTrusted: false });
    for (const expected of ['msn-tiny', '0.2M parameters', 'repo-level context', '123 tokens/s', '2.17x', 'measured, not estimated', 'plain greedy measured: 57 tokens/s', '850 reused', '12 from retrieval, 8 from Jacobi, 1 from noise', '5 documents', 'Restricted mode']) {
      assert.ok(tooltip.includes(expected), `tooltip mentions ${expected}:\n${tooltip}`);
    }
    assert.ok(!tooltip.includes('Plain greedy only'));
    const plainOnly = formatTooltip({ ...base, model: { name: 'q-int8', promptFormat: 'FIM psm', plainGreedyOnly: 'on this CPU the logits change with the pass size' }, corpus: null, workspaceTrusted: true });
    assert.ok(plainOnly.includes('Plain greedy only: on this CPU the logits change with the pass size.'), plainOnly);
    const unmeasured = formatTooltip({ ...base, recent: [{ stats: stats() }], model: null, corpus: null, workspaceTrusted: true });
    assert.ok(unmeasured.includes('speed-up not measured yet') && !unmeasured.includes('2.17x'), unmeasured);
    assert.ok(!formatTooltip({ ...base, model: null, corpus: null, workspaceTrusted: true }).includes('Restricted'));
  });
  it('the tooltip says which distribution is decoded: the workspace mixture, or the model alone and why', () => {
    const model = { name: 'msn-tiny', promptFormat: 'FIM psm' };
    const on = formatTooltip({ ...base, recent: [measured({ workspaceMixture: true })], model: { ...model, workspaceMixture: true }, corpus: null, workspaceTrusted: true, mixtureSetting: true });
    assert.ok(on.includes("mixed with the workspace's n-grams") && on.includes('tr-jacobi, model + workspace n-grams'), on);
    const off = formatTooltip({ ...base, recent: [], model: { ...model, workspaceMixture: true }, corpus: null, workspaceTrusted: true, mixtureSetting: false });
    assert.ok(off.includes('the model alone (msnComplete.workspaceMixture is off)'), off);
    const none = formatTooltip({ ...base, recent: [], model: { ...model, workspaceMixture: false }, corpus: null, workspaceTrusted: true, mixtureSetting: true });
    assert.ok(none.includes('no mixture weights'), none);
  });
});

describe('StatsHistory', () => {
  it('keeps the newest records up to its capacity', () => {
    const history = new StatsHistory(3);
    for (let i = 0; i < 5; i++) history.add({ at: i, source: 'inline', stats: stats({ tokens: i }) });
    assert.deepEqual(history.all.map((record) => record.at), [2, 3, 4]);
    assert.equal(history.last!.at, 4);
  });
  it('attaches a measured speed-up to the completion of its request, whichever of the two arrives first', () => {
    const history = new StatsHistory<MeasuredStats>();
    history.add({ stats: stats({ requestId: 7 }) });
    history.add({ stats: stats({ requestId: 8 }) });
    history.attachSpeedup(7, replay());
    assert.deepEqual(history.all.map((r) => r.speedup !== undefined), [true, false]);
    history.attachSpeedup(9, replay({ tokens: 9 }));
    history.add({ stats: stats({ requestId: 9 }) });
    assert.equal(history.last!.speedup?.tokens, 9, 'a measurement that came first waits for its completion');
    for (let id = 100; id < 120; id++) history.attachSpeedup(id, replay());
    history.add({ stats: stats({ requestId: 100 }) });
    assert.equal(history.last!.speedup, undefined, 'only a few early measurements are kept');
  });
  it('summarizes with token-weighted means', () => {
    const summary = summarize([
      { at: 0, source: 'inline', stats: stats({ tokens: 10, elapsedMs: 100, forwardPasses: 5 }) },
      { at: 1, source: 'generate', stats: stats({ tokens: 30, elapsedMs: 100, forwardPasses: 10 }) },
    ]);
    assert.equal(summary.tokens, 40);
    assert.equal(summary.meanTokensPerSecond, 200);
    assert.ok(Math.abs(summary.meanAcceptedPerPass - 40 / 15) < 1e-12);
    assert.equal(summary.measuredCompletions, 0);
    assert.equal(summary.meanSpeedup, 0, 'no figure without a measurement');
  });
  it('pools the measured completions; an unmeasured one adds nothing to the figure; plain greedy counts as 1x', () => {
    const pooled = summarize([measured({}, { liveMs: 100, treeIdleMs: 80, arIdleMs: 180 }), measured({}, { liveMs: 100, treeIdleMs: 100, arIdleMs: 200 })]);
    // 200 ms as they ran; plain greedy 212.5 (180 idle, slowed 100 / 80: x 1.125, + 10 ms) + 200: 412.5 / 200.
    assert.ok(Math.abs(pooled.meanSpeedup - 412.5 / 200) < 1e-12, `${pooled.meanSpeedup}`);
    assert.equal(pooled.measuredCompletions, 2);
    const withUnmeasured = summarize([measured({}, { liveMs: 100, treeIdleMs: 80, arIdleMs: 180 }), { stats: stats({ elapsedMs: 1 }) }]);
    assert.ok(Math.abs(withUnmeasured.meanSpeedup - 2.125) < 1e-12, `${withUnmeasured.meanSpeedup}`);
    const withAr = summarize([measured({}, { liveMs: 100, treeIdleMs: 80, arIdleMs: 180 }), { stats: stats({ strategy: 'ar', elapsedMs: 100 }) }]);
    assert.ok(Math.abs(withAr.meanSpeedup - 312.5 / 200) < 1e-12, `plain greedy's own 100 ms saved nothing: ${withAr.meanSpeedup}`);
  });
});

describe('debounce helpers', () => {
  function token() {
    const listeners: Array<() => void> = [];
    return {
      isCancellationRequested: false,
      onCancellationRequested(listener: () => void) {
        listeners.push(listener);
        return { dispose: () => listeners.splice(listeners.indexOf(listener), 1) };
      },
      cancel() {
        this.isCancellationRequested = true;
        for (const listener of [...listeners]) listener();
      },
    };
  }
  it('waits, or stops early on cancellation', async () => {
    const t = token();
    const startedAt = Date.now();
    assert.equal(await delayUnlessCancelled(30, t), true);
    assert.ok(Date.now() - startedAt >= 25);
    const cancelled = token();
    setTimeout(() => cancelled.cancel(), 10);
    const before = Date.now();
    assert.equal(await delayUnlessCancelled(5000, cancelled), false);
    assert.ok(Date.now() - before < 1000);
  });
  it('KeyedDebouncer runs once per key after the last schedule', async () => {
    const runs: string[] = [];
    const debouncer = new KeyedDebouncer<string>(20, (key) => runs.push(key));
    debouncer.schedule('a');
    debouncer.schedule('b');
    debouncer.schedule('a');
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.deepEqual(runs.sort(), ['a', 'b']);
    debouncer.schedule('c');
    debouncer.cancel('c');
    debouncer.schedule('d');
    debouncer.flush();
    assert.deepEqual(runs, ['a', 'b', 'd']);
    debouncer.dispose();
  });
});
