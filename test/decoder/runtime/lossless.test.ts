// Every strategy must emit exactly the tokens plain greedy (`ar`) emits: at least 100
// prompts per strategy on the fixture model, random token sequences and real code (some
// repetitive, so drafts do get accepted), with the sample workspace as retrieval corpus.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readWorkspace } from '../../../extension/cli/benchSamples';
import { DecoderEngine, PASS_SIZE_TOLERANCE } from '../../../extension/decoder/engine/decoderEngine';
import { createStrategySet } from '../../../extension/decoder/engine/strategySet';
import { OnnxModel, type ModelSession, type SessionSettings } from '../../../extension/decoder/model/onnxModel';
import type { MsnConfig } from '../../../extension/decoder/model/msnConfig';
import type { StrategyName } from '../../../extension/protocol';
import { FIXTURE_MODEL_DIR, seededRandom } from './fixtureModel';
import type { PromptParts } from '../../../extension/decoder/engine/fimPrompt';
import { MIXTURE_FORMAT, parseMixtureWeights } from '../../../extension/decoder/mixture/mixtureWeights';

const PROMPTS = 104;
const MAX_TOKENS = 24;
const STRATEGIES: StrategyName[] = ['jacobi', 'pld', 'tr-jacobi'];
const TREE_BUDGETS = [undefined, 1, 4, 16, 63];
const WORKSPACE = path.resolve(__dirname, '../../fixtures/sample-workspace');

interface Prompt {
  label: string;
  tokens: number[];
}

function makePrompts(engine: DecoderEngine, count: number): Prompt[] {
  const random = seededRandom(2024);
  const { tokenizer, config } = engine.model;
  const specials = new Set(Object.values(tokenizer.special));
  const randomToken = () => {
    for (;;) {
      const id = Math.floor(random() * config.vocabSize);
      if (!specials.has(id)) return id;
    }
  };
  const code = readWorkspace(WORKSPACE).map((f) => f.text);
  const snippet = (length: number) => {
    const text = code[Math.floor(random() * code.length)];
    const start = Math.floor(random() * Math.max(1, text.length - length));
    return text.slice(start, start + length);
  };
  const prompts: Prompt[] = [];
  for (let i = 0; i < count; i++) {
    switch (i % 6) {
      case 0: prompts.push({ label: 'random tokens', tokens: Array.from({ length: 1 + Math.floor(random() * 60) }, randomToken) }); break;
      case 1: {
        const unit = Array.from({ length: 2 + Math.floor(random() * 6) }, randomToken);
        prompts.push({ label: 'repeated random tokens', tokens: Array.from({ length: 4 + Math.floor(random() * 6) }, () => unit).flat() });
        break;
      }
      case 2: prompts.push({ label: 'code', tokens: engine.plainPrompt(snippet(50 + Math.floor(random() * 400)), MAX_TOKENS) }); break;
      case 3: prompts.push({ label: 'repeated code', tokens: engine.plainPrompt(snippet(30 + Math.floor(random() * 60)).repeat(3), MAX_TOKENS) }); break;
      case 4: prompts.push({ label: 'fim code', tokens: engine.fimPrompt(snippet(200), snippet(100), MAX_TOKENS) }); break;
      default: prompts.push({ label: 'single token', tokens: [randomToken()] }); break;
    }
  }
  return prompts;
}

describe('lossless decoding: every strategy equals ar (fixture model)', function () {
  this.timeout(120_000);
  let engine: DecoderEngine;
  let cacheDir: string;
  let prompts: Prompt[];
  const reference = new Map<number, number[]>();

  before(async () => {
    cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'msn-lossless-'));
    engine = new DecoderEngine({ strategies: createStrategySet, openSession: OnnxModel.open, cacheDir });
    await engine.load(FIXTURE_MODEL_DIR, 1);
    await engine.corpus.upsert(readWorkspace(WORKSPACE).map((f) => ({ uri: f.path, text: f.text })));
    prompts = makePrompts(engine, PROMPTS);
    for (let i = 0; i < prompts.length; i++) {
      const { result } = await engine.run({ prompt: prompts[i].tokens, maxTokens: MAX_TOKENS, strategy: 'ar' }, { isCancelled: () => false });
      assert.equal(result.forwardPasses, result.tokens.length + (result.stopReason === 'eos' ? 1 : 0));
      reference.set(i, result.tokens);
    }
  });

  after(async () => {
    await engine.close();
    fs.rmSync(cacheDir, { recursive: true, force: true });
  });

  it('the prompts make ar generate real output (not only immediate end-of-text)', () => {
    const generated = [...reference.values()].filter((tokens) => tokens.length === MAX_TOKENS).length;
    assert.ok(generated >= PROMPTS / 2, `only ${generated} prompts reached ${MAX_TOKENS} tokens`);
  });

  for (const strategy of STRATEGIES) {
    it(`${strategy}: ${PROMPTS} prompts, token ids identical to ar`, async () => {
      let passes = 0;
      let tokens = 0;
      let fromRetrieval = 0;
      let fromJacobi = 0;
      for (let i = 0; i < prompts.length; i++) {
        const treeBudget = TREE_BUDGETS[i % TREE_BUDGETS.length];
        const { result } = await engine.run({ prompt: prompts[i].tokens, maxTokens: MAX_TOKENS, strategy, treeBudget }, { isCancelled: () => false });
        assert.deepEqual(result.tokens, reference.get(i), `prompt ${i} (${prompts[i].label}, tree budget ${treeBudget ?? 'auto'})`);
        passes += result.forwardPasses;
        tokens += result.tokens.length;
        fromRetrieval += result.acceptedFromRetrieval;
        fromJacobi += result.acceptedFromJacobi + result.acceptedFromNoise;
      }
      console.log(`      ${strategy}: ${tokens} tokens in ${passes} passes; accepted drafts: ${fromRetrieval} retrieved, ${fromJacobi} Jacobi/noise`);
      // The accepted drafts exercise the source each strategy drafts from.
      if (strategy !== 'jacobi') assert.ok(fromRetrieval > 0, `${strategy}: no retrieved draft was ever accepted`);
      if (strategy !== 'pld') assert.ok(fromJacobi > 0, `${strategy}: no Jacobi draft was ever accepted`);
      // Drafting must do something on these prompts: fewer passes than tokens overall.
      assert.ok(passes < tokens, `${strategy}: ${passes} forward passes for ${tokens} tokens`);
    });
  }
});

describe('lossless decoding under the workspace mixture: every strategy equals ar (fixture model)', function () {
  this.timeout(180_000);
  const MIXTURE_PROMPTS = 60;
  // Strong weights, so the n-gram side often decides (the fixture model ships none).
  const weights = parseMixtureWeights({
    format: MIXTURE_FORMAT, match_edges: [2, 4, 8], count_edges: [1, 3], confidence_edges: [0, 0.5],
    lambda: {
      workspace: [[[0.3, 0.4], [0.6, 0.7], [0.9, 0.9]], [[0.1, 0.2], [0.4, 0.5], [0.8, 0.8]]],
      own: [[[0.2, 0.3], [0.5, 0.6], [0.8, 0.8]], [[0.1, 0.1], [0.3, 0.4], [0.7, 0.7]]],
    },
  });
  let engine: DecoderEngine;
  let cacheDir: string;
  const requests: { label: string; parts: PromptParts; uri?: string }[] = [];

  before(async () => {
    cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'msn-lossless-mixture-'));
    engine = new DecoderEngine({ strategies: createStrategySet, openSession: OnnxModel.open, cacheDir });
    await engine.load(FIXTURE_MODEL_DIR, 1);
    const files = readWorkspace(WORKSPACE);
    await engine.corpus.upsert(files.map((f) => ({ uri: f.path, text: f.text })));
    const random = seededRandom(7);
    for (let i = 0; i < MIXTURE_PROMPTS; i++) {
      const file = files[Math.floor(random() * files.length)];
      const cursor = Math.floor(random() * file.text.length);
      const prefix = file.text.slice(0, cursor);
      const suffix = file.text.slice(cursor + Math.floor(random() * 80));
      if (i % 3 === 2) {
        const parts = engine.fimPromptParts('', '', MAX_TOKENS);
        const tokens = engine.plainPrompt(prefix.slice(-400), MAX_TOKENS);
        requests.push({ label: 'plain code', parts: { ...parts, tokens, prefix: tokens, suffix: [], prefixEnd: tokens.length, prefixWindow: tokens, suffixWindow: [] } });
      } else {
        // Inside a line, after an indentation, at a line's start: whatever the cursor happened to be.
        requests.push({ label: 'fim code', parts: engine.fimPromptParts(prefix, suffix, MAX_TOKENS, { uri: file.path, path: file.path }), uri: file.path });
      }
    }
  });

  after(async () => {
    await engine.close();
    fs.rmSync(cacheDir, { recursive: true, force: true });
  });

  it('jacobi, pld and tr-jacobi decode the mixture\'s greedy tokens; the mixture changes what is decoded; healed text is hidden', async () => {
    let changed = 0;
    let healed = 0;
    for (const [i, request] of requests.entries()) {
      const run = async (strategy: StrategyName, withMixture: boolean) => {
        const { prompt, mixture } = engine.plan(request.parts, request.uri, withMixture, weights);
        return { ...(await engine.run({ prompt, maxTokens: MAX_TOKENS, strategy, mixture, treeBudget: TREE_BUDGETS[i % TREE_BUDGETS.length] }, { isCancelled: () => false })), mixture };
      };
      const reference = await run('ar', true);
      const plain = await run('ar', false);
      if (reference.result.text !== plain.result.text) changed++;
      if ((reference.mixture?.hiddenText.length ?? 0) > 0) healed++;
      for (const strategy of STRATEGIES) {
        const { result } = await run(strategy, true);
        assert.deepEqual(result.tokens, reference.result.tokens, `prompt ${i} (${request.label}), ${strategy}`);
        assert.equal(result.text, reference.result.text);
      }
    }
    console.log(`      ${requests.length} prompts: the mixture changed ${changed} completions; ${healed} prompts had a healed end`);
    assert.ok(changed >= requests.length / 4, `the mixture changed only ${changed} of ${requests.length} completions`);
    assert.ok(healed >= requests.length / 2);
  });
});

describe('a model whose logits depend on the pass size (fixture model, one-row passes shifted)', function () {
  this.timeout(60_000);
  let cacheDir: string;

  /** The fixture model with the kernel fault of some quantized graphs: a one-token pass's logits move by `shift`. */
  function drifting(shift: number) {
    return async (modelPath: string, config: MsnConfig, settings: SessionSettings): Promise<ModelSession> => {
      const inner = await OnnxModel.open(modelPath, config, settings);
      return {
        forward: async (inputs) => {
          const out = await inner.forward(inputs);
          if (inputs.inputIds.length === 1) for (let v = 0; v < out.logits.length; v += 7) out.logits[v] += shift;
          return out;
        },
        release: () => inner.release(),
      };
    };
  }

  before(() => { cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'msn-pass-size-')); });
  after(() => fs.rmSync(cacheDir, { recursive: true, force: true }));

  it('is found at load and decoded with plain greedy whatever the request names; rounding-sized drift is not', async () => {
    const faulty = new DecoderEngine({ strategies: createStrategySet, openSession: drifting(0.05), cacheDir });
    const info = await faulty.load(FIXTURE_MODEL_DIR, 1);
    try {
      assert.match(info.plainGreedyOnly ?? '', /tree decoding would not be lossless/);
      const { result, stats } = await faulty.run({ prompt: faulty.fimPrompt('def f(a):\n    return ', '\n', 16), maxTokens: 16, strategy: 'tr-jacobi' }, { isCancelled: () => false });
      assert.equal(result.strategy, 'ar');
      assert.equal(stats.strategy, 'ar');
    } finally {
      await faulty.close();
    }
    const rounding = new DecoderEngine({ strategies: createStrategySet, openSession: drifting(PASS_SIZE_TOLERANCE / 10), cacheDir });
    try {
      assert.equal((await rounding.load(FIXTURE_MODEL_DIR, 1)).plainGreedyOnly, undefined);
    } finally {
      await rounding.close();
    }
  });
});
