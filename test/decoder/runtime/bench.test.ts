import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readWorkspace, sampleFimBenchmark, sampleWorkspaceCursors } from '../../../extension/cli/benchSamples';
import { runBench } from '../../../extension/cli/benchRunner';
import { editDistance, editSimilarity, firstLineExactMatch } from '../../../extension/cli/quality';
import { DecoderEngine } from '../../../extension/decoder/engine/decoderEngine';
import { createStrategySet } from '../../../extension/decoder/engine/strategySet';
import { OnnxModel } from '../../../extension/decoder/model/onnxModel';
import { FIXTURE_MODEL_DIR } from './fixtureModel';

const WORKSPACE = path.resolve(__dirname, '../../fixtures/sample-workspace');
const HUMANEVAL = path.resolve(__dirname, '../../../training/benchmarks/humaneval-infilling/HumanEval-SingleLineInfilling.jsonl.gz');

describe('bench', function () {
  this.timeout(120_000);

  it('quality measures', () => {
    assert.equal(editDistance('kitten', 'sitting'), 3);
    assert.equal(editDistance('', 'abc'), 3);
    assert.equal(editSimilarity('abc', 'abc'), 1);
    assert.equal(editSimilarity('', ''), 1);
    assert.equal(editSimilarity('abcd', 'abxd'), 0.75);
    assert.ok(firstLineExactMatch('\n  return x   \nfoo', 'return x\nbar'.replace('return', '  return')));
    assert.ok(!firstLineExactMatch('return y', 'return x'));
  });

  it('workspace cursors are deterministic, hide the middle, and prefix + middle + suffix is the file', () => {
    const files = readWorkspace(WORKSPACE);
    assert.ok(files.some((f) => f.path.endsWith('.py')) && files.some((f) => f.path.endsWith('.ts')));
    const a = sampleWorkspaceCursors(files, 12, 5);
    const b = sampleWorkspaceCursors(files, 12, 5);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, sampleWorkspaceCursors(files, 12, 6));
    for (const sample of a) {
      const file = files.find((f) => f.path === sample.file)!;
      assert.equal(sample.prefix + sample.truth + sample.suffix, file.text);
      assert.ok(sample.truth.trim().length > 0 && !sample.truth.endsWith('\n'));
    }
  });

  it('a workspace cursor whose line the editor completes alone hides that line only', () => {
    const text = ['def f(a):', '    b = a + 1', '    c = b * 2', '    return c', ''].join('\n');
    const samples = sampleWorkspaceCursors([{ path: 'f.py', text }], 40, 3);
    const inBody = samples.filter((s) => s.truth.startsWith('b = ') || s.truth.startsWith('c = '));
    assert.ok(inBody.length > 0);
    for (const sample of inBody) assert.ok(!sample.truth.includes('\n'), sample.truth);
  });

  it('HumanEval-Infilling tasks are sampled by seed', function () {
    const tasks = sampleFimBenchmark(HUMANEVAL, 5, 1);
    assert.equal(tasks.length, 5);
    assert.deepEqual(tasks, sampleFimBenchmark(HUMANEVAL, 5, 1));
    assert.ok(tasks.every((t) => /HumanEval\/\d+/.test(t.id) && t.truth.length > 0));
  });

  it('runs every strategy on the same prompts and reports exactly the issue\'s fields', async () => {
    const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'msn-bench-'));
    const engine = new DecoderEngine({ strategies: createStrategySet, openSession: OnnxModel.open, cacheDir });
    try {
      await engine.load(FIXTURE_MODEL_DIR, 1);
      const files = readWorkspace(WORKSPACE);
      const samples = sampleWorkspaceCursors(files, 4, 1);
      const cursorFileHidden: boolean[] = [];
      const result = await runBench(engine, samples, {
        strategies: ['pld', 'tr-jacobi'], maxTokens: 8, mode: 'block', corpusFiles: files, warmupRuns: 1, mixture: false,
        // While a sample runs, its file is in the corpus as the editor holds it: prefix + suffix, never the hidden middle.
        onSample: (_, sample) => cursorFileHidden.push(engine.corpus.textOf(sample.file!) === sample.prefix + sample.suffix),
      });
      assert.deepEqual(Object.keys(result.summary), ['ar', 'pld', 'tr-jacobi']);
      for (const summary of Object.values(result.summary)) {
        assert.deepEqual(Object.keys(summary).sort(), [
          'edit_similarity', 'first_line_exact_match', 'forward_passes', 'identical_to_ar', 'mean_accepted_per_pass', 'samples', 'speedup_vs_ar', 'tokens_per_second',
        ]);
        assert.equal(summary.samples, 4);
        assert.equal(summary.identical_to_ar, 4);
      }
      assert.deepEqual(cursorFileHidden, [true, true, true, true]);
      // After the run the corpus is the whole workspace again (the cursor file restored).
      assert.equal(engine.corpus.counts().documents, files.length);
      assert.equal(engine.corpus.textOf(samples[0].file!), files.find((f) => f.path === samples[0].file)!.text);
    } finally {
      await engine.close();
      fs.rmSync(cacheDir, { recursive: true, force: true });
    }
  });
});
