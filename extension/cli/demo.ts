// npm run demo [-- --model DIR --threads T --max-tokens M --mixture on|off]
// Completes a cursor position in the bundled sample workspace with the shipped model:
// the rest of the workspace is the retrieval corpus; `ar` and `tr-jacobi` decode the same
// prompt, must give identical tokens, and the speed-up of tr-jacobi over ar is printed.
import * as path from 'node:path';
import type { StrategyName } from '../protocol';
import { MIN_SPEED_TOKENS, replayedSpeedup } from '../speedup';
import { intArg, parseArgs, UsageError } from './args';
import { CursorCorpus, editorPrompt } from './benchRunner';
import { readWorkspace, type BenchSample } from './benchSamples';
import { formatLatencyCurve, openEngine } from './engineSetup';

const REPO_ROOT = path.resolve(__dirname, '../..');
const WORKSPACE = path.join(REPO_ROOT, 'test/fixtures/sample-workspace');
const CURSOR_FILE = 'inventory/store.py';
/** The cursor sits at the start of the body of `ship`, right after its signature. */
const CURSOR_AFTER = '    def ship(self, sku: str, quantity: int, reason: str = "order") -> StockMovement:\n        ';
const MIDDLE_ENDS_BEFORE = '\n\n    def movements(';

function demoSample(text: string): BenchSample {
  const cursor = text.indexOf(CURSOR_AFTER) + CURSOR_AFTER.length;
  const end = text.indexOf(MIDDLE_ENDS_BEFORE, cursor);
  if (cursor < CURSOR_AFTER.length || end < 0) throw new Error(`the demo cursor was not found in ${CURSOR_FILE}`);
  return { id: `${CURSOR_FILE}:ship`, file: CURSOR_FILE, prefix: text.slice(0, cursor), suffix: text.slice(end), truth: text.slice(cursor, end) };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), [], ['--model', '--threads', '--max-tokens', '--mixture']);
  const mixtureArg = args.values.get('--mixture');
  if (mixtureArg !== undefined && mixtureArg !== 'on' && mixtureArg !== 'off') throw new UsageError('--mixture must be on or off');
  const modelDir = args.values.get('--model') ?? path.join(REPO_ROOT, 'model');
  const threads = intArg(args, '--threads', 1, 1);
  const maxTokens = intArg(args, '--max-tokens', 96, 1);

  const files = readWorkspace(WORKSPACE);
  const cursorFile = files.find((f) => f.path === CURSOR_FILE)!;
  const sample = demoSample(cursorFile.text);
  const engine = await openEngine(modelDir, threads);
  // The workspace is the corpus; the file under the cursor as the editor holds it while typing there: prefix + suffix.
  const corpus = new CursorCorpus(engine, files);
  await corpus.init();
  await corpus.moveTo(sample);

  // The prompt the editor builds: repo-level context from the other files where the model has the tokens.
  // The product's default: the workspace mixture when the model has weights for it.
  const { prompt, mixture } = engine.plan(editorPrompt(engine, sample, maxTokens, path.basename(WORKSPACE)), CURSOR_FILE, mixtureArg !== 'off');
  const run = (strategy: StrategyName) =>
    engine.run({ prompt, maxTokens, mode: 'block', stopOnLoop: true, suffix: sample.suffix, strategy, mixture }, { isCancelled: () => false });
  for (let i = 0; i < 2; i++) { await run('ar'); await run('tr-jacobi'); } // warm-up, not timed
  const ar = await run('ar');
  const tr = await run('tr-jacobi');
  const replayed = await engine.measureSpeedup(() => false, tr.replayable); // as the decoding process does once idle: the status bar's figure
  const identical = ar.result.tokens.length === tr.result.tokens.length && ar.result.tokens.every((t, i) => t === tr.result.tokens[i]);

  const info = engine.modelInfo!;
  const context = sample.prefix.split('\n').slice(-3).join('\n');
  console.log(`model: ${info.name} (${info.modelDir}), ${threads} thread(s), workspace mixture ${mixture ? 'on' : 'off'}`);
  console.log(`workspace: ${WORKSPACE}, cursor in ${CURSOR_FILE} (${engine.corpus.counts().documents} corpus documents, ${engine.corpus.counts().tokens} tokens)`);
  console.log(`latency curve: ${formatLatencyCurve(engine.latencyCurve)}`);
  console.log('--- context before the cursor ---');
  console.log(context + '\u2588');
  console.log('--- completion (tr-jacobi) ---');
  console.log(tr.result.text.length > 0 ? tr.result.text : '(empty: the model ended the middle at once)');
  console.log('---');
  const line = (name: string, s: typeof ar.stats) =>
    `${name.padEnd(9)} ${String(s.tokens).padStart(4)} tokens  ${s.forwardPasses} passes  ${s.tokensPerSecond.toFixed(1)} tok/s  ${s.meanAcceptedPerPass.toFixed(2)} tok/pass  stop: ${s.stopReason}`;
  console.log(line('ar', ar.stats));
  console.log(line('tr-jacobi', tr.stats));
  const measured = ar.stats.tokensPerSecond > 0 ? tr.stats.tokensPerSecond / ar.stats.tokensPerSecond : 0;
  const inRun = replayed
    ? `${replayedSpeedup([replayed]).toFixed(2)}x replayed on its cache, as the status bar shows`
    : `too short for the figure the status bar shows (under ${MIN_SPEED_TOKENS} tokens)`;
  console.log(`speed-up over ar: ${measured.toFixed(2)}x (the two runs above; ${inRun})`);
  console.log(`identical to ar: ${identical ? 'yes' : 'NO'} (${ar.result.tokens.length} tokens)`);
  await engine.close();
  if (!identical) process.exitCode = 1;
}

main().catch((error) => {
  console.error(error instanceof UsageError ? error.message : error instanceof Error ? error.stack : error);
  process.exitCode = error instanceof UsageError ? 64 : 1;
});
