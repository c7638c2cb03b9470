import * as assert from 'node:assert/strict';
import { Detokenizer } from '../../../extension/decoder/engine/detokenizer';
import type { LoadedModel } from '../../../extension/decoder/model/modelDir';
import { fixtureModel } from './fixtureModel';

describe('incremental detokenizer', () => {
  let m: LoadedModel;
  before(async () => {
    m = await fixtureModel();
  });

  it('never exposes half a character, and ends with the exact text', () => {
    const text = 'naïve = "héllo 🎉 世界"\n# ✓ done 🚀\n';
    const ids = m.tokenizer.encode(text);
    // The fixture's small vocabulary splits multi-byte characters over several tokens.
    assert.ok(ids.some((id) => m.tokenizer.decode([id]).includes('\uFFFD')), 'expected a token that ends mid-character');
    const detokenizer = new Detokenizer(m.tokenizer);
    let previous = '';
    for (const id of ids) {
      detokenizer.push(id);
      const now = detokenizer.text;
      assert.ok(!now.includes('\uFFFD'), JSON.stringify(now));
      assert.ok(now.startsWith(previous));
      assert.ok(text.startsWith(now));
      previous = now;
    }
    assert.equal(detokenizer.text, text);
    assert.equal(detokenizer.finalText, text);
  });
});
