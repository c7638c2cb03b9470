import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  describeSource, installedTooltipLines, listAllInstalled, listInstalledModels, modelPicks, modelsHome, quantizationOf,
} from '../../extension/host/logic/installedModels';
import { formatTooltip } from '../../extension/host/logic/statusText';

/** A models folder as `npm run model` leaves it (training/models.py): NAME/{model.onnx, msn.json, source.json, ...}. */
function makeModelsFolder(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'msn-models-'));
  const write = (name: string, files: Record<string, string | number>) => {
    fs.mkdirSync(path.join(dir, name), { recursive: true });
    for (const [file, content] of Object.entries(files)) {
      fs.writeFileSync(path.join(dir, name, file), typeof content === 'number' ? Buffer.alloc(content) : content);
    }
  };
  write('qwen2.5-coder-0.5b-int8', {
    'model.onnx': 3 * 2 ** 20, 'tokenizer.json': '{}',
    'msn.json': JSON.stringify({ format: 'msn-onnx/1', weights: 'int8-matmulnbits-b32-acc4', parameters: 494_032_768 }),
    'source.json': JSON.stringify({ source: 'Qwen/Qwen2.5-Coder-0.5B', commit: '8123ea2e9354afb7ffcc6c8641d1b2f5ecf18301', local: false, ms_per_step: 121.5 }),
  });
  write('mine-msn-app-int4', {
    'model.onnx': 1000, 'msn.json': JSON.stringify({ format: 'msn-onnx/1', weights: 'int4-matmulnbits-b32-acc0' }),
    'source.json': JSON.stringify({ source: 'Qwen/Qwen2.5-Coder-0.5B', commit: 'abcdef0123', training: { method: 'msn' } }),
  });
  write('copied-by-hand', { 'model.onnx': 10, 'msn.json': JSON.stringify({ format: 'msn-onnx/1' }) });
  write('.qwen2.5-coder-1.5b-int8.partial-1234', { 'msn.json': '{}' }); // an install in progress
  write('not-a-model', { 'README.md': 'hello' });
  return dir;
}

describe('installed models (Select Model…, status bar tooltip)', () => {
  it('lists each folder with an msn.json: name, size, quantization, source; skips temporary and other folders', async () => {
    const dir = makeModelsFolder();
    const models = await listInstalledModels(dir);
    assert.deepEqual(models.map((m) => [m.name, m.quantization, m.source]), [
      ['copied-by-hand', 'float32', 'unknown'],
      ['mine-msn-app-int4', 'int4', 'msn-tune of Qwen/Qwen2.5-Coder-0.5B@abcdef0'],
      ['qwen2.5-coder-0.5b-int8', 'int8', 'Qwen/Qwen2.5-Coder-0.5B@8123ea2'],
    ]);
    const qwen = models[2];
    assert.equal(qwen.path, path.join(dir, 'qwen2.5-coder-0.5b-int8'));
    assert.ok(qwen.bytes > 3 * 2 ** 20 && qwen.bytes < 3 * 2 ** 20 + 1000);
    assert.equal(qwen.msPerStep, 121.5);
    assert.equal(qwen.parameters, 494_032_768);
    assert.deepEqual(await listInstalledModels(path.join(dir, 'missing')), []);
  });

  it('also lists the folder of the model in use when it is outside the models folder (installed with --out)', async () => {
    const dir = makeModelsFolder();
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'msn-home-'));
    const models = await listAllInstalled(empty, path.join(dir, 'copied-by-hand'));
    assert.equal(models.length, 3);
    assert.equal((await listAllInstalled(empty, '')).length, 0);
  });

  it('the models folder follows the installer\'s rule (training/models.py models_home)', () => {
    assert.equal(modelsHome({ MSN_COMPLETE_MODELS: '/x/y' }, 'linux', '/h'), '/x/y');
    assert.equal(modelsHome({ HOME: '/h' }, 'linux', '/h'), '/h/.cache/msn-complete/models');
    assert.equal(modelsHome({ HOME: '/h', XDG_CACHE_HOME: '/c' }, 'linux', '/h'), '/c/msn-complete/models');
    assert.equal(modelsHome({ HOME: '/h' }, 'darwin', '/h'), '/h/Library/Caches/msn-complete/models');
    assert.equal(modelsHome({ LOCALAPPDATA: 'C:\\L' }, 'win32', 'C:\\U'), 'C:\\L\\msn-complete\\models');
  });

  it('Select Model… offers the installed models, the shipped model and the folder picker; marks the one in use', async () => {
    const dir = makeModelsFolder();
    const models = await listInstalledModels(dir);
    const current = path.join(dir, 'qwen2.5-coder-0.5b-int8');
    const picks = modelPicks(models, current, dir);
    assert.deepEqual(picks.map((p) => p.label), ['copied-by-hand', 'mine-msn-app-int4', 'qwen2.5-coder-0.5b-int8', 'Shipped model', 'Browse for a model folder…']);
    assert.equal(picks[2].modelPath, current);
    assert.match(picks[2].description!, /^3\.0 MiB, int8, Qwen\/Qwen2\.5-Coder-0\.5B@8123ea2, 121\.5 ms\/step here \(in use\)$/);
    assert.equal(picks[3].modelPath, '');
    assert.equal(picks[4].modelPath, undefined);
    const none = modelPicks([], '', '/home/u/.cache/msn-complete/models');
    assert.equal(none[0].label, 'Shipped model');
    assert.match(none[0].description!, /\(in use\)/);
    assert.match(none[1].description!, /npm run model -- add REPO_ID/);
  });

  it('the status bar tooltip names them', async () => {
    const dir = makeModelsFolder();
    const models = await listInstalledModels(dir);
    const tooltip = formatTooltip({
      engine: { kind: 'ready' }, indexing: null, recent: [], inlineEnabled: true, model: null, corpus: null,
      workspaceTrusted: true, installed: { models, home: dir },
    });
    assert.match(tooltip, /Installed models \(Select Model… to switch\)/);
    assert.match(tooltip, /- `qwen2\.5-coder-0\.5b-int8`: 3\.0 MiB, int8, Qwen\/Qwen2\.5-Coder-0\.5B@8123ea2/);
    assert.match(installedTooltipLines([], '/m').join('\n'), /none in `\/m`/);
  });

  it('reads sources and quantization as the installer writes them', () => {
    assert.equal(quantizationOf(undefined), 'float32');
    assert.equal(quantizationOf('int8-matmulnbits-b32-acc4'), 'int8');
    assert.equal(describeSource(null), 'unknown');
    assert.equal(describeSource({ source: '/home/u/ckpt', commit: null, local: true }), '/home/u/ckpt');
  });
});
