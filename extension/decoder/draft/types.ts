// Contract between the draft side (tree, acceptance, retrieval, planning: pure code)
// and the runtime side (model, KV cache, decoding loop). Pure types only.

import type { StrategyName } from '../../protocol';

/** Where a draft token came from; used for acceptance statistics and the stats view. */
export type DraftSource = 'root' | 'jacobi' | 'retrieval' | 'noise';

/**
 * One node of a draft tree. Node 0 is the root: the last emitted token, which is not
 * yet in the KV cache. Every other node is a guess for the token after its parent.
 * Nodes are stored parents-first (parent < index), so a node's depth is parent depth + 1.
 */
export interface DraftNode {
  token: number;
  parent: number; // -1 for the root
  depth: number;  // 0 for the root
  source: DraftSource;
}

/** Inputs of one forward pass for a tree, in the msn-onnx/1 layout (docs/model-contract.md). */
export interface TreeInputs {
  inputIds: BigInt64Array;      // [q]
  positionIds: BigInt64Array;   // [q]  past + depth
  attentionMask: Float32Array;  // [q, past + q] additive: 0 allowed, MASKED (-1e9) not
}

/** Result of greedy verification of a tree against the model's argmax at every node. */
export interface Acceptance {
  /** Node indexes of the accepted path, starting with the root (0). Their KV rows are kept. */
  path: number[];
  /** Tokens emitted this step: the argmax at each path node (accepted drafts + the bonus). */
  emitted: number[];
  /** Accepted draft tokens per source (the bonus token is not a draft). */
  acceptedBySource: Record<'jacobi' | 'retrieval' | 'noise', number>;
}

/** What the runtime tells the strategy after every forward pass. */
export interface StepOutcome {
  tree: DraftTreeView;
  acceptance: Acceptance;
  /** Top-k token ids (best first) of the logits at a node of this step's tree. */
  topK(node: number, k: number): Int32Array;
  /** Wall time of the forward pass, ms (for online latency statistics). */
  forwardMs: number;
}

export interface DraftTreeView {
  readonly nodes: readonly DraftNode[];
}

/**
 * A decoding strategy decides only what is *checked* each step (the draft tree);
 * what is emitted is always the model's greedy choice, so every strategy is lossless.
 */
export interface DraftStrategy {
  readonly name: StrategyName;
  /** Called once per request with the prompt tokens, before the first draft. */
  begin(promptTokens: readonly number[]): void;
  /**
   * The tree to verify next; `context` is prompt + emitted tokens so far (ends with root) and
   * `tokensLeft` how many more the request may emit (nodes deeper than tokensLeft - 1 are wasted).
   */
  draft(root: number, context: readonly number[], tokensLeft?: number): DraftTreeView;
  /** Feedback after the forward pass of the tree returned by the last `draft`. */
  observe(outcome: StepOutcome): void;
  /** Time between steps spent on other work (the event loop, a preempting request), not to be charged to a tree. */
  exclude?(ms: number): void;
}
