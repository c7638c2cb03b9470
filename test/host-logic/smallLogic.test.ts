import { strict as assert } from 'node:assert';
import type { DecodeStats } from '../../extension/protocol';
import { CorpusQueue } from '../../extension/host/logic/corpusQueue';
import { CrashPolicy } from '../../extension/host/logic/crashPolicy';
import { delayUnlessCancelled, KeyedDebouncer } from '../../extension/host/logic/debounce';
import { shiftOffset } from '../../extension/host/logic/offsetTracking';
import { StatsHistory, summarize } from '../../extension/host/logic/statsHistory';
import { formatSpeed, formatStatusText, formatTooltip, recentSpeed } from '../../extension/host/logic/statusText';

/** 40 tokens in 325 ms; two plain greedy steps of 17.25 ms (58 tok/s) would take 690 ms: 2.1x. */
function stats(overrides: Partial<DecodeStats> = {}): DecodeStats {
  return {
    strategy: 'tr-jacobi', tokens: 40, forwardPasses: 16, elapsedMs: 325, tokensPerSecond: 123.4, meanAcceptedPerPass: 2.44,
    acceptedFromRetrieval: 12, acceptedFromJacobi: 8, arTokensPerSecond: 58, baselineSteps: 2, baselineStepMs: [17.25, 17.25],
    stepLoad: [1.2, 1.2, 1.2], speedupVsAr: 2.12, treeBudget: 12,
    stopReason: 'eos', promptTokens: 900, reusedPromptTokens: 850, prefillMs: 12, fromMemo: false, queueMs: 1,
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
  const base = { engine: { kind: 'ready' as const }, indexing: null, recent: [] as DecodeStats[], inlineEnabled: true };
  it('formats the speed read-out over recent completions: measured speed-up, short ones left out', () => {
    // 40 tokens in 325 ms = 123 tok/s; plain greedy measured at 58 tok/s would take 690 ms: 2.1x.
    assert.equal(formatStatusText({ ...base, recent: [stats()] }), '$(zap) 123 tok/s · 2.5/step · 2.1x');
    const short = stats({ tokens: 2, elapsedMs: 10, tokensPerSecond: 200, speedupVsAr: 0.1 });
    assert.equal(formatStatusText({ ...base, recent: [stats(), short] }), '$(zap) 123 tok/s · 2.5/step · 2.1x');
    assert.equal(formatStatusText({ ...base, recent: [short] }), '$(zap) MSN: ready');
    const unmeasured = stats({ baselineSteps: 0, arTokensPerSecond: 0, speedupVsAr: 0 });
    assert.equal(formatStatusText({ ...base, recent: [unmeasured] }), '$(zap) MSN: ready');
    // Pooled: plain steps 17.25, 17.25, 25, 25 (median 21.125 ms) for 80 tokens, 1,792 ms, over 1,325 ms: 1.28x.
    const slow = stats({ tokens: 40, elapsedMs: 1000, tokensPerSecond: 40, arTokensPerSecond: 40, baselineStepMs: [25, 25] });
    assert.equal(formatSpeed(recentSpeed([stats(), slow])!), `$(zap) ${Math.round(80000 / 1325)} tok/s · 2.5/step · 1.3x`);
  });
  it('covers only the completions since the strategy last changed', () => {
    const ar = stats({ strategy: 'ar', tokensPerSecond: 58, arTokensPerSecond: 58, speedupVsAr: 1 });
    assert.equal(formatStatusText({ ...base, recent: [slowTree(), ar, stats()] }), '$(zap) 123 tok/s · 2.5/step · 2.1x', 'the tree completion before ar is left out');
    assert.equal(recentSpeed([stats(), ar])!.completions, 1);
    function slowTree() { return stats({ tokens: 40, elapsedMs: 4000, tokensPerSecond: 10 }); }
  });
  it('shows the state by priority: error, loading, indexing, speed, ready', () => {
    assert.equal(formatStatusText({ ...base, engine: { kind: 'error', reason: 'x' } }), '$(error) MSN: error');
    assert.equal(formatStatusText({ ...base, engine: { kind: 'loading' } }), '$(loading~spin) MSN: loading model');
    assert.equal(formatStatusText({ ...base, engine: { kind: 'restarting', reason: 'x' } }), '$(loading~spin) MSN: restarting decoder');
    assert.equal(formatStatusText({ ...base, indexing: { done: 3, total: 40 }, recent: [stats()] }), '$(loading~spin) MSN: indexing 3/40 files');
    assert.equal(formatStatusText({ ...base, indexing: { done: 40, total: 40 }, recent: [stats()] }), '$(zap) 123 tok/s · 2.5/step · 2.1x');
    assert.equal(formatStatusText(base), '$(zap) MSN: ready');
    assert.equal(formatStatusText({ ...base, inlineEnabled: false }), '$(circle-slash) MSN: inline off');
  });
  it('the tooltip has the details and says what restricted mode limits', () => {
    const tooltip = formatTooltip({ ...base, recent: [stats()], model: { name: 'msn-tiny', parameters: 158016, promptFormat: 'FIM psm, repo-level context' }, corpus: { documents: 5, tokens: 900 }, workspaceTrusted: false });
    for (const expected of ['msn-tiny', '0.2M parameters', 'repo-level context', '123 tokens/s', '2.12x', 'measured', '850 reused', '12 from retrieval, 8 from Jacobi', '5 documents', 'Restricted mode']) {
      assert.ok(tooltip.includes(expected), `tooltip mentions ${expected}:\n${tooltip}`);
    }
    assert.ok(!formatTooltip({ ...base, model: null, corpus: null, workspaceTrusted: true }).includes('Restricted'));
  });
});

describe('StatsHistory', () => {
  it('keeps the newest records up to its capacity', () => {
    const history = new StatsHistory(3);
    for (let i = 0; i < 5; i++) history.add({ at: i, source: 'inline', stats: stats({ tokens: i }) });
    assert.deepEqual(history.all.map((record) => record.at), [2, 3, 4]);
    assert.equal(history.last!.at, 4);
  });
  it('summarizes with token-weighted means', () => {
    const summary = summarize([
      { at: 0, source: 'inline', stats: stats({ tokens: 10, elapsedMs: 100, forwardPasses: 5 }) },
      { at: 1, source: 'generate', stats: stats({ tokens: 30, elapsedMs: 100, forwardPasses: 10 }) },
    ]);
    assert.equal(summary.tokens, 40);
    assert.equal(summary.meanTokensPerSecond, 200);
    assert.ok(Math.abs(summary.meanAcceptedPerPass - 40 / 15) < 1e-12);
  });
  it('pools the timed steps of the measured completions: one slow plain step does not make the figure', () => {
    const summary = summarize([
      { stats: stats({ tokens: 20, elapsedMs: 100, baselineStepMs: [10, 100] }) },
      { stats: stats({ tokens: 20, elapsedMs: 100, baselineStepMs: [10, 10, 10] }) },
    ]);
    // 40 tokens at the pooled median of 10 ms per greedy step = 400 ms of greedy work, done in 200 ms.
    assert.ok(Math.abs(summary.meanSpeedup - 2) < 1e-12, `${summary.meanSpeedup}`);
    const loaded = summarize([
      { stats: stats({ tokens: 20, elapsedMs: 100, baselineStepMs: [10], stepLoad: [1, 1, 4] }) },
      { stats: stats({ tokens: 20, elapsedMs: 100, baselineStepMs: [10], stepLoad: [1] }) },
    ]);
    // Loads 1, 1, 4, 1: mean 1.75 over median 1, so plain greedy's mean step is 17.5 ms: 700 ms over 200.
    assert.ok(Math.abs(loaded.meanSpeedup - 3.5) < 1e-12, `${loaded.meanSpeedup}`);
    const unmeasured = stats({ tokens: 100, elapsedMs: 1, baselineSteps: 0, baselineStepMs: [], stepLoad: [9, 9] });
    const withUnmeasured = summarize([{ stats: stats({ tokens: 20, elapsedMs: 100, baselineStepMs: [10], stepLoad: [1] }) }, { stats: unmeasured }]);
    assert.ok(Math.abs(withUnmeasured.meanSpeedup - 2) < 1e-12, 'a completion without a baseline adds neither tokens, time nor loads');
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
