// The decoding loop: prefill the prompt into the KV cache, then per step let the
// strategy draft a tree, verify it in one forward pass, accept the longest greedy path
// plus the bonus token, keep the accepted rows' KV, and emit. What is emitted at a node is
// always the same function of its logits and its path (the model's argmax, or the workspace
// mixture's choice), so every strategy produces the tokens plain greedy would.
import type { StopReason, StrategyName } from '../../protocol';
import { acceptGreedy } from '../draft/acceptance';
import { TreeInputsBuffer } from '../draft/tree';
import type { Acceptance, DraftStrategy, DraftTreeView, TreeInputs } from '../draft/types';
import type { MsnConfig } from '../model/msnConfig';
import type { ForwardInputs, ForwardOutputs } from '../model/onnxModel';
import type { CodeTokenizer } from '../model/tokenizer';
import { buildChainInputs } from './chainInputs';
import { Detokenizer } from './detokenizer';
import { KvCache } from './kvCache';
import type { PreemptionGate } from './preemption';
import { argmaxAlongTree, topKOfRow } from './logits';
import type { NextTokenRule } from '../mixture/workspaceMixture';
import { stableLength, StopScanner, type StopRules } from './stopRules';

// Larger chunks prefill faster per token on CPU; 128 keeps a cancel within ~one chunk.
export const PREFILL_CHUNK = 128;


export interface GenerateOptions {
  maxTokens: number;
  stopRules: StopRules;
  strategy: DraftStrategy;
  /** Checked before every step (and prefill chunk); true ends the request as 'cancelled'. */
  isCancelled?: () => boolean;
  /** Aborted: the request ends as 'cancelled' at once, also in the middle of a forward pass (see `pass`). */
  signal?: AbortSignal;
  /** Streamed text; the chunks concatenate to the final text. */
  onText?: (chunk: string) => void;
  /** Shorter requests that run between this generation's steps (it restores its KV rows after them). */
  preemption?: PreemptionGate;
  /** Keep every step's tree, past length and drafting time (result.steps), so the steps can be replayed. */
  recordSteps?: boolean;
  /** What is emitted at a node: the model's argmax (default) or the workspace mixture's choice (mixture/). */
  rule?: NextTokenRule;
}

/** One decoding step as it ran: enough to verify the same tree again on the same cache rows. */
export interface RecordedStep {
  /** KV rows in the cache when the step verified its tree (the root's position). */
  past: number;
  tree: DraftTreeView;
  /** The strategy's own JS time in the step: drafting the tree and observing its outcome. */
  draftMs: number;
}

export interface GenerationResult {
  strategy: StrategyName;
  tokens: number[];
  text: string;
  stopReason: StopReason;
  promptTokens: number;
  /** Prompt tokens whose KV rows were reused from the previous request. */
  reusedPromptTokens: number;
  prefillMs: number;
  /** Wall time of the decoding steps (drafting, forward passes, acceptance). */
  decodeMs: number;
  /** The part of decodeMs spent in the yields between steps, where other work of the process ran. */
  yieldedMs: number;
  forwardPasses: number;
  /** Sum over steps of the tree size (nodes incl. the root). */
  treeNodes: number;
  acceptedFromRetrieval: number;
  acceptedFromJacobi: number;
  acceptedFromNoise: number;
  /** Every step's wall ms, its start to the next one's, the yield included. */
  stepMs: number[];
  /** Served from a remembered continuation, with no forward pass. */
  fromMemo?: boolean;
  /** Every step, when GenerateOptions.recordSteps asked for them. */
  steps?: RecordedStep[];
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** `promise`'s value, or null as soon as `signal` aborts (a later rejection of `promise` is then ignored). */
function unlessAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | null> {
  return new Promise<T | null>((resolve, reject) => {
    const onAbort = () => {
      promise.catch(() => undefined);
      resolve(null);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => { signal.removeEventListener('abort', onAbort); resolve(value); },
      (error: unknown) => { signal.removeEventListener('abort', onAbort); reject(error); },
    );
  });
}

/** The tree of a plain greedy step: the root alone. */
export function rootOnlyTree(root: number): DraftTreeView {
  return { nodes: [{ token: root, parent: -1, depth: 0, source: 'root' }] };
}

function maxDepth(tree: DraftTreeView): number {
  let depth = 0;
  for (const node of tree.nodes) depth = Math.max(depth, node.depth);
  return depth;
}

/**
 * What the loop needs of a model: one forward pass in the msn-onnx/1 contract (the ONNX session, or
 * a test's stand-in). Passes run one at a time, in call order, also when a caller stopped waiting.
 */
export interface ForwardModel {
  forward(inputs: ForwardInputs): Promise<ForwardOutputs>;
}

/** What the loop needs of a tokenizer: decoding, and the ids that end a completion. */
export type TokenText = Pick<CodeTokenizer, 'decode' | 'allSpecialIds'>;

/** What the loop needs of msn.json. */
export type GeneratorConfig = Pick<MsnConfig, 'numLayers' | 'maxPositions' | 'numKvHeads' | 'headDim' | 'eosTokenId' | 'maskValue' | 'vocabSize'>;

/** Why a generation ends, and where its text is cut (a stop string). */
interface Stop {
  reason: StopReason;
  cut?: number;
  /** Cancelled during a step's pass: the step never finished, and its time is not recorded. */
  abandoned?: true;
}

/** One generation's state as its steps advance it: the emitted tokens, their text, what was streamed. */
class Run {
  readonly result: GenerationResult;
  /** The prompt and every emitted token: what the next step drafts from. */
  readonly context: number[];
  readonly cancelled: () => boolean;
  /** Characters streamed so far (onText). */
  streamed = 0;
  /** Time spent paused for shorter requests (preemption): not this generation's decoding time. */
  pausedMs = 0;
  private readonly detokenizer: Detokenizer;
  private readonly stops: StopScanner;
  /** Token healing: the first tokens spell text the prompt dropped, which is not part of the completion. */
  private readonly hidden: number;

  constructor(prompt: readonly number[], readonly options: GenerateOptions, tokenizer: TokenText) {
    this.result = {
      strategy: options.strategy.name, tokens: [], text: '', stopReason: 'max-tokens', promptTokens: prompt.length,
      reusedPromptTokens: 0, prefillMs: 0, decodeMs: 0, yieldedMs: 0, forwardPasses: 0, treeNodes: 0,
      acceptedFromRetrieval: 0, acceptedFromJacobi: 0, acceptedFromNoise: 0, stepMs: [],
      steps: options.recordSteps ? [] : undefined,
    };
    this.context = [...prompt];
    this.cancelled = () => options.signal?.aborted === true || options.isCancelled?.() === true;
    this.detokenizer = new Detokenizer(tokenizer);
    this.stops = new StopScanner(options.stopRules);
    this.hidden = options.rule?.hiddenText.length ?? 0;
  }

  /** The token the next step's tree grows from: the last one of the context. */
  get root(): number {
    return this.context[this.context.length - 1];
  }

  /** A stop that needs no step: cancelled, enough tokens, or no cache row left. */
  stopBeforeStep(freeRows: number): Stop | null {
    if (this.cancelled()) return { reason: 'cancelled' };
    if (this.result.tokens.length >= this.options.maxTokens || freeRows < 1) return { reason: 'max-tokens' };
    return null;
  }

  /** Emits a step's accepted tokens up to the first stop (end of text, a stop string, max tokens). */
  emit(tokens: readonly number[], stopIds: ReadonlySet<number>): Stop | null {
    for (const token of tokens) {
      if (stopIds.has(token)) return { reason: 'eos' };
      this.result.tokens.push(token);
      this.context.push(token);
      this.detokenizer.push(token);
      const cut = this.stops.find(this.visibleText());
      if (cut >= 0) return { reason: 'stop-string', cut };
      if (this.result.tokens.length >= this.options.maxTokens) return { reason: 'max-tokens' };
    }
    return null;
  }

  /** Streams the text no stop rule can still take back. */
  streamText(): void {
    if (!this.options.onText) return;
    const text = this.visibleText();
    const stable = stableLength(text, this.options.stopRules);
    if (stable > this.streamed) {
      this.options.onText(text.slice(this.streamed, stable));
      this.streamed = stable;
    }
  }

  visibleText(): string {
    return this.detokenizer.text.slice(this.hidden);
  }

  finalText(): string {
    return this.detokenizer.finalText.slice(this.hidden);
  }
}

export class Generator {
  readonly cache: KvCache;
  /** Tokens whose KV rows fill the cache, in order (for prompt-prefix reuse). */
  private cachedTokens: number[] = [];
  private readonly stopIds: Set<number>;
  /** Reused input buffers: a 64-node tree's mask over a long past is ~0.5 MB per step. */
  private readonly treeInputs = new TreeInputsBuffer();
  /** Generations begun so far: a caller that kept one's result can tell whether the cache is still its. */
  private generationsBegun = 0;

  /** `now`: the clock every duration is measured with (a test's model can keep simulated time). */
  constructor(
    readonly model: ForwardModel, readonly tokenizer: TokenText, readonly config: GeneratorConfig,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.cache = new KvCache(config.numLayers, config.maxPositions, config.numKvHeads * config.headDim);
    // The end-of-text token ends a completion; so does any other special token (FIM
    // markers, padding), which never belongs in source text.
    this.stopIds = new Set([config.eosTokenId, ...tokenizer.allSpecialIds]);
  }

  /** One forward pass of two tokens over an empty cache; throws if the graph cannot run or its outputs have the wrong size. */
  async selfTest(): Promise<void> {
    const inputs = buildChainInputs([this.config.eosTokenId, this.config.eosTokenId], 0, this.config.maskValue);
    const out = await this.model.forward({ ...inputs, past: 0, pastKeys: this.cache.keys, pastValues: this.cache.values });
    const rowValues = 2 * this.cache.rowSize;
    for (const [i, keys] of out.newKeys.entries()) {
      if (keys.length !== rowValues || out.newValues[i].length !== rowValues) {
        throw new Error(`new_key_values.${i} has ${keys.length} values for 2 tokens, expected ${rowValues} (kv_heads x head_dim)`);
      }
    }
    if (out.logits.some((x) => Number.isNaN(x))) throw new Error('the logits contain NaN');
  }

  /**
   * How far (max abs logit) one token's logits move between a pass of `tokens` as one chain and the same
   * tokens one pass each. Tree decoding equals plain greedy only if that is float rounding: some CPU
   * kernels (quantized MatMul with int8 activations) take another path for a one-row pass. Leaves the
   * cache empty.
   */
  async passSizeDrift(tokens: readonly number[]): Promise<number> {
    this.invalidateCache();
    const whole = await this.model.forward({ ...buildChainInputs(tokens, 0, this.config.maskValue), past: 0, pastKeys: this.cache.keys, pastValues: this.cache.values });
    const vocab = whole.logits.length / tokens.length;
    let drift = 0;
    for (let i = 0; i < tokens.length; i++) {
      const out = await this.model.forward({ ...buildChainInputs([tokens[i]], i, this.config.maskValue), past: i, pastKeys: this.cache.keys, pastValues: this.cache.values });
      this.cache.appendRows(out.newKeys, out.newValues, [0]);
      for (let v = 0; v < vocab; v++) drift = Math.max(drift, Math.abs(out.logits[v] - whole.logits[i * vocab + v]));
    }
    this.invalidateCache();
    return drift;
  }

  /** Forgets the cached prompt (e.g. after the cache was used for calibration). */
  invalidateCache(): void {
    this.cache.reset();
    this.cachedTokens = [];
  }

  get generations(): number {
    return this.generationsBegun;
  }

  async generate(prompt: readonly number[], options: GenerateOptions): Promise<GenerationResult> {
    this.generationsBegun++;
    if (prompt.length === 0) throw new Error('empty prompt');
    if (prompt.length > this.cache.capacity) throw new Error(`prompt of ${prompt.length} tokens exceeds the context window (${this.cache.capacity})`);
    const run = new Run(prompt, options, this.tokenizer);
    const prefillStart = this.now();
    const prefilled = await this.prefill(prompt.slice(0, -1), run.cancelled, options.signal);
    run.result.prefillMs = this.now() - prefillStart;
    run.result.reusedPromptTokens = prefilled.reused;
    if (!prefilled.complete) {
      run.result.stopReason = 'cancelled';
      return run.result;
    }
    const decodeStart = this.now();
    options.strategy.begin(prompt);
    let stop: Stop | null = null;
    while (stop === null) {
      stop = run.stopBeforeStep(this.cache.free) ?? await this.resumeAfterPreemption(run);
      if (stop !== null) break;
      const stepStart = this.now();
      stop = await this.step(run);
      if (stop?.abandoned) break;
      if (stop === null) {
        run.streamText();
        await this.yieldToOtherWork(run);
      }
      // A step's time includes the yield: ar's loop pays it per token, a tree's per step.
      run.result.stepMs.push(this.now() - stepStart);
    }
    run.result.decodeMs = this.now() - decodeStart - run.pausedMs;
    return this.finish(run, stop);
  }

  /** Runs the shorter requests waiting on this generation, then puts its rows back; a stop if cancelled meanwhile. */
  private async resumeAfterPreemption(run: Run): Promise<Stop | null> {
    const preemption = run.options.preemption;
    if (!preemption?.pending) return null;
    // Decoding-time only: the pause and the re-prefill are not charged to this generation's speed.
    const paused = this.now();
    await preemption.runPending();
    const restored = await this.prefill(run.context.slice(0, -1), run.cancelled, run.options.signal);
    const pause = this.now() - paused;
    run.pausedMs += pause;
    run.options.strategy.exclude?.(pause);
    return restored.complete ? null : { reason: 'cancelled' };
  }

  /** One step: the strategy drafts a tree, one pass verifies it, the accepted tokens are emitted; a stop if one came. */
  private async step(run: Run): Promise<Stop | null> {
    const { strategy, maxTokens, signal, rule } = run.options;
    const stepStart = this.now();
    const root = run.root;
    let tree = strategy.draft(root, run.context, maxTokens - run.result.tokens.length);
    let draftMs = this.now() - stepStart;
    // Near the end of the context window a deep tree would run past max_positions.
    if (this.cache.length + maxDepth(tree) + 1 > this.cache.capacity) tree = rootOnlyTree(root);
    const past = this.cache.length;
    const acceptance = await this.verify(tree, run.result, signal, rule);
    if (!acceptance) return { reason: 'cancelled', abandoned: true };
    const observed = this.now();
    strategy.observe(acceptance.outcome);
    draftMs += this.now() - observed;
    run.result.steps?.push({ past, tree: { nodes: tree.nodes.map((node) => ({ ...node })) }, draftMs });
    return run.emit(acceptance.accepted.emitted, this.stopIds);
  }

  /** Lets other work of the process (protocol messages, corpus indexing) run; it is no step's cost. */
  private async yieldToOtherWork(run: Run): Promise<void> {
    const yielded = this.now();
    await yieldToEventLoop();
    const otherWorkMs = this.now() - yielded;
    run.result.yieldedMs += otherWorkMs;
    run.options.strategy.exclude?.(otherWorkMs);
  }

  /** The result's text and stop reason; the cache keeps the rows of the tokens it emitted. */
  private finish(run: Run, stop: Stop): GenerationResult {
    const { result } = run;
    result.stopReason = stop.reason;
    result.text = stop.cut !== undefined ? run.visibleText().slice(0, stop.cut) : run.finalText();
    if (run.options.onText && result.text.length > run.streamed) run.options.onText(result.text.slice(run.streamed));
    // The cache now holds prompt + accepted tokens minus the last root, and after a stop inside a step
    // the rows of tokens accepted past the stop, which are dropped: every row is one of cachedTokens.
    this.cachedTokens = run.context.slice(0, this.cache.length);
    this.cache.truncate(this.cachedTokens.length);
    return result;
  }

  /** The tokens whose KV rows the cache holds, in order. */
  get cachedPrefix(): readonly number[] {
    return this.cachedTokens;
  }

  /**
   * One forward pass over the cache's first `past` rows, or null when `signal` aborts first: the
   * pass is then abandoned and its outputs, when they come, are dropped. It still runs to its end
   * and reads the cache's rows meanwhile, and nothing may write them until it is done. That holds
   * because the cache is written only with a pass's outputs (appendRows, after `pass` returns), a
   * model runs its passes one at a time in call order (ForwardModel), and the next request's first
   * pass is called after this one: its outputs, and any write, come after the abandoned pass ended.
   * (WorkerModel even has the cache's buffers in its thread during a pass: a write would throw.)
   */
  private async pass(inputs: TreeInputs, past: number, signal: AbortSignal | undefined): Promise<ForwardOutputs | null> {
    if (signal?.aborted) return null;
    const outputs = this.model.forward({ ...inputs, past, pastKeys: this.cache.keys, pastValues: this.cache.values });
    return signal ? unlessAborted(outputs, signal) : outputs;
  }

  /** One forward pass over `tree`; commits the accepted path's KV rows. Null: cancelled during the pass, nothing committed. */
  private async verify(tree: DraftTreeView, result: GenerationResult, signal: AbortSignal | undefined, rule: NextTokenRule | undefined) {
    const past = this.cache.length;
    const inputs = this.treeInputs.build(tree, past, this.config.maskValue);
    const start = this.now();
    const out = await this.pass(inputs, past, signal);
    if (!out) return null;
    const forwardMs = this.now() - start;
    const q = tree.nodes.length;
    const vocab = this.config.vocabSize;
    const argmax = rule ? rule.alongTree(out.logits, tree.nodes, vocab, result.tokens) : argmaxAlongTree(out.logits, tree.nodes, vocab);
    const accepted: Acceptance = acceptGreedy(tree, argmax);
    this.cache.appendRows(out.newKeys, out.newValues, accepted.path);
    result.forwardPasses++;
    result.treeNodes += q;
    result.acceptedFromRetrieval += accepted.acceptedBySource.retrieval;
    result.acceptedFromJacobi += accepted.acceptedBySource.jacobi;
    result.acceptedFromNoise += accepted.acceptedBySource.noise;
    const logits = out.logits;
    return {
      accepted,
      outcome: { tree, acceptance: accepted, forwardMs, topK: (node: number, k: number) => topKOfRow(logits, node, vocab, k) },
    };
  }

  /**
   * Puts `tokens` into the KV cache, reusing the rows of the longest common prefix with
   * what the cache already holds. Returns complete=false when cancelled midway; the cache and
   * cachedTokens then hold the chunks whose passes returned, and no row of an abandoned pass.
   */
  private async prefill(tokens: readonly number[], cancelled: () => boolean, signal: AbortSignal | undefined): Promise<{ complete: boolean; reused: number }> {
    let common = 0;
    const limit = Math.min(tokens.length, this.cachedTokens.length, this.cache.length);
    while (common < limit && tokens[common] === this.cachedTokens[common]) common++;
    // A request cancelled before it starts must not cost the next one the rows it could reuse.
    if (cancelled() && common < tokens.length) return { complete: false, reused: common };
    this.cache.truncate(common);
    this.cachedTokens = this.cachedTokens.slice(0, common);
    for (let start = common; start < tokens.length; start += PREFILL_CHUNK) {
      if (cancelled()) return { complete: false, reused: common };
      const chunk = tokens.slice(start, start + PREFILL_CHUNK);
      const past = this.cache.length;
      const inputs = buildChainInputs(chunk, past, this.config.maskValue);
      const out = await this.pass(inputs, past, signal);
      if (!out) return { complete: false, reused: common };
      this.cache.appendRows(out.newKeys, out.newValues, chunk.map((_, i) => i));
      this.cachedTokens.push(...chunk);
      await yieldToEventLoop();
    }
    return { complete: true, reused: common };
  }
}
