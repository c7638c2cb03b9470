import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ModelInvalidError } from '../../../extension/decoder/model/errors';
import { loadModelDir } from '../../../extension/decoder/model/modelDir';
import { parseMsnConfig } from '../../../extension/decoder/model/msnConfig';
import { OnnxModel } from '../../../extension/decoder/model/onnxModel';
import { FIXTURE_MODEL_DIR } from './fixtureModel';

/** A copy of the fixture model dir that a test may break. */
function copyFixture(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'msn-model-'));
  for (const file of fs.readdirSync(FIXTURE_MODEL_DIR)) fs.copyFileSync(path.join(FIXTURE_MODEL_DIR, file), path.join(dir, file));
  return dir;
}

function editConfig(dir: string, edit: (config: Record<string, unknown>) => void): void {
  const file = path.join(dir, 'msn.json');
  const config = JSON.parse(fs.readFileSync(file, 'utf8'));
  edit(config);
  fs.writeFileSync(file, JSON.stringify(config));
}

async function rejectsNaming(dir: string, file: string, pattern?: RegExp): Promise<void> {
  await assert.rejects(loadModelDir(dir, OnnxModel.open), (e: unknown) => {
    assert.ok(e instanceof ModelInvalidError, `expected ModelInvalidError, got ${e}`);
    assert.equal(e.file, file);
    assert.ok(e.message.startsWith(`${file}:`));
    if (pattern) assert.match(e.message, pattern);
    return true;
  });
}

describe('model directory loading', () => {
  const made: string[] = [];
  const fresh = () => {
    const dir = copyFixture();
    made.push(dir);
    return dir;
  };
  after(() => {
    for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('loads the fixture and reports its shape', async () => {
    const loaded = await loadModelDir(FIXTURE_MODEL_DIR, OnnxModel.open);
    assert.equal(loaded.config.format, 'msn-onnx/1');
    assert.equal(loaded.config.eosTokenId, loaded.tokenizer.special.eot);
    assert.match(loaded.modelHash, /^[0-9a-f]{64}$/);
    await loaded.model.release();
  });

  for (const file of ['model.onnx', 'tokenizer.json', 'msn.json']) {
    it(`names a missing ${file}`, async () => {
      const dir = fresh();
      fs.rmSync(path.join(dir, file));
      await rejectsNaming(dir, file, /missing/);
    });
  }

  it('names a truncated model.onnx and a tokenizer.json that is not JSON', async () => {
    const truncated = fresh();
    const onnx = path.join(truncated, 'model.onnx');
    fs.writeFileSync(onnx, fs.readFileSync(onnx).subarray(0, Math.floor(fs.statSync(onnx).size / 2)));
    await rejectsNaming(truncated, 'model.onnx');
    const tokenizer = fresh();
    fs.writeFileSync(path.join(tokenizer, 'tokenizer.json'), '{"model": {"type": "BPE", "vocab": {');
    await rejectsNaming(tokenizer, 'tokenizer.json', /not valid JSON/);
  });

  it('reads mixture.json when there is one (optional), and names a broken one', async () => {
    const none = await loadModelDir(FIXTURE_MODEL_DIR, OnnxModel.open);
    assert.equal(none.mixture, null);
    await none.model.release();
    const garbage = fresh();
    fs.writeFileSync(path.join(garbage, 'mixture.json'), '{"format": "msn-mixture/1", ');
    await rejectsNaming(garbage, 'mixture.json');
    const short = fresh();
    fs.writeFileSync(path.join(short, 'mixture.json'), JSON.stringify({ format: 'msn-mixture/1', match_edges: [2], count_edges: [1], confidence_edges: [0], lambda: { workspace: [[[0.5]]] } }));
    await rejectsNaming(short, 'mixture.json', /lambda.own/);
    const good = fresh();
    fs.copyFileSync(path.join(__dirname, '../../../model/mixture.json'), path.join(good, 'mixture.json'));
    const loaded = await loadModelDir(good, OnnxModel.open);
    assert.ok(loaded.mixture !== null && loaded.mixture.matchEdges.length > 0);
    await loaded.model.release();
  });

  it('names a garbage msn.json, a wrong format and missing keys', async () => {
    const garbage = fresh();
    fs.writeFileSync(path.join(garbage, 'msn.json'), '{not json');
    await rejectsNaming(garbage, 'msn.json', /not valid JSON/);
    const format = fresh();
    editConfig(format, (c) => { c.format = 'gguf'; });
    await rejectsNaming(format, 'msn.json', /format/);
    const missing = fresh();
    editConfig(missing, (c) => { delete c.head_dim; });
    await rejectsNaming(missing, 'msn.json', /head_dim/);
  });

  it('names model.onnx when its graph does not match msn.json', async () => {
    const layers = fresh();
    editConfig(layers, (c) => { c.num_layers = (c.num_layers as number) + 1; });
    await rejectsNaming(layers, 'model.onnx', /past_key_values\.\d+\.key/);
    const heads = fresh();
    editConfig(heads, (c) => { c.head_dim = 32; c.num_kv_heads = 1; });
    await rejectsNaming(heads, 'model.onnx', /msn.json says/);
  });

  it('names a model.onnx that is not an ONNX file, and a tokenizer without the FIM tokens', async () => {
    const onnx = fresh();
    fs.writeFileSync(path.join(onnx, 'model.onnx'), 'this is not a protobuf');
    await rejectsNaming(onnx, 'model.onnx', /ONNX Runtime cannot load/);
    const tokenizer = fresh();
    editConfig(tokenizer, (c) => { ((c.prompt as Record<string, unknown>).fim as Record<string, string>).middle = '<|no_such_token|>'; });
    await rejectsNaming(tokenizer, 'tokenizer.json', /no_such_token/);
  });

  it('parseMsnConfig rejects a -inf-like mask and an eos outside the vocabulary', () => {
    const base = JSON.parse(fs.readFileSync(path.join(FIXTURE_MODEL_DIR, 'msn.json'), 'utf8'));
    assert.throws(() => parseMsnConfig(JSON.stringify({ ...base, mask_value: 0 })), /mask_value/);
    assert.throws(() => parseMsnConfig(JSON.stringify({ ...base, eos_token_id: base.vocab_size })), /eos_token_id/);
    assert.equal(parseMsnConfig(JSON.stringify(base)).numLayers, base.num_layers);
  });
});
