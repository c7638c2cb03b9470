// The decoding process's state: the loaded model, its generator and latency curve, the
// workspace corpus, recent stats. Turns protocol-level requests (complete / generate)
// into prompts and generations. No I/O of its own besides the model dir and the
// calibration cache; the server owns stdin/stdout.
import type { CompletionMode, DecodeOptions, DecodeStats, DocumentLocation, ModelInfo, ProgressEvent, PromptContext, SpeedupMeasurement, StrategyName } from '../../protocol';
import { MIN_SPEED_TOKENS } from '../../speedup';
import { RecordedTreesStrategy } from '../strategies/recordedTrees';
import type { DraftStrategy } from '../draft/types';
import { ModelInvalidError } from '../model/errors';
import { loadModelDir, type LoadedModel } from '../model/modelDir';
import type { SessionOpener } from '../model/onnxModel';
import type { OutputHistory } from '../retrieval/outputHistory';
import { toDecodeStats } from './decodeStats';
import { CONTEXT_CHARS_PER_TOKEN, CONTEXT_SHARE, buildFimPrompt, buildPlainPrompt, withoutPrefixEnd, type PromptParts, type RepoContext } from './fimPrompt';
import type { MixtureWeights } from '../mixture/mixtureWeights';
import { HealingConstraint, healedTokenCount } from '../mixture/tokenHealing';
import { currentDocumentExclusion, MIXTURE_CONTEXT_TOKENS, RequestMixture } from '../mixture/workspaceMixture';
import { TokenIndex } from '../retrieval/tokenIndex';
import { CompletionMemo } from './completionMemo';
import { Detokenizer } from './detokenizer';
import { Generator, type GenerationResult } from './generator';
import type { KvCache } from './kvCache';
import type { PreemptionGate } from './preemption';
import { blockOf, findStop, nextLineOf, type StopRules } from './stopRules';
import { currentCpuModel, loadOrMeasureLatencyCurve, type MeasuredLatencies } from './latencyCalibration';
import { CorpusStore } from './corpusStore';

/** Room kept free after prompt + max tokens for the deepest draft tree. */
const TREE_DEPTH_SLACK = 32;
const RECENT_STATS = 50;
/** Characters of text around the cursor that choose the context chunks. */
const CONTEXT_QUERY_CHARS = 1500;
const DEFAULT_REPO_NAME = 'workspace';
/** The most tokens of one generation replayed by measureSpeedup (plain greedy's replay of them: ~0.1 s of idle work per round). */
export const REPLAYED_TOKENS_MAX = 96;
/** Rounds of the two replays (tree, plain greedy) that measureSpeedup runs; each arm keeps its fastest. */
const REPLAY_ROUNDS = 2;

/**
 * The text that chooses context chunks: the lines around the cursor WITHOUT the line being typed,
 * so the choice (and the KV rows of the prompt's start) stays put while typing within a line.
 */
export function contextQuery(prefix: string, suffix: string): string {
  const lineStart = prefix.lastIndexOf('\n') + 1;
  const lineEnd = suffix.indexOf('\n');
  const before = prefix.slice(Math.max(0, lineStart - CONTEXT_QUERY_CHARS), lineStart);
  const after = lineEnd < 0 ? '' : suffix.slice(lineEnd, lineEnd + CONTEXT_QUERY_CHARS / 3);
  return before + after;
}
export const DEFAULT_STRATEGY: StrategyName = 'tr-jacobi';

/**
 * At load, a short text decoded as one pass and as one pass per token (Generator.passSizeDrift): logits
 * further apart than PASS_SIZE_TOLERANCE mean this CPU's kernels make a row depend on its pass, and the
 * model runs plain greedy only. Float32 kernels differ by rounding (8e-6 at Qwen2.5-Coder-0.5B's shape);
 * a quantized MatMul with int8 activations moved a row by 0.05 (training/quantize.py).
 */
export const PASS_SIZE_TOLERANCE = 1e-3;
const PASS_SIZE_PROBE = 'def add(a, b):\n    return a + b\n';
const PASS_SIZE_PROBE_TOKENS = 8;

export type PromptLocation = DocumentLocation & { chunks?: boolean };

/** A tree generation that measureSpeedup can replay while the cache still holds its rows. */
export interface ReplayableRun {
  prompt: readonly number[];
  /** The workspace mixture it decoded with, if any (the replays must choose tokens by the same rule). */
  mixture?: RequestMixture;
  result: GenerationResult;
  /** Generator.generations right after it: any later generation changed the cache. */
  generation: number;
}

/**
 * The stats with what the prompt's repo-level header named (its folder, the current path, the files
 * of the chunks picked for it; the token budget may still drop the worst of those), so the editor
 * can tell which folder and files a completion drew on.
 */
function withContext(stats: DecodeStats, context: RepoContext | undefined): DecodeStats {
  if (!context) return stats;
  const files = [...new Set(context.chunks.map((c) => c.path))];
  const named: PromptContext = { repoName: context.repoName, path: context.path, files };
  return { ...stats, context: named };
}

export class ModelNotLoadedError extends Error {
  constructor() {
    super('no model loaded: send "load" first');
  }
}

/** Everything strategies need from the runtime, created per loaded model. */
export interface StrategySet {
  /** The workspace retrieval index, fed by the corpus: what tr-jacobi drafts from and the workspace mixture reads. */
  readonly workspace: TokenIndex;
  /** What the model emitted for earlier requests, which tree strategies draft from. */
  readonly outputs: OutputHistory;
  create(name: StrategyName, options: { treeBudget?: number }): DraftStrategy;
}

export type StrategySetFactory = (model: LoadedModel, curve: MeasuredLatencies) => StrategySet;

export interface EngineOptions {
  strategies: StrategySetFactory;
  /** How model.onnx is opened: in a worker thread in the decoding process (WorkerModel), OnnxModel.open in this thread. */
  openSession: SessionOpener;
  /** Where the latency curve is cached (default: a folder under os.tmpdir()). */
  cacheDir?: string;
  onProgress?: (data: ProgressEvent['data']) => void;
  log?: (message: string) => void;
}

export interface RequestControl {
  isCancelled(): boolean;
  /** Aborted by a cancel: ends the request at once, even during a forward pass. */
  signal?: AbortSignal;
}

export interface RunRequest extends DecodeOptions {
  prompt: readonly number[];
  /** Keep a tree generation's steps for measureSpeedup to replay (default true; the bench times ar itself). */
  measureSpeedup?: boolean;
  /** Answer from a remembered continuation when one determines it (editor requests; tools and tests decode). */
  memo?: boolean;
  /** Requests that may run between this generation's steps. */
  preemption?: PreemptionGate;
  mode?: CompletionMode;
  /** Stop where the text starts looping (editor requests, and the tools that stand for them). */
  stopOnLoop?: boolean;
  /** The text below the cursor: the completion stops before writing its first line again (StopRules.nextLine). */
  suffix?: string;
  /** Generate only: the text above the cursor, whose last line's block the text ends with (StopRules.block). */
  blockAbove?: string;
  onText?: (chunk: string) => void;
  /** The repo-level context the prompt was built with: named in the stats. */
  context?: RepoContext;
  /** Decode the workspace mixture's greedy choice instead of the model's (engine.mixtureFor). */
  mixture?: RequestMixture;
}

/** What a generation decodes: the prompt, and the workspace mixture when it is on. */
export interface DecodingPlan {
  prompt: number[];
  mixture?: RequestMixture;
}

/** What token healing needs of a model's vocabulary, made when the mixture first needs it. */
interface HealingVocabulary {
  texts: string[];
  special: Set<number>;
  /** Constraints by healed text, kept: typing at one indentation heals the same text again and again. */
  constraints: Map<string, HealingConstraint>;
}
/** Healing constraints kept per model (each holds the allowed tokens at the offsets asked so far). */
const HEALING_CONSTRAINTS_KEPT = 64;

interface Loaded {
  model: LoadedModel;
  healing?: HealingVocabulary;
  generator: Generator;
  curve: MeasuredLatencies;
  strategies: StrategySet;
  info: ModelInfo;
}

export class DecoderEngine {
  readonly corpus = new CorpusStore();
  /** Continuations that a later prompt can extend exactly (typing what was suggested). */
  private readonly memo = new CompletionMemo();
  private loaded: Loaded | null = null;
  private readonly recent: DecodeStats[] = [];

  constructor(private readonly options: EngineOptions) {}

  get modelInfo(): ModelInfo | null {
    return this.loaded?.info ?? null;
  }

  get recentStats(): DecodeStats[] {
    return [...this.recent];
  }

  /** The loaded model (for tools such as the bench); throws when none. */
  get model(): LoadedModel {
    return this.require().model;
  }

  /** The history of the loaded model's outputs that tree strategies draft from (tools clear it between runs of the same prompts). */
  get outputHistory(): OutputHistory {
    return this.require().strategies.outputs;
  }

  /** The KV cache of the loaded model's generator (for tools that time raw passes on it). */
  get kvCache(): KvCache {
    return this.require().generator.cache;
  }

  /** The tokens whose KV rows the loaded model's cache holds, in order (for tools and tests). */
  get cachedTokens(): readonly number[] {
    return this.require().generator.cachedPrefix;
  }

  get latencyCurve(): MeasuredLatencies {
    return this.require().curve;
  }

  /** Loads a model dir; on failure the previously loaded model (if any) stays. */
  async load(modelDir: string, threads = 1): Promise<ModelInfo> {
    const progress = this.options.onProgress ?? (() => undefined);
    progress({ phase: 'loading', message: `loading ${modelDir}` });
    const model = await loadModelDir(modelDir, this.options.openSession, { threads });
    const generator = new Generator(model.model, model.tokenizer, model.config);
    progress({ phase: 'calibrating', message: 'measuring forward-pass latency' });
    let calibration: Awaited<ReturnType<typeof loadOrMeasureLatencyCurve>>;
    let passSizeDrift = 0;
    try {
      // One real forward pass first: a graph that loads but cannot run is a broken model.
      await generator.selfTest();
      passSizeDrift = await generator.passSizeDrift(model.tokenizer.encode(PASS_SIZE_PROBE).slice(0, PASS_SIZE_PROBE_TOKENS));
      calibration = await loadOrMeasureLatencyCurve({
        model: model.model, cache: generator.cache, maskValue: model.config.maskValue, vocabSize: model.config.vocabSize,
        key: { modelHash: model.modelHash, cpuModel: currentCpuModel(), threads },
        cacheDir: this.options.cacheDir,
        onProgress: (done, total) => progress({ phase: 'calibrating', message: 'measuring forward-pass latency', done, total }),
      });
    } catch (error) {
      await model.model.release();
      throw error instanceof ModelInvalidError ? error : new ModelInvalidError('model.onnx', `a forward pass failed (${(error as Error).message})`);
    }
    generator.invalidateCache(); // calibration wrote scratch rows into the cache
    const origin = calibration.fromCache ? 'from cache' : calibration.cached ? 'measured, cached' : 'measured on a busy machine, not cached';
    this.options.log?.(`latency curve (${origin}, ${calibration.file}): ${JSON.stringify(calibration.curve)}`);
    const previous = this.loaded;
    const strategies = this.options.strategies(model, calibration.curve);
    const info: ModelInfo = {
      modelDir: model.dir, format: model.config.format, name: model.config.name, layers: model.config.numLayers,
      vocabSize: model.config.vocabSize, parameters: model.config.parameters,
      promptFormat: `FIM ${model.config.prompt.fimOrders.join('/')}${model.config.prompt.repo ? ', repo-level context' : ''}`,
      latencyCurve: Object.fromEntries(Object.entries(calibration.curve).map(([q, ms]) => [q, Math.round(ms * 1000) / 1000])),
      workspaceMixture: model.mixture !== null,
      plainGreedyOnly: passSizeDrift > PASS_SIZE_TOLERANCE
        ? `on this CPU the model's logits for a token change with the number of tokens in a pass (by ${passSizeDrift.toPrecision(2)}), so tree decoding would not be lossless: every completion is decoded with plain greedy (a float32 export avoids this)`
        : undefined,
    };
    if (info.plainGreedyOnly) this.options.log?.(info.plainGreedyOnly);
    this.loaded = { model, generator, curve: calibration.curve, strategies, info };
    this.memo.clear();
    if (previous) await previous.model.model.release();
    const total = this.corpus.counts().documents;
    if (total > 0) progress({ phase: 'indexing', message: 're-indexing the workspace for the new tokenizer', done: 0, total });
    await this.corpus.attach(model.tokenizer, strategies.workspace, (p) => progress({ phase: 'indexing', message: 'indexing workspace', ...p }));
    progress({ phase: 'ready', message: `${info.name} ready` });
    return info;
  }

  /** Token budget of a prompt so that prompt + completion + a draft tree fit the window. */
  promptBudget(maxTokens: number): number {
    const window = this.require().model.config.maxPositions;
    return Math.max(Math.floor(window / 2), window - maxTokens - TREE_DEPTH_SLACK);
  }

  /**
   * Repo-level context for a cursor, when the model declares the layout and a location is given;
   * `chunks: false` keeps the header without other files' chunks (the bench's no-context arm).
   */
  repoContext(prefix: string, suffix: string, maxTokens: number, location: PromptLocation = {}): RepoContext | undefined {
    const { config } = this.require().model;
    if (!config.prompt.repo || location.path === undefined) return undefined;
    const maxChars = Math.floor(this.promptBudget(maxTokens) * CONTEXT_SHARE) * CONTEXT_CHARS_PER_TOKEN;
    const repoName = location.repoName || DEFAULT_REPO_NAME;
    const current = { path: location.path, repoName: location.repoName };
    const chunks = location.chunks === false ? [] : this.corpus.context.pick(contextQuery(prefix, suffix), maxChars, current);
    return { repoName, path: location.path, chunks };
  }

  fimPrompt(prefix: string, suffix: string, maxTokens: number, location?: PromptLocation): number[] {
    return this.fimPromptParts(prefix, suffix, maxTokens, location).tokens;
  }

  /** The FIM prompt with the prefix and suffix tokens it holds (what mixtureFor reads). */
  fimPromptParts(prefix: string, suffix: string, maxTokens: number, location?: PromptLocation): PromptParts {
    return this.fimPromptWith(prefix, suffix, maxTokens, this.repoContext(prefix, suffix, maxTokens, location));
  }

  plainPrompt(text: string, maxTokens: number, location?: PromptLocation): number[] {
    return this.plainPromptWith(text, maxTokens, this.repoContext(text, '', maxTokens, location)).tokens;
  }

  /** Whether the loaded model has mixture weights (mixture.json): the workspace mixture is on by default then. */
  get hasMixture(): boolean {
    return this.require().model.mixture !== null;
  }

  /**
   * The prompt to decode and, when the workspace mixture is on (`enabled`, and the model has weights or
   * `weights` are given), the mixture: the prompt then ends before its prefix's last token(s), which the
   * mixture decodes again (token healing). `currentUri`: the document under the cursor, left out of
   * the mixture's workspace side (its indexed text continues with the text below the cursor).
   */
  plan(parts: PromptParts, currentUri: string | undefined, enabled = true, weights: MixtureWeights | null = this.require().model.mixture): DecodingPlan {
    const loaded = this.require();
    if (!enabled || weights === null) return { prompt: parts.tokens };
    const { tokenizer } = loaded.model;
    const vocabulary = (loaded.healing ??= {
      texts: Array.from({ length: loaded.model.config.vocabSize }, (_, id) => tokenizer.decode([id])),
      special: new Set(tokenizer.allSpecialIds),
      constraints: new Map(),
    });
    const healed = Math.min(healedTokenCount(parts.prefix, vocabulary.texts, vocabulary.special), parts.tokens.length - 1);
    const kept = withoutPrefixEnd(parts, healed);
    const mixture = new RequestMixture({
      weights, workspace: loaded.strategies.workspace,
      excluded: currentUri !== undefined ? currentDocumentExclusion(loaded.strategies.workspace, currentUri, kept.prefixWindow) : undefined,
      prefix: kept.prefixWindow, suffix: kept.suffixWindow, tokenTexts: vocabulary.texts,
      healing: healed > 0 ? this.healingFor(tokenizer.decode(parts.prefix.slice(parts.prefix.length - healed)), vocabulary) : undefined,
    }, new TokenIndex({ maxMatchLength: MIXTURE_CONTEXT_TOKENS }));
    return { prompt: kept.tokens, mixture };
  }

  /** The constraint for a healed text, made once and kept (its allowed sets scan the whole vocabulary). */
  private healingFor(text: string, vocabulary: HealingVocabulary): HealingConstraint {
    let constraint = vocabulary.constraints.get(text);
    if (!constraint) {
      const { tokenizer } = this.require().model;
      constraint = new HealingConstraint(text, vocabulary.texts, vocabulary.special, (t) => tokenizer.encode(t));
      vocabulary.constraints.set(text, constraint);
      if (vocabulary.constraints.size > HEALING_CONSTRAINTS_KEPT) vocabulary.constraints.delete(vocabulary.constraints.keys().next().value as string);
    }
    return constraint;
  }

  private fimPromptWith(prefix: string, suffix: string, maxTokens: number, context: RepoContext | undefined): PromptParts {
    const { tokenizer, config } = this.require().model;
    return buildFimPrompt(tokenizer, config.prompt, prefix, suffix, this.promptBudget(maxTokens), context, config.bosTokenId);
  }

  private plainPromptWith(text: string, maxTokens: number, context: RepoContext | undefined): PromptParts {
    const { tokenizer, config } = this.require().model;
    return buildPlainPrompt(tokenizer, config.prompt, text, this.promptBudget(maxTokens), config.bosTokenId, context);
  }

  async complete(params: { prefix: string; suffix: string; mode: CompletionMode } & DecodeOptions & DocumentLocation, control: RequestControl) {
    const context = this.repoContext(params.prefix, params.suffix, params.maxTokens, params);
    const { prompt, mixture } = this.plan(this.fimPromptWith(params.prefix, params.suffix, params.maxTokens, context), params.uri, params.workspaceMixture !== false);
    const { result, stats, replayable } = await this.run({ ...params, prompt, memo: true, stopOnLoop: true, context, mixture }, control);
    return { text: result.text, stats, replayable };
  }

  async generate(
    params: { prefix: string; suffix?: string } & DecodeOptions & DocumentLocation, control: RequestControl, onText: (chunk: string) => void,
    preemption?: PreemptionGate,
  ) {
    const context = this.repoContext(params.prefix, params.suffix ?? '', params.maxTokens, params);
    const parts = params.suffix !== undefined
      ? this.fimPromptWith(params.prefix, params.suffix, params.maxTokens, context)
      : this.plainPromptWith(params.prefix, params.maxTokens, context);
    const { prompt, mixture } = this.plan(parts, params.uri, params.workspaceMixture !== false);
    const { result, stats, replayable } = await this.run({ ...params, prompt, onText, memo: true, stopOnLoop: true, blockAbove: params.prefix, preemption, context, mixture }, control);
    return { text: result.text, stats, replayable };
  }

  /**
   * One generation with a named strategy on a ready prompt (also used by the bench); `replayable`: the
   * run measureSpeedup can replay once idle, when it was a tree generation whose steps were kept.
   */
  async run(request: RunRequest, control: RequestControl): Promise<{ result: GenerationResult; stats: DecodeStats; replayable: ReplayableRun | null }> {
    const loaded = this.require();
    const name = loaded.info.plainGreedyOnly ? 'ar' : request.strategy ?? DEFAULT_STRATEGY;
    const stopRules: StopRules = { mode: request.mode, stopStrings: request.stop ?? [], stopOnLoop: request.stopOnLoop, nextLine: nextLineOf(request.suffix), block: blockOf(request.blockAbove) };
    // Per strategy too: the answer would be the same, but its stats would be another strategy's.
    const rulesKey = JSON.stringify({ ...stopRules, strategy: name });
    // The memo answers a prompt that extends an earlier one by its own tokens; under the mixture the answer
    // also depends on the text order around the cursor (and healing), which that does not capture: no memo.
    const memo = request.memo === true && request.mixture === undefined;
    const recalled = !memo ? null : this.recall(request.prompt, stopRules, rulesKey, request.maxTokens, name);
    if (recalled) {
      request.onText?.(recalled.text);
      const stats = withContext(toDecodeStats(recalled, 0, request.mixture !== undefined), request.context);
      this.record(stats);
      return { result: recalled, stats, replayable: null };
    }
    const strategy = loaded.strategies.create(name, { treeBudget: request.treeBudget || undefined });
    const result = await loaded.generator.generate(request.prompt, {
      maxTokens: request.maxTokens,
      stopRules,
      strategy,
      isCancelled: () => control.isCancelled(),
      signal: control.signal,
      onText: request.onText,
      preemption: request.preemption,
      recordSteps: name !== 'ar' && request.measureSpeedup !== false,
      rule: request.mixture,
    });
    const replayable = result.steps && result.stopReason !== 'cancelled'
      ? { prompt: request.prompt, result, generation: loaded.generator.generations, mixture: request.mixture } : null;
    const meanDraftNodes = result.forwardPasses > 0 ? result.treeNodes / result.forwardPasses - 1 : 0;
    // ar drafts nothing whatever budget was asked for; report what the trees really held.
    const treeBudget = name === 'ar' ? 0 : request.treeBudget || Math.round(meanDraftNodes);
    const stats = withContext(toDecodeStats(result, treeBudget, request.mixture !== undefined), request.context);
    if (memo) this.memo.remember(request.prompt, result.tokens, rulesKey, result.stopReason);
    this.record(stats);
    return { result, stats, replayable };
  }

  /**
   * A tree generation's speed-up (`run`'s replayable), MEASURED on the cache it left, once idle: its steps' trees are
   * verified again (RecordedTreesStrategy) and plain greedy decodes the same tokens, at the same past
   * lengths, alternating for REPLAY_ROUNDS rounds, each arm keeping its fastest (its last REPLAYED_TOKENS_MAX tokens when longer). Null: there is none,
   * it is too short to mean anything, another request (or this measurement) used the cache since, or
   * `isCancelled` said stop.
   */
  async measureSpeedup(isCancelled: () => boolean, last: ReplayableRun | null): Promise<SpeedupMeasurement | null> {
    const loaded = this.loaded;
    if (!loaded || !last || loaded.generator.generations !== last.generation) return null;
    const { prompt, result } = last;
    const steps = result.steps ?? [];
    if (result.tokens.length < MIN_SPEED_TOKENS || steps.length === 0) return null;
    const promptRows = prompt.length - 1;
    const end = promptRows + result.tokens.length;
    let k = 0;
    while (k < steps.length - 1 && end - steps[k].past > REPLAYED_TOKENS_MAX) k++;
    const first = steps[k].past;
    const tokens = result.tokens.length - (first - promptRows);
    const context = [...prompt, ...result.tokens];
    const replayPrompt = context.slice(0, first + 1);
    const expected = context.slice(first + 1);
    const stopRules = { stopStrings: [] };
    const generator = loaded.generator;
    // The replays start `first - promptRows` tokens into the generation: the mixture's text goes on from there.
    const rule = last.mixture?.after(result.tokens.slice(0, first - promptRows));
    const same = (tokensOut: readonly number[]) => tokensOut.length === tokens && tokensOut.every((t, i) => t === expected[i]);
    // The replays' own work: what the process did in their yields (a corpus update after an edit, say) is
    // no cost of either, while plain greedy, with a yield per token, would absorb more of it.
    const replay = async (strategy: DraftStrategy): Promise<number | null> => {
      const run = await generator.generate(replayPrompt, { maxTokens: tokens, stopRules, strategy, isCancelled, rule });
      if (run.stopReason === 'cancelled' || run.reusedPromptTokens < first) return null;
      if (!same(run.tokens)) throw new Error('a replay decoded other tokens than the generation it replays');
      return run.decodeMs - run.yieldedMs;
    };
    const sum = (values: readonly number[]) => values.reduce((n, v) => n + v, 0);
    const draftMs = sum(steps.slice(k).map((s) => s.draftMs));
    let treeIdleMs = Infinity;
    let arIdleMs = Infinity;
    // Alternating rounds, the fastest of each arm: what else runs on the machine (the editor reacting
    // to typing) only ever adds time, and must hit both rounds of an arm to move its figure.
    for (let round = 0; round < REPLAY_ROUNDS; round++) {
      const tree = await replay(new RecordedTreesStrategy(result.strategy, steps.slice(k)));
      if (tree === null) return null;
      const ar = await replay(loaded.strategies.create('ar', {}));
      if (ar === null) return null;
      treeIdleMs = Math.min(treeIdleMs, tree + draftMs);
      arIdleMs = Math.min(arIdleMs, ar);
    }
    return { strategy: result.strategy, tokens, liveMs: sum(result.stepMs.slice(k)), treeIdleMs, arIdleMs };
  }

  private record(stats: DecodeStats): void {
    this.recent.push(stats);
    if (this.recent.length > RECENT_STATS) this.recent.shift();
  }

  /** A remembered continuation that determines this prompt's answer exactly, as a result with no forward pass. */
  private recall(prompt: readonly number[], stopRules: StopRules, rulesKey: string, maxTokens: number, strategy: StrategyName): GenerationResult | null {
    const recalled = this.memo.recall(prompt, rulesKey, maxTokens);
    if (!recalled) return null;
    const detokenizer = new Detokenizer(this.require().model.tokenizer);
    for (const token of recalled.tokens) detokenizer.push(token);
    const cut = findStop(detokenizer.finalText, stopRules);
    // A generation that a stop rule ended says nothing about what follows its stop.
    if (recalled.endedBy === 'stop-string' && cut < 0) return null;
    return {
      strategy, tokens: recalled.tokens, text: cut >= 0 ? detokenizer.finalText.slice(0, cut) : detokenizer.finalText,
      stopReason: cut >= 0 ? 'stop-string' : recalled.endedBy, promptTokens: prompt.length, reusedPromptTokens: prompt.length,
      prefillMs: 0, decodeMs: 0, yieldedMs: 0, forwardPasses: 0, treeNodes: 0, acceptedFromRetrieval: 0, acceptedFromJacobi: 0,
      acceptedFromNoise: 0, stepMs: [], fromMemo: true,
    };
  }

  async close(): Promise<void> {
    const loaded = this.loaded;
    this.loaded = null;
    if (loaded) await loaded.model.model.release();
  }

  private require(): Loaded {
    if (!this.loaded) throw new ModelNotLoadedError();
    return this.loaded;
  }
}
