// The forward passes in a worker thread (WorkerModel + dist/decoder/forwardWorker.js), as the
// decoding process runs them: the same numbers as the session in this thread, passes in call
// order with the KV cache's buffers lent to the worker, model errors and crashes as clear errors.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DraftTree } from '../../../extension/decoder/draft/tree';
import { treeInputs } from '../draft/treeHelpers';
import { buildChainInputs } from '../../../extension/decoder/engine/chainInputs';
import { DecoderEngine } from '../../../extension/decoder/engine/decoderEngine';
import { KvCache } from '../../../extension/decoder/engine/kvCache';
import { createStrategySet } from '../../../extension/decoder/engine/strategySet';
import { ModelInvalidError } from '../../../extension/decoder/model/errors';
import { loadModelDir, type LoadedModel } from '../../../extension/decoder/model/modelDir';
import { OnnxModel, type ForwardInputs, type ForwardOutputs } from '../../../extension/decoder/model/onnxModel';
import { WorkerModel } from '../../../extension/decoder/model/workerModel';
import { FIXTURE_MODEL_DIR, fixtureModel, seededRandom } from './fixtureModel';

const REPO_ROOT = path.resolve(__dirname, '../../..');
const WORKER_SCRIPT = path.join(REPO_ROOT, 'dist/decoder/forwardWorker.js');
const inWorker = WorkerModel.opener({ script: WORKER_SCRIPT });

function newCache(m: LoadedModel): KvCache {
  return new KvCache(m.config.numLayers, m.config.maxPositions, m.config.numKvHeads * m.config.headDim);
}

function randomTokens(count: number, seed: number, vocab: number): number[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => 5 + Math.floor(random() * (vocab - 5)));
}

function assertSameOutputs(actual: ForwardOutputs, expected: ForwardOutputs, what: string): void {
  assert.deepEqual(actual.logits, expected.logits, `${what}: logits`);
  assert.deepEqual(actual.newKeys, expected.newKeys, `${what}: new keys`);
  assert.deepEqual(actual.newValues, expected.newValues, `${what}: new values`);
}

/** The inputs of a pass over `cache`'s rows (chain or tree), built once for both models. */
type PassInputs = Omit<ForwardInputs, 'pastKeys' | 'pastValues'>;
const over = (inputs: PassInputs, cache: KvCache): ForwardInputs => ({ ...inputs, pastKeys: cache.keys, pastValues: cache.values });

describe('forward passes in a worker thread (fixture model)', function () {
  this.timeout(60_000);
  let local: LoadedModel;
  let worker: LoadedModel;
  const made: string[] = [];

  before(async () => {
    // The worker runs the built entry point: build it from the sources under test.
    execFileSync(process.execPath, ['esbuild.mjs'], { cwd: REPO_ROOT, stdio: 'inherit' });
    local = await fixtureModel();
    worker = await loadModelDir(FIXTURE_MODEL_DIR, inWorker, { threads: 1 });
  });
  after(async () => {
    await worker?.model.release();
    for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('gives exactly the in-thread logits and KV rows: 8 prefill chunks (a past of up to 1000 rows), then a tree over them', async () => {
    const { maskValue, vocabSize } = local.config;
    const cache = newCache(local);
    const prompt = randomTokens(1000, 3, vocabSize);
    for (let start = 0; start < prompt.length; start += 128) {
      const chunk = prompt.slice(start, start + 128);
      const inputs = { ...buildChainInputs(chunk, cache.length, maskValue), past: cache.length };
      const expected = await local.model.forward(over(inputs, cache));
      const actual = await worker.model.forward(over(inputs, cache));
      assertSameOutputs(actual, expected, `prefill chunk at ${start}`);
      cache.appendRows(actual.newKeys, actual.newValues, chunk.map((_, i) => i));
    }
    const tree = new DraftTree(prompt[prompt.length - 1]);
    tree.addPath([11, 12], 'jacobi');
    tree.addPath([13], 'retrieval');
    const inputs = { ...treeInputs(tree, cache.length, maskValue), past: cache.length };
    assertSameOutputs(await worker.model.forward(over(inputs, cache)), await local.model.forward(over(inputs, cache)), 'tree step');
    assert.equal(cache.keys[0].length, cache.capacity * cache.rowSize, 'the cache got its arrays back');
  });

  it('a DecoderEngine decoding through the worker emits the same tokens as in this thread', async () => {
    const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'msn-worker-engine-'));
    made.push(cacheDir);
    const engines = [OnnxModel.open, inWorker].map((openSession) => new DecoderEngine({ strategies: createStrategySet, openSession, cacheDir }));
    try {
      for (const engine of engines) await engine.load(FIXTURE_MODEL_DIR, 1);
      const prompt = engines[0].plainPrompt('def area(radius):\n    return 3.14159 * radius * radius\n\n'.repeat(3), 40);
      for (const strategy of ['ar', 'tr-jacobi'] as const) {
        const [here, there] = await Promise.all(engines.map((e) => e.run({ prompt, maxTokens: 40, strategy }, { isCancelled: () => false })));
        assert.deepEqual(there.result.tokens, here.result.tokens, strategy);
        assert.ok(there.result.tokens.length > 0);
      }
    } finally {
      for (const engine of engines) await engine.close();
    }
  });

  it('runs passes one at a time in call order; during a pass the cache arrays are in the worker', async () => {
    const { maskValue, vocabSize } = local.config;
    const cache = newCache(local);
    const prompt = randomTokens(64, 5, vocabSize);
    const first = { ...buildChainInputs(prompt, 0, maskValue), past: 0 };
    const prefilled = await local.model.forward(over(first, cache));
    cache.appendRows(prefilled.newKeys, prefilled.newValues, prompt.map((_, i) => i));
    const steps = [21, 22, 23].map((token) => ({ ...buildChainInputs([token], cache.length, maskValue), past: cache.length }));
    const expected: ForwardOutputs[] = [];
    for (const step of steps) expected.push(await local.model.forward(over(step, cache)));

    // Nobody waits between them: the second and third queue behind the first.
    const passes = steps.map((step) => worker.model.forward(over(step, cache)));
    // Microtasks only: the first pass is sent within them, and no reply (a macrotask) can return the
    // arrays before the check (after a full yield it could land between two passes).
    for (let i = 0; i < 20 && cache.keys[0].length > 0; i++) await Promise.resolve();
    assert.equal(cache.keys[0].length, 0, 'lent: a write to the cache now would fail instead of racing the pass');
    const outputs = await Promise.all(passes);
    outputs.forEach((out, i) => assertSameOutputs(out, expected[i], `pass ${i}`));
    assert.equal(cache.keys[0].length, cache.capacity * cache.rowSize);
    assert.deepEqual(cache.keys[0].subarray(0, 64 * cache.rowSize), prefilled.newKeys[0], 'the rows came back unchanged');
  });

  it('a pass that fails in the worker rejects with its error and returns the cache arrays', async () => {
    const cache = newCache(local);
    const inputs = { ...buildChainInputs([7, 8], 0, local.config.maskValue), past: 0 };
    inputs.attentionMask = new Float32Array(3); // not [q, past + q]
    await assert.rejects(worker.model.forward(over(inputs, cache)), /./);
    assert.equal(cache.keys[0].length, cache.capacity * cache.rowSize);
    const ok = { ...buildChainInputs([7, 8], 0, local.config.maskValue), past: 0 };
    assertSameOutputs(await worker.model.forward(over(ok, cache)), await local.model.forward(over(ok, cache)), 'the next pass');
  });

  it('a broken model.onnx fails to open as in this thread: a ModelInvalidError naming model.onnx', async () => {
    const notOnnx = copyFixture(made);
    fs.writeFileSync(path.join(notOnnx, 'model.onnx'), 'this is not a protobuf');
    const layers = copyFixture(made);
    const configFile = path.join(layers, 'msn.json');
    const config = JSON.parse(fs.readFileSync(configFile, 'utf8'));
    fs.writeFileSync(configFile, JSON.stringify({ ...config, num_layers: config.num_layers + 1 }));
    for (const [dir, pattern] of [[notOnnx, /ONNX Runtime cannot load/], [layers, /past_key_values\.\d+\.key/]] as const) {
      await assert.rejects(loadModelDir(dir, inWorker), (e: unknown) => {
        assert.ok(e instanceof ModelInvalidError, `expected ModelInvalidError, got ${e}`);
        assert.equal(e.file, 'model.onnx');
        assert.match(e.message, /^model\.onnx: /);
        assert.match(e.message, pattern);
        return true;
      });
    }
  });

  it('a worker that dies fails the pass in flight and every later one, and reports the crash once', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'msn-crash-worker-'));
    made.push(dir);
    // Opens like the real worker, then dies on its first pass.
    const script = path.join(dir, 'crashingWorker.js');
    fs.writeFileSync(script, "const { parentPort } = require('node:worker_threads');\n"
      + "parentPort.on('message', () => process.exit(3));\nparentPort.postMessage({ id: 0 });\n");
    const crashes: Error[] = [];
    const model = await WorkerModel.open(path.join(FIXTURE_MODEL_DIR, 'model.onnx'), local.config, {}, { script, onCrash: (e) => crashes.push(e) });
    const cache = newCache(local);
    const inputs = over({ ...buildChainInputs([7], 0, local.config.maskValue), past: 0 }, cache);
    await assert.rejects(model.forward(inputs), /forward-pass worker exited \(code 3\)/);
    await assert.rejects(model.forward(inputs), /forward-pass worker exited/);
    assert.equal(crashes.length, 1);
    await model.release();
  });
});

function copyFixture(made: string[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'msn-worker-model-'));
  made.push(dir);
  for (const file of fs.readdirSync(FIXTURE_MODEL_DIR)) fs.copyFileSync(path.join(FIXTURE_MODEL_DIR, file), path.join(dir, file));
  return dir;
}
