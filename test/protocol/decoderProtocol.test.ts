import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MAX_MESSAGE_CHARS } from '../../extension/limits';
import { isSpeedupMeasurement, LineSplitter, type SpeedupEvent } from '../../extension/protocol';
import { DecoderProcess, REPO_ROOT } from './decoderProcess';

const FIXTURE_MODEL = path.join(REPO_ROOT, 'test/fixtures/tiny-model');

function brokenModelDir(root: string, name: string, breakIt: (dir: string) => void): string {
  const dir = path.join(root, name);
  fs.mkdirSync(dir);
  for (const file of fs.readdirSync(FIXTURE_MODEL)) fs.copyFileSync(path.join(FIXTURE_MODEL, file), path.join(dir, file));
  breakIt(dir);
  return dir;
}

/** A long Generate that has streamed its first chunk. */
async function startLongGeneration(decoder: DecoderProcess) {
  const generation = decoder.request('generate', { prefix: 'import os\n', maxTokens: 4000, strategy: 'ar' });
  const started = Date.now();
  while (!decoder.messages.some((m: any) => m.event === 'chunk' && m.id === generation.id)) {
    if (Date.now() - started > 10_000) assert.fail('no chunk within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return generation;
}

describe('decoder process protocol (node dist/decoder/main.js)', function () {
  this.timeout(60_000);
  let scratch: string;
  let decoder: DecoderProcess;

  before(() => {
    execFileSync(process.execPath, ['esbuild.mjs'], { cwd: REPO_ROOT, stdio: 'inherit' });
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'msn-protocol-'));
    decoder = new DecoderProcess(path.join(scratch, 'cache'));
  });

  after(() => {
    decoder.kill();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  afterEach(() => {
    assert.deepEqual(decoder.badLines, [], 'stdout carries protocol messages only');
  });

  it('answers a malformed line with a parse error and keeps serving', async () => {
    const parse = await decoder.sendRawExpectingAnonymous('{"id": 1, "method": ');
    assert.equal(parse.id, null);
    assert.equal(parse.error?.code, 'parse-error');
    const notObject = await decoder.sendRawExpectingAnonymous('[1, 2, 3]');
    assert.equal(notObject.error?.code, 'parse-error');
    const stats = await decoder.call('stats', {});
    assert.equal(stats.response.result.model, null);
  });

  it('a line over the size limit is refused whole with one sentence, non-UTF-8 bytes are a parse error, and it keeps serving', async () => {
    const huge = `{"id": 9, "method": "corpus.upsert", "params": {"documents": [{"uri": "a", "text": "${'x'.repeat(MAX_MESSAGE_CHARS + 10)}"}]}}`;
    const refused = await decoder.sendRawExpectingAnonymous(huge);
    assert.equal(refused.error?.code, 'parse-error');
    assert.match(refused.error!.message, /exceeds the limit/);
    const garbage = await decoder.sendBytesExpectingAnonymous(Buffer.from([0xff, 0xfe, 0x7b, 0x80, 0x0a]));
    assert.equal(garbage.error?.code, 'parse-error');
    const stats = await decoder.call('stats', {});
    assert.equal(stats.response.result.corpus.documents, 0, 'the refused batch added nothing');
  });

  it('unknown method and invalid params get structured errors with the request id', async () => {
    const unknown = decoder.request('frobnicate', {});
    const r1 = await unknown.reply;
    assert.equal(r1.response.id, unknown.id);
    assert.equal(r1.response.error?.code, 'unknown-method');
    const cases: Array<[string, unknown, RegExp]> = [
      ['complete', { prefix: 'a', suffix: '', maxTokens: 5 }, /mode/],
      ['complete', { prefix: 'a', suffix: '', mode: 'line', maxTokens: 0 }, /maxTokens/],
      ['generate', { prefix: 'a', maxTokens: 5, strategy: 'magic' }, /strategy/],
      ['corpus.upsert', { documents: 'nope' }, /documents/],
      ['corpus.remove', {}, /uris/],
      ['load', { modelDir: 42 }, /modelDir/],
      ['cancel', { requestId: 'x' }, /requestId/],
    ];
    for (const [method, params, pattern] of cases) {
      const { response } = await decoder.call(method, params);
      assert.equal(response.error?.code, 'invalid-params', `${method} ${JSON.stringify(params)}`);
      assert.match(response.error!.message, pattern);
    }
  });

  it('complete before load is model-not-loaded', async () => {
    const { response } = await decoder.call('complete', { prefix: 'def f(', suffix: '', mode: 'line', maxTokens: 8 });
    assert.equal(response.error?.code, 'model-not-loaded');
  });

  it('a broken model folder is model-invalid naming the file, and the process stays up', async () => {
    const noOnnx = brokenModelDir(scratch, 'no-onnx', (dir) => fs.rmSync(path.join(dir, 'model.onnx')));
    const garbage = brokenModelDir(scratch, 'garbage-config', (dir) => fs.writeFileSync(path.join(dir, 'msn.json'), 'garbage{'));
    const r1 = await decoder.call('load', { modelDir: noOnnx });
    assert.equal(r1.response.error?.code, 'model-invalid');
    assert.match(r1.response.error!.message, /model\.onnx/);
    const r2 = await decoder.call('load', { modelDir: garbage });
    assert.equal(r2.response.error?.code, 'model-invalid');
    assert.match(r2.response.error!.message, /msn\.json/);
    const r3 = await decoder.call('load', { modelDir: path.join(scratch, 'does-not-exist') });
    assert.equal(r3.response.error?.code, 'model-invalid');
    const stats = await decoder.call('stats', {});
    assert.equal(stats.response.result.model, null);
  });

  it('loads the fixture model (with progress events and a latency curve)', async () => {
    const { response } = await decoder.call('load', { modelDir: FIXTURE_MODEL, threads: 1 });
    assert.equal(response.error, undefined, JSON.stringify(response.error));
    assert.equal(response.result.format, 'msn-onnx/1');
    assert.deepEqual(Object.keys(response.result.latencyCurve), ['1', '2', '4', '8', '16', '32', '64']);
    const phases = decoder.messages.filter((m: any) => m.event === 'progress').map((m: any) => m.data.phase);
    assert.ok(phases.includes('loading') && phases.includes('calibrating') && phases.includes('ready'), phases.join(','));
  });

  it('corpus add / update / remove report document and token counts', async () => {
    const add = await decoder.call('corpus.upsert', {
      documents: [
        { uri: 'file:///w/a.py', text: 'def area(r):\n    return 3.14159 * r * r\n' },
        { uri: 'file:///w/b.ts', text: 'export const twice = (x: number) => 2 * x;\n' },
        { uri: 'file:///w/logo.png', text: '\u0089PNG\r\n\u001a\n\u0000\u0000' },
      ],
    });
    assert.equal(add.response.result.documents, 2);
    const tokensAfterAdd = add.response.result.tokens;
    assert.ok(tokensAfterAdd > 10);
    const update = await decoder.call('corpus.upsert', { documents: [{ uri: 'file:///w/a.py', text: 'x = 1\n' }] });
    assert.equal(update.response.result.documents, 2);
    assert.ok(update.response.result.tokens < tokensAfterAdd);
    const remove = await decoder.call('corpus.remove', { uris: ['file:///w/a.py', 'file:///w/b.ts'] });
    assert.deepEqual(remove.response.result, { documents: 0, tokens: 0 });
  });

  it('multi-root: the repo-level prompt names the folder asked for, and another folder\'s chunks carry its name', async () => {
    const text = (name: string) => `export function ${name}(cart: Cart, item: Item): Cart {\n  return addItem(cart, item);\n}\n`;
    const documents = [
      { uri: 'file:///w/app/src/cart.ts', path: 'src/cart.ts', repoName: 'app', text: text('addToCart') },
      { uri: 'file:///w/lib/src/cart.ts', path: 'src/cart.ts', repoName: 'lib', text: text('current') },
      { uri: 'file:///w/lib/src/items.ts', path: 'src/items.ts', repoName: 'lib', text: text('withItem') },
    ];
    assert.equal((await decoder.call('corpus.upsert', { documents })).response.result.documents, 3);
    try {
      const prefix = 'import { addItem, Cart, Item } from "./items";\nexport function more(cart: Cart, item: Item) {\n  return ';
      const location = { uri: 'file:///w/lib/src/cart.ts', path: 'src/cart.ts', repoName: 'lib' };
      const { response } = await decoder.call('complete', { prefix, suffix: '\n}\n', mode: 'line', maxTokens: 8, strategy: 'ar', ...location });
      assert.equal(response.error, undefined, JSON.stringify(response.error));
      const { context } = response.result.stats;
      assert.equal(context.repoName, 'lib');
      assert.equal(context.path, 'src/cart.ts');
      assert.deepEqual([...context.files].sort(), ['app/src/cart.ts', 'src/items.ts'], 'the current file is left out; app\'s file of the same path is not');
      const bad = await decoder.call('corpus.upsert', { documents: [{ uri: 'file:///x', text: '', repoName: 7 }] });
      assert.equal(bad.response.error?.code, 'invalid-params');
    } finally {
      await decoder.call('corpus.remove', { uris: documents.map((d) => d.uri) });
    }
  });

  it('generate streams chunks that concatenate to the final text', async () => {
    const { response, chunks } = await decoder.call('generate', { prefix: 'def add(a, b):\n    ', maxTokens: 48, strategy: 'ar' });
    assert.equal(response.error, undefined, JSON.stringify(response.error));
    const { text, stats } = response.result;
    assert.ok(chunks.length > 1, `expected several chunks, got ${chunks.length}`);
    assert.equal(chunks.join(''), text);
    assert.equal(stats.tokens, 48);
    assert.equal(stats.stopReason, 'max-tokens');
    const complete = await decoder.call('complete', { prefix: 'def add(a, b):\n    ', suffix: '\n', mode: 'line', maxTokens: 16 });
    assert.equal(complete.response.error, undefined);
    assert.equal(typeof complete.response.result.text, 'string');
    const recent = (await decoder.call('stats', {})).response.result.recent;
    assert.ok(recent.length >= 2);
  });

  it('after a tree completion the idle decoder replays it and sends its measured speed-up as a `speedup` event for its request', async () => {
    const speedups = (id: number) => decoder.messages.filter((m) => 'event' in m && m.event === 'speedup' && m.id === id) as SpeedupEvent[];
    const first = decoder.request('generate', { prefix: 'def scale(v, k):\n    return ', maxTokens: 24, strategy: 'tr-jacobi' });
    const { stats } = (await first.reply).response.result;
    assert.equal(stats.requestId, first.id, 'the stats name their request');
    const deadline = Date.now() + 5000;
    while (speedups(first.id).length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    const [event] = speedups(first.id);
    assert.ok(event, `a speedup event for the generation; stderr: ${decoder.stderr.slice(-2000)}`);
    assert.equal(event.data.strategy, 'tr-jacobi');
    assert.equal(event.data.tokens, stats.tokens);
    assert.ok(isSpeedupMeasurement(event.data) && event.data.arIdleMs > 0 && event.data.treeIdleMs > 0, JSON.stringify(event.data));
    const memo = decoder.request('generate', { prefix: 'def scale(v, k):\n    return ', maxTokens: 24, strategy: 'tr-jacobi' });
    assert.equal((await memo.reply).response.result.stats.fromMemo, true);
    const ar = decoder.request('generate', { prefix: 'def shift(v, d):\n    return ', maxTokens: 24, strategy: 'ar' });
    await ar.reply;
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(speedups(memo.id).length + speedups(ar.id).length, 0, 'nothing to measure for a memo answer or for plain greedy');
  });

  it('cancel stops a generation mid-way with stopReason "cancelled"', async () => {
    // Wait for the first streamed chunk so the cancel lands mid-generation.
    const generation = await startLongGeneration(decoder);
    const cancelAt = Date.now();
    const cancel = await decoder.call('cancel', { requestId: generation.id });
    assert.deepEqual(cancel.response.result, { cancelled: true });
    const { response } = await generation.reply;
    const latency = Date.now() - cancelAt;
    assert.equal(response.result.stats.stopReason, 'cancelled');
    assert.ok(response.result.stats.tokens < 1500, `generated ${response.result.stats.tokens} tokens`);
    assert.ok(latency < 1000, `cancel took ${latency} ms`);
    const unknown = await decoder.call('cancel', { requestId: 987654 });
    assert.deepEqual(unknown.response.result, { cancelled: false });
  });

  it('a cancel sent during a long prefill is answered at once, and the request ends cancelled long before the prefill would have', async () => {
    // Forward passes run in a worker thread, so the cancel is read during a pass rather than after it.
    const body = Array.from({ length: 80 }, (_, i) => `def function_${i}(value, other):\n    return value * ${i} + other - ${i * 7}\n`).join('');
    // A new first line per request: no KV rows in common with the one before, and no memo answer.
    const params = (variant: number) => ({ prefix: `# variant ${variant}\n${body}`, suffix: '\n', mode: 'line', maxTokens: 8, strategy: 'ar' });
    const uncancelled = [];
    for (const variant of [-1, -2]) uncancelled.push((await decoder.call('complete', params(variant))).response.result.stats);
    const prefillMs = Math.min(...uncancelled.map((s) => s.prefillMs as number));
    const { promptTokens } = uncancelled[0];
    assert.ok(promptTokens >= 1000 && uncancelled.every((s) => s.reusedPromptTokens < 16), JSON.stringify(uncancelled));
    const latencies: number[] = [];
    const totals: number[] = [];
    for (let variant = 1; variant <= 5; variant++) {
      const sentAt = performance.now();
      const request = decoder.request('complete', params(variant));
      await new Promise((resolve) => setTimeout(resolve, prefillMs / 5));
      const cancelAt = performance.now();
      const cancel = decoder.call('cancel', { requestId: request.id });
      const { response } = await request.reply;
      const answeredAt = performance.now();
      assert.deepEqual((await cancel).response.result, { cancelled: true });
      assert.equal(response.result.stats.stopReason, 'cancelled', JSON.stringify(response.result.stats));
      latencies.push(answeredAt - cancelAt);
      totals.push(answeredAt - sentAt);
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
    const chunks = Math.ceil(promptTokens / 128);
    console.log(`      cancel during a prefill of ${promptTokens} tokens (${prefillMs.toFixed(0)} ms uncancelled, ~${(prefillMs / chunks).toFixed(1)} ms per chunk of 128): `
      + `answered in ${median(latencies).toFixed(1)} ms median, ${Math.max(...latencies).toFixed(1)} ms max; request ended after ${median(totals).toFixed(0)} ms median`);
    assert.ok(median(totals) < prefillMs * 0.75, `the cancelled requests took ${median(totals).toFixed(0)} ms (median), the prefill ${prefillMs.toFixed(0)} ms`);
    // The next request decodes normally.
    const next = await decoder.call('complete', params(1));
    assert.equal(next.response.result.stats.stopReason !== 'cancelled', true);
  });

  it('a workspace at the default cap (2,000 files) indexes while completions keep being answered; time and memory reported', async () => {
    const files = 2000;
    const text = (i: number) => Array.from({ length: 60 }, (_, line) => `def function_${i}_${line}(value):\n    return value * ${line} + ${i}\n`).join('');
    const before = (await decoder.call('stats', {})).response.result.memoryMb as number;
    const started = Date.now();
    const batches: Promise<unknown>[] = [];
    for (let first = 0; first < files; first += 100) {
      const documents = Array.from({ length: 100 }, (_, k) => ({ uri: `file:///big/m${first + k}.py`, path: `m${first + k}.py`, text: text(first + k) }));
      batches.push(decoder.call('corpus.upsert', { documents }));
    }
    const completionSent = Date.now();
    const completion = await decoder.call('complete', { prefix: 'def f(value):\n    return ', suffix: '\n', mode: 'line', maxTokens: 8 });
    const completionMs = Date.now() - completionSent;
    assert.ok(completion.response.result, JSON.stringify(completion.response.error));
    await Promise.all(batches);
    const indexedMs = Date.now() - started;
    const stats = (await decoder.call('stats', {})).response.result;
    assert.ok(stats.corpus.documents >= files);
    console.log(`      ${files} files (${(files * text(0).length / 1e6).toFixed(1)} MB) indexed in ${indexedMs} ms; a completion sent meanwhile answered in ${completionMs} ms; decoder memory ${before} -> ${stats.memoryMb} MB`);
    await decoder.call('corpus.remove', { uris: Array.from({ length: files }, (_, i) => `file:///big/m${i}.py`) });
  });

  it('an inline completion is answered while a long Generate runs, and the Generate goes on', async () => {
    const generation = await startLongGeneration(decoder);
    let generateDone = false;
    void generation.reply.then(() => { generateDone = true; });
    const completion = await decoder.call('complete', { prefix: 'def f(x):\n    return ', suffix: '\n', mode: 'line', maxTokens: 8 });
    assert.ok(completion.response.result, JSON.stringify(completion.response));
    assert.equal(generateDone, false, 'the completion did not wait for the Generate to end');
    await decoder.call('cancel', { requestId: generation.id });
    const { response } = await generation.reply;
    assert.equal(response.result.stats.stopReason, 'cancelled');
  });

  it('shutdown answers and the process exits with code 0', async () => {
    const { response } = await decoder.call('shutdown', {});
    assert.deepEqual(response.result, {});
    assert.equal(await decoder.exited, 0);
  });
});

describe('LineSplitter', () => {
  it('joins a line that arrives in pieces, skips blank lines, and drops an oversize line whole', () => {
    const lines: string[] = [];
    const oversize: number[] = [];
    const splitter = new LineSplitter((line) => lines.push(line), 10, (chars) => oversize.push(chars));
    for (const piece of ['ab', 'c\n\n  \nde', 'f\n0123', '456789', 'XYZ\nok\n']) splitter.push(piece);
    assert.deepEqual(lines, ['abc', 'def', 'ok']);
    assert.deepEqual(oversize, [13]);
  });
});
