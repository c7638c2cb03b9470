// npm run fit-mixture -- --model DIR --workspaces DIR1,DIR2,... [--samples N] [--seed S] [--out FILE]
// Fits the workspace mixture's λ(source, confidence, n, c) for a model (docs/decoding.md "The workspace mixture") by maximum
// likelihood on packages of the training split, each its own workspace (write them with
// `.venv/bin/python -m training.heldout_workspace --val training/data/corpus-v2/train.jsonl --package P --out DIR`;
// never the held-out packages the bench measures). At cursors sampled as the bench samples them, the
// true middle is fed to the model after the editor's prompt (teacher forcing) and at each of its
// positions the model's probability of the true token is recorded next to the n-gram side's.
// Writes mixture.json (default: into the model folder) and prints each cell's fit and the
// next-token accuracy of the model alone vs the mixture on the same positions.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildChainInputs } from '../decoder/engine/chainInputs';
import { PREFILL_CHUNK } from '../decoder/engine/generator';
import { KvCache } from '../decoder/engine/kvCache';
import { argmaxOfRow, expSum } from '../decoder/engine/logits';
import { fitWeights, type Observation } from '../decoder/mixture/fitLambda';
import { MATCH_SOURCES, MIXTURE_FILE, MIXTURE_FORMAT, type MixtureWeights } from '../decoder/mixture/mixtureWeights';
import { bestUnderMixture, MIXTURE_CONTEXT_TOKENS } from '../decoder/mixture/workspaceMixture';
import { intArg, parseArgs, UsageError } from './args';
import { CursorCorpus, editorPrompt } from './benchRunner';
import { readWorkspace, sampleWorkspaceCursors } from './benchSamples';
import { openEngine } from './engineSetup';
import { formatTable } from './table';

const USAGE = 'usage: npm run fit-mixture -- --model DIR --workspaces DIR1,DIR2,... [--samples N] [--seed S] [--max-tokens M] [--out FILE]';
export const MATCH_EDGES = [2, 3, 4, 6, 8, 12, 16, 24, 32, 48];
export const COUNT_EDGES = [1, 2, 3, 5, 9, 17];
export const CONFIDENCE_EDGES = [0, 0.2, 0.4, 0.7];
/** λ = 0 everywhere: the fit only reads the n-gram side's counts. */
const zeros = () => CONFIDENCE_EDGES.map(() => MATCH_EDGES.map(() => COUNT_EDGES.map(() => 0)));
const NO_MIXING: MixtureWeights = { matchEdges: MATCH_EDGES, countEdges: COUNT_EDGES, confidenceEdges: CONFIDENCE_EDGES, lambda: { workspace: zeros(), own: zeros() } };

/** Softmax probabilities of `tokens` at one logits row whose largest entry is at `argmax`. */
function probabilitiesAt(logits: Float32Array, row: number, vocab: number, argmax: number, tokens: readonly number[]): number[] {
  const top = logits[row * vocab + argmax];
  const sum = expSum(logits, row, vocab, top);
  return tokens.map((t) => Math.exp(logits[row * vocab + t] - top) / sum);
}

/**
 * Whether the mixture's greedy choice at λ is `truth`, from the candidates only: the model's argmax and
 * the n-gram tokens (what mixedChoice compares), with their model and n-gram probabilities.
 */
function choiceChecker(candidates: readonly number[], pModel: readonly number[], pNgram: readonly number[], truth: number): (lambda: number) => boolean {
  const at = (v: number) => candidates.indexOf(v);
  return (lambda) => bestUnderMixture(candidates, (v) => pModel[at(v)], (v) => pNgram[at(v)], lambda) === truth;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), [], ['--model', '--workspaces', '--samples', '--seed', '--max-tokens', '--out']);
  const modelDir = args.values.get('--model') ?? 'model';
  const workspaces = (args.values.get('--workspaces') ?? '').split(',').filter((w) => w.length > 0);
  if (workspaces.length === 0) throw new UsageError('--workspaces needs at least one folder');
  const samplesPer = intArg(args, '--samples', 60, 1);
  const seed = intArg(args, '--seed', 3);
  const maxTokens = intArg(args, '--max-tokens', 48, 1);
  const out = args.values.get('--out') ?? path.join(modelDir, MIXTURE_FILE);

  const engine = await openEngine(modelDir, 1, { inThread: true, quiet: true });
  const { config, tokenizer, model } = engine.model;
  const vocab = config.vocabSize;
  const cache = new KvCache(config.numLayers, config.maxPositions, config.numKvHeads * config.headDim);
  const points: Observation[] = [];
  let positions = 0;
  let modelRight = 0;
  let unmatchedRight = 0;
  const byWorkspace: string[][] = [];

  for (const workspace of workspaces) {
    const files = readWorkspace(workspace);
    const samples = sampleWorkspaceCursors(files, samplesPer, seed);
    const corpus = new CursorCorpus(engine, files);
    await corpus.init();
    const before = points.length;
    for (const sample of samples) {
      await corpus.moveTo(sample);
      const { prompt, mixture } = engine.plan(editorPrompt(engine, sample, maxTokens, path.basename(path.resolve(workspace))), sample.file, true, NO_MIXING);
      // The healed end of the prefix and the hidden middle, tokenized as one text (as in a file).
      const target = tokenizer.encode((mixture?.hiddenText ?? '') + sample.truth).slice(0, maxTokens);
      const sequence = [...prompt, ...target];
      if (mixture === undefined || target.length === 0 || sequence.length > config.maxPositions) continue;
      // Teacher forcing: logits of the prompt's last token and of every target token but the last.
      cache.reset();
      const firstRow = prompt.length - 1;
      for (let start = 0; start < sequence.length - 1; start += PREFILL_CHUNK) {
        const chunk = sequence.slice(start, Math.min(sequence.length - 1, start + PREFILL_CHUNK));
        const inputs = buildChainInputs(chunk, start, config.maskValue);
        const outputs = await model.forward({ ...inputs, past: start, pastKeys: cache.keys, pastValues: cache.values });
        cache.appendRows(outputs.newKeys, outputs.newValues, chunk.map((_, i) => i));
        for (let i = 0; i < chunk.length; i++) {
          const j = start + i - firstRow; // the target token this row predicts
          if (j < 0) continue;
          const truth = target[j];
          const context = [...mixture.leadTokens, ...target.slice(0, j)].slice(-MIXTURE_CONTEXT_TOKENS);
          const argmax = argmaxOfRow(outputs.logits, i, vocab);
          positions++;
          if (argmax === truth) modelRight++;
          const d = mixture.distribution(context);
          if (d === null) {
            if (argmax === truth) unmatchedRight++;
            continue;
          }
          const candidates = [argmax, ...d.tokens.filter((t) => t !== argmax)];
          const pNgram = candidates.map((t) => (d.tokens.includes(t) ? d.probabilities[d.tokens.indexOf(t)] : 0));
          const pModel = probabilitiesAt(outputs.logits, i, vocab, argmax, [...candidates, truth]);
          const at = d.tokens.indexOf(truth);
          points.push({
            source: d.source, confidence: pModel[0], matchLength: d.matchLength, occurrences: d.occurrences, pModel: pModel[candidates.length], pNgram: at >= 0 ? d.probabilities[at] : 0,
            modelRight: argmax === truth, mixtureRight: choiceChecker(candidates, pModel.slice(0, candidates.length), pNgram, truth),
          });
        }
      }
    }
    await corpus.clear();
    byWorkspace.push([path.basename(workspace), String(samples.length), String(points.length - before)]);
    process.stderr.write(`${workspace}: ${samples.length} cursors, ${points.length - before} positions with a match\n`);
  }

  const { weights, cells } = fitWeights(points, MATCH_EDGES, COUNT_EDGES, CONFIDENCE_EDGES);
  const all = MATCH_SOURCES.flatMap((source) => cells[source].flat(2));
  const gain = all.reduce((s, c) => s + c.gain * c.positions, 0) / Math.max(1, points.length);
  const mixtureRight = unmatchedRight + all.reduce((s, c) => s + c.mixtureRight, 0);
  console.log(formatTable(['workspace', 'cursors', 'positions with a match'], byWorkspace));
  for (const source of MATCH_SOURCES) {
    for (const [k, confidence] of CONFIDENCE_EDGES.entries()) {
      console.log(`λ (positions; greedy right: model / mixture), longest match in ${source === 'own' ? "the request's own text only" : 'the workspace'}, model's top probability >= ${confidence}:`);
      console.log(formatTable(['match length', ...COUNT_EDGES.map((c, i) => `c>=${c}${i + 1 < COUNT_EDGES.length ? `<${COUNT_EDGES[i + 1]}` : ''}`)],
        MATCH_EDGES.map((n, m) => [`n>=${n}`, ...cells[source][k][m].map((c) => `${c.lambda.toFixed(2)} (${c.positions}; ${c.modelRight}/${c.mixtureRight})`)])));
    }
  }
  console.log(`positions: ${positions}, with an n-gram match: ${points.length}; log-likelihood gain ${gain.toFixed(3)} nats per matched position`);
  console.log(`next-token accuracy (teacher-forced, these positions): model ${(100 * modelRight / positions).toFixed(1)}%, mixture ${(100 * mixtureRight / positions).toFixed(1)}%`);
  const record = {
    format: MIXTURE_FORMAT, match_edges: weights.matchEdges, count_edges: weights.countEdges, confidence_edges: weights.confidenceEdges, lambda: weights.lambda,
    fit: {
      model: config.name, command: `npm run fit-mixture -- ${process.argv.slice(2).join(' ')}`,
      workspaces: workspaces.map((w) => path.basename(w)), cursors_per_workspace: samplesPer, seed, positions, matched_positions: points.length,
      gain_nats_per_matched_position: Number(gain.toFixed(4)),
      next_token_accuracy: { model: Number((modelRight / positions).toFixed(4)), mixture: Number((mixtureRight / positions).toFixed(4)) },
    },
  };
  fs.writeFileSync(out, JSON.stringify(record, null, 1) + '\n');
  console.log(`wrote ${out}`);
  await engine.close();
}


main().catch((error) => {
  console.error(error instanceof UsageError ? `${error.message}\n${USAGE}` : error instanceof Error ? error.stack : error);
  process.exitCode = error instanceof UsageError ? 64 : 1;
});
