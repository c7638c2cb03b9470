// Checks that an ONNX graph's inputs and outputs follow the msn-onnx/1 contract for a
// given msn.json (names per layer, kv heads, head dim, vocab). Pure: takes metadata.
import { ModelInvalidError } from './errors';
import type { MsnConfig } from './msnConfig';

const FILE = 'model.onnx';

export interface ValueInfo {
  name: string;
  /** Numeric dims are fixed sizes; strings are symbolic (dynamic) axes. Empty when unknown. */
  shape: ReadonlyArray<number | string>;
}

export const pastKeyName = (layer: number): string => `past_key_values.${layer}.key`;
export const pastValueName = (layer: number): string => `past_key_values.${layer}.value`;
export const newKeyName = (layer: number): string => `new_key_values.${layer}.key`;
export const newValueName = (layer: number): string => `new_key_values.${layer}.value`;

function expectDims(info: ValueInfo, expected: ReadonlyArray<number | null>, what: string): void {
  if (info.shape.length === 0) return; // shape not recorded in the graph: nothing to check
  if (info.shape.length !== expected.length) {
    throw new ModelInvalidError(FILE, `${info.name} has rank ${info.shape.length}, expected ${expected.length} (${what})`);
  }
  expected.forEach((size, axis) => {
    const actual = info.shape[axis];
    if (size !== null && typeof actual === 'number' && actual !== size) {
      throw new ModelInvalidError(FILE, `${info.name} axis ${axis} is ${actual}, msn.json says ${size} (${what})`);
    }
  });
}

export function checkGraphContract(inputs: readonly ValueInfo[], outputs: readonly ValueInfo[], config: MsnConfig): void {
  const byName = (list: readonly ValueInfo[]) => new Map(list.map((v) => [v.name, v]));
  const ins = byName(inputs);
  const outs = byName(outputs);
  const need = (map: Map<string, ValueInfo>, name: string, kind: string): ValueInfo => {
    const v = map.get(name);
    if (!v) throw new ModelInvalidError(FILE, `missing ${kind} "${name}" (msn.json num_layers=${config.numLayers})`);
    return v;
  };
  const kv = [1, null, config.numKvHeads, config.headDim];
  expectDims(need(ins, 'input_ids', 'input'), [1, null], '[1, q]');
  expectDims(need(ins, 'position_ids', 'input'), [1, null], '[1, q]');
  expectDims(need(ins, 'attention_mask', 'input'), [1, 1, null, null], '[1, 1, q, past + q]');
  expectDims(need(outs, 'logits', 'output'), [1, null, config.vocabSize], '[1, q, vocab_size]');
  for (let layer = 0; layer < config.numLayers; layer++) {
    for (const name of [pastKeyName(layer), pastValueName(layer)]) expectDims(need(ins, name, 'input'), kv, '[1, past, kv_heads, head_dim]');
    for (const name of [newKeyName(layer), newValueName(layer)]) expectDims(need(outs, name, 'output'), kv, '[1, q, kv_heads, head_dim]');
  }
  const extraPast = pastKeyName(config.numLayers);
  if (ins.has(extraPast)) throw new ModelInvalidError(FILE, `has input "${extraPast}" but msn.json says num_layers=${config.numLayers}`);
  const known = new Set(['input_ids', 'position_ids', 'attention_mask']);
  for (let layer = 0; layer < config.numLayers; layer++) { known.add(pastKeyName(layer)); known.add(pastValueName(layer)); }
  const unknown = inputs.filter((v) => !known.has(v.name));
  if (unknown.length > 0) throw new ModelInvalidError(FILE, `unexpected inputs: ${unknown.map((v) => v.name).join(', ')}`);
}
