// Enumerates every small draft tree: all parents-first shapes, all token labelings.

import type { DraftNode, DraftSource } from '../../../extension/decoder/draft/types';

/** Every parent array of `size` nodes with parent[i] < i (node 0 is the root). */
export function* treeShapes(size: number): Generator<number[]> {
  const parents = new Array<number>(size).fill(-1);
  function* fill(i: number): Generator<number[]> {
    if (i === size) {
      yield parents.slice();
      return;
    }
    for (let p = 0; p < i; p++) {
      parents[i] = p;
      yield* fill(i + 1);
    }
  }
  yield* fill(1);
}

/** Every assignment of `length` values from 0..alphabet-1. */
export function* assignments(length: number, alphabet: number): Generator<number[]> {
  const values = new Array<number>(length).fill(0);
  while (true) {
    yield values.slice();
    let i = 0;
    while (i < length && values[i] === alphabet - 1) values[i++] = 0;
    if (i === length) return;
    values[i]++;
  }
}

const SOURCES: DraftSource[] = ['jacobi', 'retrieval', 'noise'];

export function nodesOf(parents: number[], tokens: number[]): DraftNode[] {
  const nodes: DraftNode[] = [];
  for (let i = 0; i < parents.length; i++) {
    const parent = parents[i];
    nodes.push({
      token: tokens[i],
      parent,
      depth: parent === -1 ? 0 : nodes[parent].depth + 1,
      source: parent === -1 ? 'root' : SOURCES[i % SOURCES.length],
    });
  }
  return nodes;
}

export function isTrie(nodes: DraftNode[]): boolean {
  const seen = new Set<string>();
  for (let i = 1; i < nodes.length; i++) {
    const key = `${nodes[i].parent}:${nodes[i].token}`;
    if (seen.has(key)) return false;
    seen.add(key);
  }
  return true;
}

/** Ancestors of `node` plus itself, by walking parent links. */
export function ancestorsOrSelf(nodes: DraftNode[], node: number): Set<number> {
  const result = new Set<number>();
  for (let n = node; n !== -1; n = nodes[n].parent) result.add(n);
  return result;
}
