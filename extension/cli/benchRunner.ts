// Runs every strategy on the same prompts in one process and aggregates the numbers the
// bench prints and writes. Timing excludes prefill (the same for every strategy): tokens/s
// is generated tokens over the wall time of the decoding steps.
import type { CompletionMode, DecodeStats, SpeedupMeasurement, StrategyName } from '../protocol';
import type { DecoderEngine } from '../decoder/engine/decoderEngine';
import { chooseCompletionMode } from '../completionMode';
import { boundPrefix, boundSuffix, PREFIX_CHARS, SUFFIX_CHARS } from '../promptWindow';
import { median, replayedSpeedup } from '../speedup';
import type { BenchSample, SourceFile } from './benchSamples';
import { editSimilarity, firstLineExactMatch } from './quality';
import { retrievalCopy } from './retrievalCopy';
import type { PromptParts } from '../decoder/engine/fimPrompt';

export interface BenchOptions {
  strategies: StrategyName[];
  maxTokens: number;
  /** One mode for every cursor; absent: each cursor's own, as the editor chooses it (chooseCompletionMode). */
  mode?: CompletionMode;
  treeBudget?: number;
  /** Workspace files for the retrieval corpus; absent: no workspace corpus. */
  corpusFiles?: readonly SourceFile[];
  /** The workspace folder's name in repo-level prompts. */
  repoName?: string;
  /** Also run `ar` with the repo-level header but no chunks of other files, for quality with vs without context. */
  compareContext?: boolean;
  /** Also run each strategy but ar as the editor does (its speed-up replayed after each) and compare the
   *  speed-up the status bar would show with the one measured against ar on the same completions. */
  statusBarCheck?: boolean;
  warmupRuns: number;
  /** Decode the workspace mixture (every strategy); the quality rows `model` and `model+workspace` show both either way. */
  mixture: boolean;
  /** `baselines`: the sample's text of each quality row that is not a strategy (retrieval-copy, the other arm). */
  onSample?: (index: number, sample: BenchSample, outputs: Map<StrategyName, SampleOutput>, baselines: Record<string, string>) => void;
}

export interface SampleOutput {
  tokens: number[];
  text: string;
  stats: DecodeStats;
  /** Its speed-up, replayed as the decoding process does once idle (runs as in the editor only). */
  measured?: SpeedupMeasurement | null;
}

/** The JSON the bench writes per strategy. */
export interface StrategySummary {
  tokens_per_second: number;
  mean_accepted_per_pass: number;
  forward_passes: number;
  identical_to_ar: number;
  samples: number;
  speedup_vs_ar: number;
  first_line_exact_match: number;
  edit_similarity: number;
}

export interface StrategyDetail {
  tokens: number;
  decodeMs: number;
  medianTokensPerSecond: number;
  acceptedFromRetrieval: number;
  acceptedFromJacobi: number;
  meanTreeBudget: number;
}

export interface QualitySummary {
  first_line_exact_match: number;
  edit_similarity: number;
  samples: number;
}

/** The status bar's figure (the completions' replays) next to the speed-up over ar on the same completions. */
export interface StatusBarCheck {
  completions: number;
  statusBarSpeedup: number;
  measuredSpeedup: number;
}

export interface BenchResult {
  summary: Record<string, StrategySummary>;
  detail: Record<string, StrategyDetail>;
  statusBar: Record<string, StatusBarCheck>;
  /** Quality of the rows that are not strategies: the non-neural retrieval-copy baseline, ar without context. */
  quality: Record<string, QualitySummary>;
  /** Plain greedy's speed with the mixture the other way round (its cost per token), when the model has a mixture. */
  otherArm?: { name: string; tokensPerSecond: number };
}

const NEVER_CANCELLED = { isCancelled: () => false };

/** The prompt the extension would send for this cursor: its window and location, then the decoder's layout. */
export function editorPrompt(engine: DecoderEngine, sample: BenchSample, maxTokens: number, repoName?: string, chunks = true): PromptParts {
  const location = sample.file !== undefined ? { uri: sample.file, path: sample.file, repoName, chunks } : undefined;
  return engine.fimPromptParts(boundPrefix(sample.prefix, PREFIX_CHARS), boundSuffix(sample.suffix, SUFFIX_CHARS), maxTokens, location);
}

/** The mode the editor gives this cursor (from the same windows the prompt is built from). */
export function editorMode(sample: BenchSample): CompletionMode {
  return chooseCompletionMode(boundPrefix(sample.prefix, PREFIX_CHARS), boundSuffix(sample.suffix, SUFFIX_CHARS));
}

/**
 * Keeps the corpus equal to the workspace except the file under the current cursor, which is in it
 * as the editor has it while the user types there: its prefix followed by its suffix (never the hidden middle).
 */
export class CursorCorpus {
  private current: BenchSample | undefined;

  constructor(private readonly engine: DecoderEngine, private readonly files: readonly SourceFile[] | undefined) {}

  async init(): Promise<void> {
    if (this.files) await this.engine.corpus.upsert(this.files.map((f) => ({ uri: f.path, path: f.path, text: f.text })));
  }

  async moveTo(sample: BenchSample | undefined): Promise<void> {
    if (!this.files) return;
    const previous = this.current?.file;
    if (previous) {
      const original = this.files.find((f) => f.path === previous);
      if (original) await this.engine.corpus.upsert([{ uri: original.path, path: original.path, text: original.text }]);
    }
    this.current = sample;
    if (sample?.file) await this.engine.corpus.upsert([{ uri: sample.file, path: sample.file, text: sample.prefix + sample.suffix }]);
  }

  /** Takes the workspace out of the corpus again. */
  async clear(): Promise<void> {
    if (this.files) await this.engine.corpus.remove(this.files.map((f) => f.path));
    this.current = undefined;
  }
}

export async function runBench(engine: DecoderEngine, samples: readonly BenchSample[], options: BenchOptions): Promise<BenchResult> {
  const strategies: StrategyName[] = options.strategies.includes('ar') ? options.strategies : ['ar', ...options.strategies];
  const corpus = new CursorCorpus(engine, options.corpusFiles);
  await corpus.init();

  const runOne = async (
    sample: BenchSample, strategy: StrategyName, maxTokens: number, chunks = true, measureSpeedup = false, withMixture = options.mixture,
  ): Promise<SampleOutput> => {
    const { prompt, mixture } = engine.plan(editorPrompt(engine, sample, maxTokens, options.repoName, chunks), sample.file, withMixture);
    // No replay unless asked: the bench times ar itself, in the same run.
    const { result, stats, replayable } = await engine.run(
      { prompt, maxTokens, mode: options.mode ?? editorMode(sample), stopOnLoop: true, suffix: sample.suffix, strategy, treeBudget: options.treeBudget, measureSpeedup, mixture }, NEVER_CANCELLED);
    // As the decoding process does once idle after a completion.
    const measured = measureSpeedup ? await engine.measureSpeedup(() => false, replayable) : undefined;
    return { tokens: result.tokens, text: result.text, stats, measured };
  };

  // Warm up every strategy (JIT, allocator, caches) on the first prompts; not timed.
  for (let i = 0; i < Math.min(options.warmupRuns, samples.length); i++) {
    await corpus.moveTo(samples[i]);
    for (const strategy of strategies) await runOne(samples[i], strategy, options.maxTokens);
  }
  // Timed runs must not draft from the warm-up's outputs of the same prompts (the editor's memo would answer those).
  engine.outputHistory.clear();

  const outputs = new Map<StrategyName, SampleOutput[]>(strategies.map((s) => [s, []]));
  const asInEditor = new Map<StrategyName, SampleOutput[]>(strategies.filter((s) => s !== 'ar').map((s) => [s, []]));
  const baselines: Record<string, string[]> = { 'retrieval-copy': [] };
  // The pure model and the mixture side by side: ar decodes one of them below, this the other.
  const otherArm = engine.hasMixture ? (options.mixture ? 'model' : 'model+workspace') : undefined;
  if (otherArm) baselines[otherArm] = [];
  let otherTokens = 0;
  let otherMs = 0;
  if (options.compareContext) baselines['ar, no context'] = [];
  for (let i = 0; i < samples.length; i++) {
    await corpus.moveTo(samples[i]);
    baselines['retrieval-copy'].push(retrievalCopy(samples[i], options.corpusFiles ?? []));
    if (otherArm) {
      const other = await runOne(samples[i], 'ar', options.maxTokens, true, false, !options.mixture);
      baselines[otherArm].push(other.text);
      otherTokens += other.stats.tokens;
      otherMs += other.stats.elapsedMs;
    }
    if (options.compareContext) baselines['ar, no context'].push((await runOne(samples[i], 'ar', options.maxTokens, false)).text);
    const perSample = new Map<StrategyName, SampleOutput>();
    // Rotate the order so no strategy always runs first (machine noise, cache warmth).
    for (let k = 0; k < strategies.length; k++) {
      const strategy = strategies[(i + k) % strategies.length];
      const output = await runOne(samples[i], strategy, options.maxTokens);
      perSample.set(strategy, output);
      outputs.get(strategy)!.push(output);
    }
    if (options.statusBarCheck) {
      for (const [strategy, runs] of asInEditor) {
        // Re-running this prompt: its output just decoded is no draft source (it stays recorded by the rerun).
        engine.outputHistory.discardPending();
        runs.push(await runOne(samples[i], strategy, options.maxTokens, true, true));
      }
    }
    options.onSample?.(i, samples[i], perSample, Object.fromEntries(Object.entries(baselines).map(([name, texts]) => [name, texts[i]])));
  }
  await corpus.moveTo(undefined);
  const result = summarize(samples, strategies, outputs);
  if (options.statusBarCheck) result.statusBar = checkStatusBar(outputs.get('ar')!, asInEditor);
  const arTexts = outputs.get('ar')!.map((o) => o.text);
  result.quality[options.mixture && engine.hasMixture ? 'model+workspace' : 'model'] = quality(samples, arTexts);
  for (const [name, texts] of Object.entries(baselines)) result.quality[name] = quality(samples, texts);
  if (otherArm) result.otherArm = { name: `ar, ${options.mixture ? 'model alone' : 'with the workspace mixture'}`, tokensPerSecond: otherMs > 0 ? (1000 * otherTokens) / otherMs : 0 };
  return result;
}

function quality(samples: readonly BenchSample[], texts: readonly string[]): QualitySummary {
  return {
    first_line_exact_match: texts.filter((t, i) => firstLineExactMatch(t, samples[i].truth)).length / Math.max(1, texts.length),
    edit_similarity: texts.reduce((s, t, i) => s + editSimilarity(t, samples[i].truth), 0) / Math.max(1, texts.length),
    samples: texts.length,
  };
}

function summarize(samples: readonly BenchSample[], strategies: StrategyName[], outputs: Map<StrategyName, SampleOutput[]>): BenchResult {
  const summary: Record<string, StrategySummary> = {};
  const detail: Record<string, StrategyDetail> = {};
  const reference = outputs.get('ar')!;
  const totals = (runs: SampleOutput[]) => {
    const tokens = runs.reduce((n, r) => n + r.stats.tokens, 0);
    const decodeMs = runs.reduce((n, r) => n + r.stats.elapsedMs, 0);
    return { tokens, decodeMs, tokensPerSecond: decodeMs > 0 ? (1000 * tokens) / decodeMs : 0 };
  };
  const arSpeed = totals(reference).tokensPerSecond;
  for (const strategy of strategies) {
    const runs = outputs.get(strategy)!;
    const { tokens, decodeMs, tokensPerSecond } = totals(runs);
    const passes = runs.reduce((n, r) => n + r.stats.forwardPasses, 0);
    const identical = runs.filter((r, i) => r.tokens.length === reference[i].tokens.length && r.tokens.every((t, j) => t === reference[i].tokens[j])).length;
    summary[strategy] = {
      tokens_per_second: tokensPerSecond,
      mean_accepted_per_pass: passes > 0 ? tokens / passes : 0,
      forward_passes: passes,
      identical_to_ar: identical,
      samples: runs.length,
      speedup_vs_ar: arSpeed > 0 ? tokensPerSecond / arSpeed : 0,
      first_line_exact_match: runs.filter((r, i) => firstLineExactMatch(r.text, samples[i].truth)).length / Math.max(1, runs.length),
      edit_similarity: runs.reduce((s, r, i) => s + editSimilarity(r.text, samples[i].truth), 0) / Math.max(1, runs.length),
    };
    detail[strategy] = {
      tokens,
      decodeMs,
      medianTokensPerSecond: median(runs.map((r) => r.stats.tokensPerSecond)),
      acceptedFromRetrieval: runs.reduce((n, r) => n + r.stats.acceptedFromRetrieval, 0),
      acceptedFromJacobi: runs.reduce((n, r) => n + r.stats.acceptedFromJacobi, 0),
      meanTreeBudget: runs.reduce((n, r) => n + r.stats.treeBudget, 0) / Math.max(1, runs.length),
    };
  }
  return { summary, detail, statusBar: {}, quality: {} };
}

/** Over the completions the status bar counts: its figure (their replays) and ar's time over theirs. */
export function checkStatusBar(ar: readonly SampleOutput[], asInEditor: ReadonlyMap<StrategyName, readonly SampleOutput[]>): Record<string, StatusBarCheck> {
  const checks: Record<string, StatusBarCheck> = {};
  for (const [strategy, runs] of asInEditor) {
    // measureSpeedup measures the completions of MIN_SPEED_TOKENS or more, as the status bar counts them.
    const counted = runs.map((run, i) => ({ run, ar: ar[i] })).filter(({ run }) => run.measured);
    const arMs = counted.reduce((n, c) => n + c.ar.stats.elapsedMs, 0);
    const ms = counted.reduce((n, c) => n + c.run.stats.elapsedMs, 0);
    checks[strategy] = {
      completions: counted.length,
      statusBarSpeedup: replayedSpeedup(counted.map(({ run }) => run.measured!)),
      measuredSpeedup: ms > 0 ? arMs / ms : 0,
    };
  }
  return checks;
}
