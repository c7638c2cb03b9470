import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { KvCache } from '../../../extension/decoder/engine/kvCache';
import {
  CALIBRATION_QUERY_SIZES, calibrationFile, loadOrMeasureLatencyCurve,
} from '../../../extension/decoder/engine/latencyCalibration';
import { median } from '../../../extension/speedup';
import type { LoadedModel } from '../../../extension/decoder/model/modelDir';
import { fixtureModel } from './fixtureModel';

describe('latency calibration', () => {
  let m: LoadedModel;
  let cacheDir: string;
  before(async () => {
    m = await fixtureModel();
    cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'msn-latency-'));
  });
  after(() => fs.rmSync(cacheDir, { recursive: true, force: true }));

  it('median', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
  });

  it('measures every q once, caches per (model, cpu, threads), and reuses the cache', async () => {
    const cache = new KvCache(m.config.numLayers, m.config.maxPositions, m.config.numKvHeads * m.config.headDim);
    const key = { modelHash: m.modelHash, cpuModel: 'test-cpu', threads: 1 };
    const request = { model: m.model, cache, maskValue: m.config.maskValue, vocabSize: m.config.vocabSize, key, cacheDir, isBusy: () => false };
    const first = await loadOrMeasureLatencyCurve(request);
    assert.equal(first.fromCache, false);
    assert.deepEqual(Object.keys(first.curve).map(Number), [...CALIBRATION_QUERY_SIZES]);
    assert.ok(Object.values(first.curve).every((ms) => ms > 0 && ms < 1000));
    assert.ok(fs.existsSync(first.file));
    const second = await loadOrMeasureLatencyCurve(request);
    assert.equal(second.fromCache, true);
    assert.deepEqual(second.curve, first.curve);
    assert.notEqual(calibrationFile(cacheDir, { ...key, threads: 2 }), first.file);
    assert.notEqual(calibrationFile(cacheDir, { ...key, cpuModel: 'other' }), first.file);
    // A corrupt cache file is measured again, not trusted.
    fs.writeFileSync(first.file, '{"version":1');
    assert.equal((await loadOrMeasureLatencyCurve(request)).fromCache, false);
    // A measurement on a busy machine is used but not cached.
    fs.rmSync(first.file);
    const busy = await loadOrMeasureLatencyCurve({ ...request, isBusy: () => true });
    assert.equal(busy.cached, false);
    assert.equal(fs.existsSync(first.file), false);
  });
});
