// npm run profile -- --model DIR [--past 0,512,2000] [--steps 40] [--threads T] [--in-thread]
// Where one decoding step's time goes, by past length: the raw forward pass (the model's forward
// alone, q=1 and q=16, on the engine's own KV cache) against a whole plain greedy step of the engine
// (drafting, inputs, the pass, argmax, KV copy, stop rules). What the step costs beyond the raw pass
// is the JS side; q=16 over q=1 is what verifying a 16-node tree costs relative to one token.
// Passes run in the worker thread, as in the editor (its message round trip is part of the raw
// pass), or with --in-thread in this one.
import { buildChainInputs } from '../decoder/engine/chainInputs';
import { median } from '../decoder/engine/latencyCalibration';
import { intArg, parseArgs, UsageError } from './args';
import { openEngine } from './engineSetup';
import { seededRandom } from './random';
import { formatTable } from './table';

const USAGE = 'usage: npm run profile -- --model DIR [--past 0,512,2000] [--steps 40] [--threads T] [--in-thread]';

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), ['--in-thread'], ['--model', '--past', '--steps', '--threads']);
  const modelDir = args.values.get('--model') ?? 'model';
  const pasts = (args.values.get('--past') ?? '0,512,2000').split(',').map(Number);
  if (pasts.some((p) => !Number.isInteger(p) || p < 0)) throw new UsageError('--past takes non-negative integers');
  const steps = intArg(args, '--steps', 40, 4);
  const threads = intArg(args, '--threads', 1, 1);
  const inThread = args.flags.has('--in-thread');
  const engine = await openEngine(modelDir, threads, { quiet: true, inThread });
  const { model, config } = engine.model;
  const random = seededRandom(5);
  const rows: string[][] = [];
  for (const past of pasts) {
    if (past + steps + 20 > config.maxPositions) {
      rows.push([String(past), `past + steps exceeds the model's ${config.maxPositions} positions`, '', '', '', '', '']);
      continue;
    }
    // A plain greedy run of `steps` tokens after a random prompt of `past` tokens: its steps, timed by the engine.
    const prompt = Array.from({ length: Math.max(1, past) }, () => 10 + Math.floor(random() * (config.vocabSize - 10)));
    const run = await engine.run({ prompt, maxTokens: steps, strategy: 'ar' }, { isCancelled: () => false });
    const stepMs = median(run.result.baselineStepMs);
    // The raw pass on the same cache (whatever it holds now is past rows; new rows are not kept).
    const cache = engine.kvCache;
    const rawMs = async (q: number) => {
      const times: number[] = [];
      for (let i = 0; i < steps; i++) {
        const inputs = buildChainInputs(Array.from({ length: q }, () => 11), cache.length, config.maskValue);
        const started = performance.now();
        await model.forward({ ...inputs, past: cache.length, pastKeys: cache.keys, pastValues: cache.values });
        times.push(performance.now() - started);
      }
      return median(times);
    };
    // A q=1 pass right after a q=16 one, as a plain step timed inside a tree generation runs.
    const afterTreeMs = async () => {
      const times: number[] = [];
      for (let i = 0; i < steps; i++) {
        const tree = buildChainInputs(Array.from({ length: 16 }, () => 11), cache.length, config.maskValue);
        await model.forward({ ...tree, past: cache.length, pastKeys: cache.keys, pastValues: cache.values });
        const inputs = buildChainInputs([11], cache.length, config.maskValue);
        const started = performance.now();
        await model.forward({ ...inputs, past: cache.length, pastKeys: cache.keys, pastValues: cache.values });
        times.push(performance.now() - started);
      }
      return median(times);
    };
    const raw1 = await rawMs(1);
    const raw16 = await rawMs(16);
    const after16 = await afterTreeMs();
    rows.push([String(cache.length), raw1.toFixed(2), stepMs.toFixed(2), (stepMs - raw1).toFixed(2), raw16.toFixed(2), (raw16 / raw1).toFixed(2),
      after16.toFixed(2)]);
  }
  console.log(`model ${config.name}: ${config.numLayers} layers, ${config.numKvHeads} kv heads x ${config.headDim}, vocab ${config.vocabSize}; ${threads} thread(s), passes ${inThread ? 'in this thread' : 'in the worker'}; medians of ${steps}`);
  console.log(formatTable(['past', 'raw q=1 ms', 'ar step ms', 'JS side ms', 'raw q=16 ms', 'q16 / q1', 'q=1 after q=16 ms'], rows));
  await engine.close();
}

main().catch((error) => {
  console.error(error instanceof UsageError ? `${error.message}\n${USAGE}` : error instanceof Error ? error.stack : error);
  process.exitCode = error instanceof UsageError ? 64 : 1;
});
