// The draft tree of one decoding step and the model inputs that verify it.
// A tree is a trie of draft tokens under the root (the last emitted token, not yet in
// the KV cache): two children of one node never carry the same token, so merging
// several drafts never checks the same continuation twice.

import type { DraftNode, DraftSource, DraftTreeView, TreeInputs } from './types';

export const DEFAULT_MASK_VALUE = -1e9;

const NONE = -1;

export class DraftTree implements DraftTreeView {
  readonly nodes: DraftNode[] = [];
  /** Upper bound on the number of nodes, root included. */
  maxNodes: number;
  // First-child / next-sibling links: trees are small (tens of nodes), so a linear
  // scan of a node's children beats hashing and needs no per-step allocation.
  private firstChildOf: Int32Array;
  private nextSiblingOf: Int32Array;
  private lastChildOf: Int32Array;

  constructor(root: number, maxNodes = Number.POSITIVE_INFINITY) {
    if (!(maxNodes >= 1)) throw new RangeError(`maxNodes must be at least 1, got ${maxNodes}`);
    this.maxNodes = maxNodes;
    const initialCapacity = Number.isFinite(maxNodes) ? Math.min(maxNodes, 1024) : 64;
    this.firstChildOf = new Int32Array(initialCapacity);
    this.nextSiblingOf = new Int32Array(initialCapacity);
    this.lastChildOf = new Int32Array(initialCapacity);
    this.reset(root);
  }

  /** Empties the tree down to a new root; keeps the buffers (one tree is reused per step). */
  reset(root: number, maxNodes = this.maxNodes): this {
    if (!(maxNodes >= 1)) throw new RangeError(`maxNodes must be at least 1, got ${maxNodes}`);
    this.maxNodes = maxNodes;
    this.nodes.length = 0;
    this.pushNode(root, NONE, 0, 'root');
    return this;
  }

  get size(): number {
    return this.nodes.length;
  }

  get root(): number {
    return this.nodes[0].token;
  }

  get isFull(): boolean {
    return this.nodes.length >= this.maxNodes;
  }

  /** The child of `parent` that carries `token`, or -1. */
  childWithToken(parent: number, token: number): number {
    for (let child = this.firstChildOf[parent]; child !== NONE; child = this.nextSiblingOf[child]) {
      if (this.nodes[child].token === token) return child;
    }
    return NONE;
  }

  /** First child in insertion order, or -1. Planners insert the most promising child first. */
  firstChild(node: number): number {
    return this.firstChildOf[node];
  }

  nextSibling(node: number): number {
    return this.nextSiblingOf[node];
  }

  /**
   * The child of `parent` with `token`: the existing one (its source stays), else a new
   * node, else -1 when the tree is full.
   */
  addChild(parent: number, token: number, source: DraftSource): number {
    if (parent < 0 || parent >= this.nodes.length) throw new RangeError(`no node ${parent}`);
    const existing = this.childWithToken(parent, token);
    if (existing !== NONE) return existing;
    if (this.isFull) return NONE;
    return this.pushNode(token, parent, this.nodes[parent].depth + 1, source);
  }

  /**
   * Merges a path of draft tokens below `from` (the root by default). A shared prefix is
   * not duplicated. Stops when the budget is reached. Returns the number of new nodes.
   */
  addPath(tokens: ArrayLike<number>, source: DraftSource, from = 0): number {
    let added = 0;
    let node = from;
    for (let i = 0; i < tokens.length; i++) {
      const before = this.nodes.length;
      node = this.addChild(node, tokens[i], source);
      if (node === NONE) break;
      added += this.nodes.length - before;
    }
    return added;
  }

  private pushNode(token: number, parent: number, depth: number, source: DraftSource): number {
    if (!Number.isInteger(token) || token < 0) throw new RangeError(`token ids are non-negative integers, got ${token}`);
    const index = this.nodes.length;
    this.ensureCapacity(index + 1);
    this.nodes.push({ token, parent, depth, source });
    this.firstChildOf[index] = NONE;
    this.nextSiblingOf[index] = NONE;
    this.lastChildOf[index] = NONE;
    if (parent !== NONE) {
      const last = this.lastChildOf[parent];
      if (last === NONE) this.firstChildOf[parent] = index;
      else this.nextSiblingOf[last] = index;
      this.lastChildOf[parent] = index;
    }
    return index;
  }

  private ensureCapacity(needed: number): void {
    if (needed <= this.firstChildOf.length) return;
    const capacity = Math.max(needed, this.firstChildOf.length * 2);
    const grow = (old: Int32Array): Int32Array => {
      const bigger = new Int32Array(capacity);
      bigger.set(old);
      return bigger;
    };
    this.firstChildOf = grow(this.firstChildOf);
    this.nextSiblingOf = grow(this.nextSiblingOf);
    this.lastChildOf = grow(this.lastChildOf);
  }
}

/**
 * Builds the msn-onnx/1 inputs for verifying a tree on top of `pastLength` cached tokens:
 * input ids in node order, position ids past + depth, and an additive mask [q, past + q]
 * where every node sees all cached rows and, among the tree rows, only its ancestors and
 * itself. Into buffers reused from step to step: the mask of a 64-node tree over a
 * 2k-token past is half a megabyte, not worth allocating per step. The returned arrays
 * are views of exactly the needed length (offset 0), valid until the next build.
 */
export class TreeInputsBuffer {
  private ids = new BigInt64Array(64);
  private positions = new BigInt64Array(64);
  private mask = new Float32Array(64 * 1024);

  build(tree: DraftTreeView, pastLength: number, maskValue = DEFAULT_MASK_VALUE): TreeInputs {
    const q = tree.nodes.length;
    const maskLength = q * (pastLength + q);
    if (this.ids.length < q) {
      this.ids = new BigInt64Array(2 * q);
      this.positions = new BigInt64Array(2 * q);
    }
    if (this.mask.length < maskLength) this.mask = new Float32Array(2 * maskLength);
    const inputs = {
      inputIds: this.ids.subarray(0, q),
      positionIds: this.positions.subarray(0, q),
      attentionMask: this.mask.subarray(0, maskLength),
    };
    fillTreeInputs(tree, pastLength, maskValue, inputs);
    return inputs;
  }
}

function fillTreeInputs(tree: DraftTreeView, pastLength: number, maskValue: number, out: TreeInputs): void {
  if (!Number.isInteger(pastLength) || pastLength < 0) throw new RangeError(`pastLength must be a non-negative integer, got ${pastLength}`);
  const nodes = tree.nodes;
  const q = nodes.length;
  const width = pastLength + q;
  const { inputIds, positionIds, attentionMask } = out;
  for (let i = 0; i < q; i++) {
    const node = nodes[i];
    if (i === 0 ? node.parent !== NONE : !(node.parent >= 0 && node.parent < i)) {
      throw new RangeError(`node ${i} must come after its parent (parent ${node.parent})`);
    }
    const expectedDepth = node.parent === NONE ? 0 : nodes[node.parent].depth + 1;
    if (node.depth !== expectedDepth) throw new RangeError(`node ${i} has depth ${node.depth}, expected ${expectedDepth}`);
    inputIds[i] = BigInt(node.token);
    positionIds[i] = BigInt(pastLength + node.depth);
    const row = i * width;
    // Every cached row is visible. Tree part: inherit the parent's row, then see itself.
    attentionMask.fill(0, row, row + pastLength);
    if (node.parent === NONE) {
      attentionMask.fill(maskValue, row + pastLength, row + width);
    } else {
      const parentRow = node.parent * width;
      attentionMask.copyWithin(row + pastLength, parentRow + pastLength, parentRow + width);
    }
    attentionMask[row + pastLength + i] = 0;
  }
}
