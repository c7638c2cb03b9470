import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MAX_DOCUMENT_CHARS, MAX_REQUEST_TOKENS, MAX_TREE_BUDGET, SETTING_BOUNDS } from '../../extension/limits';
import { validateParams } from '../../extension/decoder/serverParams';
import { judgeDocument } from '../../extension/decoder/engine/documentFilter';
import { looksBinary } from '../../extension/host/logic/fileFilter';

const manifest = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../package.json'), 'utf8'));
const properties = manifest.contributes.configuration.properties as Record<string, { minimum?: number; maximum?: number; default?: unknown }>;

describe('limits: one place for every bound', () => {
  it('the settings schema declares exactly the bounds in extension/limits.ts', () => {
    for (const [name, bounds] of Object.entries(SETTING_BOUNDS)) {
      const schema = properties[`msnComplete.${name}`];
      assert.ok(schema, `package.json declares msnComplete.${name}`);
      assert.deepEqual({ min: schema.minimum, max: schema.maximum, default: schema.default }, bounds, name);
    }
  });

  it('the decoder accepts every token count and tree budget the settings allow, and nothing more', () => {
    const request = (maxTokens: number, treeBudget = 0) => validateParams('generate', { prefix: 'x', maxTokens, treeBudget });
    assert.equal(request(SETTING_BOUNDS.generateMaxTokens.max).ok, true);
    assert.equal(request(SETTING_BOUNDS.maxTokens.max).ok, true);
    assert.equal(request(MAX_REQUEST_TOKENS + 1).ok, false);
    assert.equal(request(8, MAX_TREE_BUDGET).ok, true);
    assert.equal(request(8, MAX_TREE_BUDGET + 1).ok, false);
  });

  it('the decoder indexes every file the largest file-size setting lets the host send', () => {
    const largest = SETTING_BOUNDS['corpus.maxFileSizeKB'].max * 1024;
    assert.equal(MAX_DOCUMENT_CHARS, largest);
    assert.deepEqual(judgeDocument('x'.repeat(largest)), { index: true });
    assert.equal(judgeDocument('x'.repeat(largest + 1)).index, false);
  });

  it('the host and the decoder call the same text binary', () => {
    for (const share of [0.02, 0.04, 0.06, 0.2]) {
      const controls = Math.round(1000 * share);
      const text = '\u0001'.repeat(controls) + 'a'.repeat(1000 - controls);
      assert.equal(looksBinary(new TextEncoder().encode(text)), !judgeDocument(text).index, `share ${share}`);
    }
  });
});
