// Measurement, not a test: how many tokens per forward pass each strategy would accept
// on real code if the model were an oracle that knows the true continuation of the file.
// Two oracles bracket a real model:
// - strict: right only on the true path, garbage after any wrong draft (a model that
//   noise does confuse): only retrieval and lucky guesses are accepted;
// - robust: always predicts the true token for its position, whatever the drafts before
//   it (the ideal an MSN-trained model approaches): Jacobi guesses become exact.
// Run: npx tsx test/decoder/strategies/oracleReplay.ts [samples] [maxTokens]
// Workspace: this repository's extension/ sources, tokenized with model/tokenizer.json.

import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import type { StrategyName } from '../../../extension/protocol';
import { AcceptanceStats, LatencyCurve } from '../../../extension/decoder/draft/costModel';
import { TokenIndex } from '../../../extension/decoder/retrieval/tokenIndex';
import { createStrategy } from '../../../extension/decoder/strategies';
import { decodeWith, hashModel, type FakeModel } from './fakeModel';

const samples = Number(process.argv[2] ?? 40);
const maxTokens = Number(process.argv[3] ?? 48);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

const tokenizerJson = JSON.parse(readFileSync('model/tokenizer.json', 'utf8'));
const tokenizer = new Tokenizer(tokenizerJson, {});
const vocab = 8192;
const files = sourceFiles('extension').sort().map((path) => ({ path, tokens: tokenizer.encode(readFileSync(path, 'utf8')).ids as number[] }));

function oracle(doc: number[], start: number, robust: boolean): FakeModel {
  const fallback = hashModel(vocab, 1);
  return {
    vocab,
    ranking(sequence) {
      // sequence = the prompt (doc[..start]) + drafts/emitted; its length gives the position.
      const position = sequence.length;
      const onPath = robust || sequence.every((t, i) => i < start - 8 || t === doc[i]);
      const base = fallback.ranking(sequence);
      if (!onPath || position >= doc.length) return base;
      const next = doc[position];
      return [next, ...base.filter((t) => t !== next)];
    },
  };
}

let state = 7;
const random = (n: number) => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) >>> 8) % n;
const cases = Array.from({ length: samples }, () => {
  const file = files[random(files.length)];
  const cut = 64 + random(Math.max(1, file.tokens.length - 64 - maxTokens));
  return { file, cut };
});

// The 4-layer d=256 latency row measured here (past 512, 1 thread), in ms.
const curve = new LatencyCurve({ 1: 2.0, 4: 2.2, 8: 2.5, 16: 3.0, 32: 4.5, 64: 6.6 }, false);
const configs: { label: string; name: StrategyName; workspace: boolean }[] = [
  { label: 'ar', name: 'ar', workspace: false },
  { label: 'jacobi', name: 'jacobi', workspace: false },
  { label: 'pld', name: 'pld', workspace: false },
  { label: 'tr-jacobi (context only)', name: 'tr-jacobi', workspace: false },
  { label: 'tr-jacobi + workspace', name: 'tr-jacobi', workspace: true },
];
console.log(`${files.length} files, ${files.reduce((s, f) => s + f.tokens.length, 0)} tokens; ${samples} samples x ${maxTokens} tokens`);
async function main(): Promise<void> {
  for (const robust of [false, true]) {
    console.log(`\noracle: ${robust ? 'robust (ideal MSN)' : 'strict'}`);
    for (const config of configs) {
      let tokens = 0;
      let passes = 0;
      let nodes = 0;
      let draftMs = 0;
      let cost = 0; // sum over passes of latency(q) / latency(1)
      // One statistics object per configuration, as the runtime keeps one per strategy.
      const stats = new AcceptanceStats();
      const strategy = (workspace?: TokenIndex) => createStrategy(config.name, { workspace, latencyCurve: curve, stats });
      for (const { file, cut } of cases) {
        const doc = file.tokens;
        // The file under the cursor enters the workspace as its prefix and suffix only.
        const workspace = new TokenIndex();
        for (const f of files) if (f !== file) workspace.add(f.path, f.tokens);
        workspace.add(`${file.path}#prefix`, doc.slice(0, cut));
        workspace.add(`${file.path}#suffix`, doc.slice(cut + maxTokens));
        const prompt = doc.slice(Math.max(0, cut - 512), cut);
        const model = oracle(doc, cut, robust);
        const s = strategy(config.workspace ? workspace : undefined);
        const positioned: FakeModel = { vocab, ranking: (seq) => model.ranking(doc.slice(0, cut - prompt.length).concat(seq as number[])) };
        const result = await decodeWith(s, positioned, prompt, maxTokens);
        tokens += result.tokens.length;
        passes += result.passes;
        nodes += result.treeSizes.reduce((a, b) => a + b, 0);
        draftMs += result.draftMs;
        for (const q of result.treeSizes) cost += curve.latency(q) / curve.latency(1);
      }
      // Speed-up over ar if forward passes cost what the curve says (drafting excluded).
      const speedup = tokens / cost;
      console.log(`${config.label.padEnd(26)} tokens/pass ${(tokens / passes).toFixed(2)}  mean tree ${(nodes / passes).toFixed(1)}  est. speed-up ${speedup.toFixed(2)}x  draft ${(draftMs / passes).toFixed(3)} ms`);
    }
  }
}

void main();
