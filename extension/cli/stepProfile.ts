// npm run profile -- --model DIR [--past 0,512,2000] [--steps 40] [--threads T] [--q 1,2,4,...] [--json FILE] [--in-thread]
// Where one decoding step's time goes, by past length: the raw forward pass (the model's forward
// alone, q=1 and q=16, on the engine's own KV cache) against a whole plain greedy step of the engine
// (drafting, inputs, the pass, argmax, KV copy, stop rules). What the step costs beyond the raw pass
// is the JS side; q=16 over q=1 is what verifying a 16-node tree costs relative to one token.
// --q adds the raw pass at those q at every past (a second table: median and fastest ms and their
// ratio to q=1; q taken round-robin so load from other processes hits every q alike), the
// latency curve the cost model sizes trees with, measured here instead of at the calibration's one past.
// Also printed: the engine's start-up calibration, the load time and the process's memory (RSS, the
// worker thread included). --json writes all of it.
// Passes run in the worker thread, as in the editor (its message round trip is part of the raw
// pass), or with --in-thread in this one.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildChainInputs } from '../decoder/engine/chainInputs';
import { median } from '../speedup';
import { intArg, parseArgs, UsageError, type ParsedArgs } from './args';
import { formatLatencyCurve, openEngine } from './engineSetup';
import { seededRandom } from './random';
import { formatTable } from './table';

const USAGE = 'usage: npm run profile -- --model DIR [--past 0,512,2000] [--steps 40] [--threads T] [--q 1,2,4,8,16,32,64] [--json FILE] [--in-thread]';

/** One past length's measurements (ms are medians over --steps passes or steps). */
interface PastRow {
  past: number;
  arStepMs: number;
  /** Raw forward pass by q (always 1 and 16, plus --q). */
  rawMs: Record<number, number>;
  /** The fastest of those passes: the least disturbed by other processes on a loaded machine. */
  rawBestMs: Record<number, number>;
  q1AfterQ16Ms: number;
}

function integerList(args: ParsedArgs, name: string, fallback: string, min: number): number[] {
  const values = (args.values.get(name) ?? fallback).split(',').map(Number);
  if (values.length === 0 || values.some((v) => !Number.isInteger(v) || v < min)) throw new UsageError(`${name} takes integers >= ${min}, comma separated`);
  return values;
}

const mebibytes = (bytes: number) => Math.round(bytes / 2 ** 20);

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), ['--in-thread'], ['--model', '--past', '--steps', '--threads', '--q', '--json']);
  const modelDir = args.values.get('--model') ?? 'model';
  const pasts = integerList(args, '--past', '0,512,2000', 0);
  const extraQs = args.values.has('--q') ? integerList(args, '--q', '', 1) : [];
  const qs = [...new Set([1, 16, ...extraQs])].sort((a, b) => a - b);
  const steps = intArg(args, '--steps', 40, 4);
  const threads = intArg(args, '--threads', 1, 1);
  const inThread = args.flags.has('--in-thread');
  const loadStarted = performance.now();
  const engine = await openEngine(modelDir, threads, { quiet: true, inThread });
  const loadMs = performance.now() - loadStarted;
  const rssAfterLoad = process.memoryUsage().rss;
  const { model, config } = engine.model;
  const random = seededRandom(5);
  const measured: PastRow[] = [];
  const skipped: number[] = [];
  for (const past of pasts) {
    if (past + steps + 20 > config.maxPositions) {
      skipped.push(past);
      continue;
    }
    // A plain greedy run of `steps` tokens after a random prompt of `past` tokens: its steps, timed by the engine.
    const prompt = Array.from({ length: Math.max(1, past) }, () => 10 + Math.floor(random() * (config.vocabSize - 10)));
    const run = await engine.run({ prompt, maxTokens: steps, strategy: 'ar' }, { isCancelled: () => false });
    const arStepMs = median(run.result.stepMs);
    // The raw pass on the same cache (whatever it holds now is past rows; new rows are not kept).
    const cache = engine.kvCache;
    const pass = (q: number) => model.forward({
      ...buildChainInputs(Array.from({ length: q }, () => 11), cache.length, config.maskValue),
      past: cache.length, pastKeys: cache.keys, pastValues: cache.values,
    });
    // Round-robin over q (after one untimed pass each), so a burst of load from other processes
    // hits every q alike instead of inflating the few q measured while it lasted.
    const rawTimes = new Map<number, number[]>(qs.map((q) => [q, []]));
    for (const q of qs) await pass(q);
    for (let i = 0; i < steps; i++) {
      for (const q of qs) {
        const started = performance.now();
        await pass(q);
        rawTimes.get(q)!.push(performance.now() - started);
      }
    }
    // A q=1 pass right after a q=16 one, as a plain step timed inside a tree generation runs.
    const afterTreeMs = async () => {
      const times: number[] = [];
      for (let i = 0; i < steps; i++) {
        await pass(16);
        const started = performance.now();
        await pass(1);
        times.push(performance.now() - started);
      }
      return median(times);
    };
    const row: PastRow = { past: cache.length, arStepMs, rawMs: {}, rawBestMs: {}, q1AfterQ16Ms: 0 };
    for (const q of qs) {
      row.rawMs[q] = median(rawTimes.get(q)!);
      row.rawBestMs[q] = Math.min(...rawTimes.get(q)!);
    }
    row.q1AfterQ16Ms = await afterTreeMs();
    measured.push(row);
  }
  const peakRss = process.resourceUsage().maxRSS * 1024;

  console.log(`model ${config.name}: ${config.numLayers} layers, ${config.numKvHeads} kv heads x ${config.headDim}, vocab ${config.vocabSize}; ${threads} thread(s), passes ${inThread ? 'in this thread' : 'in the worker'}; medians of ${steps}`);
  console.log(`load ${(loadMs / 1000).toFixed(1)} s (with the calibration unless cached); RSS after load ${mebibytes(rssAfterLoad)} MiB, peak ${mebibytes(peakRss)} MiB`);
  console.log(`start-up calibration (ms per pass): ${formatLatencyCurve(engine.latencyCurve)}`);
  const rows = measured.map((r) => [String(r.past), r.rawMs[1].toFixed(2), r.arStepMs.toFixed(2), (r.arStepMs - r.rawMs[1]).toFixed(2), r.rawMs[16].toFixed(2),
    (r.rawMs[16] / r.rawMs[1]).toFixed(2), r.q1AfterQ16Ms.toFixed(2)]);
  for (const past of skipped) rows.push([String(past), `past + steps exceeds the model's ${config.maxPositions} positions`, '', '', '', '', '']);
  console.log(formatTable(['past', 'raw q=1 ms', 'ar step ms', 'JS side ms', 'raw q=16 ms', 'q16 / q1', 'q=1 after q=16 ms'], rows));
  if (extraQs.length > 0) {
    console.log('raw forward pass by q: median ms (ratio to q=1), then the fastest pass');
    const byQ = (r: PastRow, ms: Record<number, number>) => qs.map((q) => `${ms[q].toFixed(1)} (${(ms[q] / ms[1]).toFixed(2)})`);
    console.log(formatTable(['past', '', ...qs.map((q) => `q=${q}`)], measured.flatMap((r) => [
      [String(r.past), 'median', ...byQ(r, r.rawMs)], ['', 'best', ...byQ(r, r.rawBestMs)]])));
  }
  const jsonFile = args.values.get('--json');
  if (jsonFile) {
    fs.mkdirSync(path.dirname(path.resolve(jsonFile)), { recursive: true });
    const report = {
      model: modelDir, name: config.name, threads, steps, inThread, loadMs, rssAfterLoadMiB: mebibytes(rssAfterLoad), peakRssMiB: mebibytes(peakRss),
      calibration: engine.latencyCurve, pasts: measured, skippedPasts: skipped,
    };
    fs.writeFileSync(jsonFile, JSON.stringify(report, null, 2) + '\n');
    console.log(`wrote ${jsonFile}`);
  }
  await engine.close();
}

main().catch((error) => {
  console.error(error instanceof UsageError ? `${error.message}\n${USAGE}` : error instanceof Error ? error.stack : error);
  process.exitCode = error instanceof UsageError ? 64 : 1;
});
