// Forward-pass inputs for a plain chain of tokens (prefill, calibration): causal mask
// over `past` cached rows plus the chain itself, positions past .. past+q-1.

import type { TreeInputs } from '../draft/types';

export function buildChainInputs(tokens: readonly number[], past: number, maskValue: number): TreeInputs {
  const q = tokens.length;
  const width = past + q;
  const inputIds = new BigInt64Array(q);
  const positionIds = new BigInt64Array(q);
  const attentionMask = new Float32Array(q * width);
  for (let i = 0; i < q; i++) {
    inputIds[i] = BigInt(tokens[i]);
    positionIds[i] = BigInt(past + i);
    // Row i sees the past and chain tokens 0..i; the rest is masked.
    attentionMask.fill(maskValue, i * width + past + i + 1, (i + 1) * width);
  }
  return { inputIds, positionIds, attentionMask };
}
