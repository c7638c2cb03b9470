// npm run bench -- --model DIR (--workspace DIR | --fim-benchmark FILE.jsonl.gz) --samples N
//   --seed S --max-tokens M --json FILE [--strategies a,b] [--tree-budget K] [--no-retrieval]
//   [--threads T] [--mode editor|block|line] [--warmup W] [--compare-context] [--check-status-bar] [--show] [--mixture on|off]
// Runs every strategy on the same FIM prompts and reports speed, acceptance, identity
// with `ar` and quality. The prompt is the one the extension builds for inline completions
// (its 6000/2000-character window around the cursor, then the decoder's FIM layout cut to
// the context window); each cursor decodes in the mode the editor gives it (a line, or a block that
// stops at a blank line: extension/completionMode.ts) unless --mode sets one for all. `ar` always runs (reference).
// tokens/s = all generated tokens / all decoding time (prefill excluded); the median of
// per-sample tokens/s is printed too.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { STRATEGIES, type CompletionMode, type StrategyName } from '../protocol';
import { intArg, parseArgs, UsageError } from './args';
import { readWorkspace, sampleFimBenchmark, sampleWorkspaceCursors, type BenchSample, type SourceFile } from './benchSamples';
import { runBench } from './benchRunner';
import { formatLatencyCurve, openEngine } from './engineSetup';
import { firstLine } from './quality';
import { formatTable } from './table';

const USAGE = 'usage: npm run bench -- --model DIR (--workspace DIR | --fim-benchmark FILE.jsonl.gz) --samples N --seed S --max-tokens M --json FILE [--strategies ar,jacobi,pld,tr-jacobi] [--tree-budget K] [--no-retrieval] [--threads T] [--mode editor|block|line] [--warmup W] [--compare-context] [--check-status-bar] [--show] [--in-thread] [--mixture on|off]';

function parseStrategies(raw: string | undefined): StrategyName[] {
  if (raw === undefined) return [...STRATEGIES];
  const names = raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  for (const name of names) if (!(STRATEGIES as readonly string[]).includes(name)) throw new UsageError(`unknown strategy ${name} (known: ${STRATEGIES.join(', ')})`);
  return names as StrategyName[];
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), ['--no-retrieval', '--compare-context', '--check-status-bar', '--show', '--in-thread'], [
    '--model', '--workspace', '--fim-benchmark', '--samples', '--seed', '--max-tokens', '--json', '--strategies', '--tree-budget', '--threads', '--mode', '--warmup', '--mixture',
  ]);
  const modelDir = args.values.get('--model') ?? 'model';
  const workspace = args.values.get('--workspace');
  const fimBenchmark = args.values.get('--fim-benchmark');
  if ((workspace === undefined) === (fimBenchmark === undefined)) throw new UsageError('give exactly one of --workspace and --fim-benchmark');
  const samplesWanted = intArg(args, '--samples', 20, 1);
  const seed = intArg(args, '--seed', 0);
  const maxTokens = intArg(args, '--max-tokens', 64, 1);
  const treeBudget = args.values.has('--tree-budget') ? intArg(args, '--tree-budget', 0, 0) : undefined;
  const threads = intArg(args, '--threads', 1, 1);
  const warmup = intArg(args, '--warmup', 2, 0);
  const modeArg = args.values.get('--mode') ?? 'editor';
  if (modeArg !== 'editor' && modeArg !== 'block' && modeArg !== 'line') throw new UsageError('--mode must be editor, block or line');
  const mode: CompletionMode | undefined = modeArg === 'editor' ? undefined : modeArg;
  const strategies = parseStrategies(args.values.get('--strategies'));
  const retrieval = !args.flags.has('--no-retrieval');
  const mixtureArg = args.values.get('--mixture');
  if (mixtureArg !== undefined && mixtureArg !== 'on' && mixtureArg !== 'off') throw new UsageError('--mixture must be on or off');

  let samples: BenchSample[];
  let corpusFiles: SourceFile[] | undefined;
  if (workspace !== undefined) {
    const files = readWorkspace(workspace);
    samples = sampleWorkspaceCursors(files, samplesWanted, seed);
    corpusFiles = retrieval ? files : undefined;
    process.stderr.write(`workspace ${workspace}: ${files.length} files, ${samples.length} cursor positions (seed ${seed})\n`);
  } else {
    samples = sampleFimBenchmark(fimBenchmark!, samplesWanted, seed);
    process.stderr.write(`${path.basename(fimBenchmark!)}: ${samples.length} tasks (seed ${seed}), no workspace corpus\n`);
  }

  const inThread = args.flags.has('--in-thread');
  const show = args.flags.has('--show');
  const engine = await openEngine(modelDir, threads, { inThread });
  const info = engine.modelInfo!;
  process.stderr.write(`model ${info.name} (${info.parameters ?? '?'} parameters), ${threads} thread(s), forward passes ${inThread ? 'in the main thread' : 'in a worker thread'}\n`);
  // The product's default: the mixture is on when the model has weights for it.
  const mixture = mixtureArg === undefined ? engine.hasMixture : mixtureArg === 'on' && engine.hasMixture;
  if (mixtureArg === 'on' && !engine.hasMixture) process.stderr.write(`--mixture on: ${info.name} has no mixture.json, decoding the model alone\n`);
  const result = await runBench(engine, samples, {
    strategies, maxTokens, mode, treeBudget, corpusFiles, warmupRuns: warmup, mixture,
    repoName: workspace !== undefined ? path.basename(path.resolve(workspace)) : undefined,
    compareContext: args.flags.has('--compare-context'),
    statusBarCheck: args.flags.has('--check-status-bar'),
    onSample: (i, sample, outputs, baselines) => {
      if (process.stderr.isTTY) process.stderr.write(`\rsample ${i + 1}/${samples.length} ${sample.id.padEnd(40).slice(0, 40)}`);
      // To read the completions, not only their scores: each cursor's true first line, ar's, retrieval-copy's and the other arm's.
      if (show) {
        console.log(`${sample.id}\n  truth  ${JSON.stringify(firstLine(sample.truth))}\n  model  ${JSON.stringify(firstLine(outputs.get('ar')?.text ?? ''))}`);
        console.log(`  copy   ${JSON.stringify(firstLine(baselines['retrieval-copy'] ?? ''))}`);
        for (const other of ['model', 'model+workspace']) if (baselines[other] !== undefined) console.log(`  ${other === 'model' ? 'alone ' : 'mixed '} ${JSON.stringify(firstLine(baselines[other]))}`);
        // The model's text as it starts (firstLine skips leading blank lines and is compared from the cursor).
        console.log(`  raw    ${JSON.stringify((outputs.get('ar')?.text ?? '').slice(0, 60))}`);
      }
    },
  });
  if (process.stderr.isTTY) process.stderr.write('\n');

  const rows = Object.entries(result.summary).map(([name, s]) => {
    const d = result.detail[name];
    return [
      name, s.tokens_per_second.toFixed(1), d.medianTokensPerSecond.toFixed(1), s.mean_accepted_per_pass.toFixed(2), String(s.forward_passes),
      `${s.speedup_vs_ar.toFixed(2)}x`, `${s.identical_to_ar}/${s.samples}`, `${(100 * s.first_line_exact_match).toFixed(1)}%`, s.edit_similarity.toFixed(3),
      String(d.acceptedFromRetrieval), String(d.acceptedFromJacobi), d.meanTreeBudget.toFixed(1),
    ];
  });
  console.log(`model: ${info.modelDir} (${info.name}); ${samples.length} samples, max ${maxTokens} tokens, ${mode ?? "the editor's"} mode, ${threads} thread(s), retrieval ${retrieval && workspace ? 'workspace' : 'off'}, tree budget ${treeBudget ?? 'auto'}, workspace mixture ${mixture ? 'on' : 'off'}`);
  console.log(`latency curve (median ms per forward pass): ${formatLatencyCurve(engine.latencyCurve)}`);
  console.log(formatTable(
    ['strategy', 'tok/s (total)', 'tok/s (median)', 'acc/pass', 'passes', 'vs ar', 'identical', 'line-1 EM', 'edit sim', 'acc retr', 'acc jacobi', 'tree'],
    rows,
  ));
  console.log('tok/s (total) = all generated tokens / all decoding time (prefill excluded); vs ar = its ratio to ar\'s, measured in this run.');
  if (result.otherArm) console.log(`${result.otherArm.name}: ${result.otherArm.tokensPerSecond.toFixed(1)} tok/s on the same prompts (its own tokens), in this run`);
  console.log(formatTable(['quality row', 'line-1 EM', 'edit sim', 'samples'],
    Object.entries(result.quality).map(([name, q]) => [name, `${(100 * q.first_line_exact_match).toFixed(1)}%`, q.edit_similarity.toFixed(3), String(q.samples)])));
  console.log('model = greedy decoding of the model alone; model+workspace = of the workspace mixture (docs/decoding.md); retrieval-copy = no model.');

  if (Object.keys(result.statusBar).length > 0) {
    console.log(formatTable(['as in the editor', 'completions', 'status bar', 'vs ar, same completions'],
      Object.entries(result.statusBar).map(([name, c]) => [name, String(c.completions), `${c.statusBarSpeedup.toFixed(2)}x`, `${c.measuredSpeedup.toFixed(2)}x`])));
    console.log('status bar = what the editor shows over these completions (speedup.ts replayedSpeedup: each replayed on its cache, with its trees and with plain greedy); vs ar = ar\'s decoding time of the same completions / theirs.');
  }

  const jsonFile = args.values.get('--json');
  if (jsonFile) {
    fs.mkdirSync(path.dirname(path.resolve(jsonFile)), { recursive: true });
    fs.writeFileSync(jsonFile, JSON.stringify({ ...result.summary, ...result.quality }, null, 2) + '\n');
    console.log(`wrote ${jsonFile}`);
  }
  await engine.close();
  const notIdentical = Object.entries(result.summary).filter(([, s]) => s.identical_to_ar !== s.samples);
  if (notIdentical.length > 0) {
    console.error(`NOT LOSSLESS: ${notIdentical.map(([n, s]) => `${n} ${s.identical_to_ar}/${s.samples}`).join(', ')}`);
    process.exitCode = 2;
  }
}

main().catch((error) => {
  if (error instanceof UsageError) {
    console.error(`${error.message}\n${USAGE}`);
    process.exitCode = 64;
  } else {
    console.error(error instanceof Error ? error.stack : error);
    process.exitCode = 1;
  }
});
