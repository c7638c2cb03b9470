// The ONNX Runtime session of a msn-onnx/1 model: one forward pass over q query tokens
// against the first `past` rows of the KV cache (passed as zero-copy views). It runs in the
// thread that calls it; the decoding process runs it in a worker thread (workerModel.ts).
import * as ort from 'onnxruntime-node';
import { ModelInvalidError } from './errors';
import { checkGraphContract, newKeyName, newValueName, pastKeyName, pastValueName, type ValueInfo } from './graphContract';
import type { MsnConfig } from './msnConfig';

export interface SessionSettings {
  /** Intra-op threads; 1 by default (the editor shares the CPU, measured: docs/architecture.md). */
  threads?: number;
  /** Busy-waiting threads burn CPU the editor needs; off by default. */
  allowSpinning?: boolean;
}

export interface ForwardInputs {
  inputIds: BigInt64Array;      // [q]
  positionIds: BigInt64Array;   // [q]
  attentionMask: Float32Array;  // [q, past + q]
  past: number;
  /**
   * Per layer: the cache's own arrays; their first `past` rows are passed. A worker-backed
   * model moves their buffers to its thread for the pass (the arrays read as empty meanwhile)
   * and puts the arrays it gets back into these same lists when the pass ends.
   */
  pastKeys: Float32Array[];
  pastValues: Float32Array[];
}

export interface ForwardOutputs {
  logits: Float32Array;          // [q, vocab]
  newKeys: Float32Array[];       // per layer [q, kv_heads, head_dim]
  newValues: Float32Array[];
}

/** A loaded model: OnnxModel in the calling thread, or WorkerModel in a worker thread. */
export interface ModelSession {
  /** Passes run one at a time, in call order. */
  forward(inputs: ForwardInputs): Promise<ForwardOutputs>;
  release(): Promise<void>;
}

/** Opens model.onnx as a session (OnnxModel.open, or a worker-backed opener). */
export type SessionOpener = (modelPath: string, config: MsnConfig, settings: SessionSettings) => Promise<ModelSession>;

function describe(meta: readonly ort.InferenceSession.ValueMetadata[]): ValueInfo[] {
  return meta.map((m) => ({ name: m.name, shape: m.isTensor ? m.shape : [] }));
}

export class OnnxModel implements ModelSession {
  private readonly rowSize: number;

  private constructor(private readonly session: ort.InferenceSession, readonly config: MsnConfig, readonly threads: number) {
    this.rowSize = config.numKvHeads * config.headDim;
  }

  static async open(modelPath: string, config: MsnConfig, settings: SessionSettings = {}): Promise<OnnxModel> {
    const threads = Math.max(1, Math.floor(settings.threads ?? 1));
    const options: ort.InferenceSession.SessionOptions = {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      extra: { session: { intra_op: { allow_spinning: settings.allowSpinning ? '1' : '0' } } },
    };
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(modelPath, options);
    } catch (e) {
      throw new ModelInvalidError('model.onnx', `ONNX Runtime cannot load it (${(e as Error).message})`);
    }
    try {
      checkGraphContract(describe(session.inputMetadata), describe(session.outputMetadata), config);
    } catch (e) {
      await session.release();
      throw e;
    }
    return new OnnxModel(session, config, threads);
  }

  async forward(inputs: ForwardInputs): Promise<ForwardOutputs> {
    const q = inputs.inputIds.length;
    const { numLayers, numKvHeads, headDim, vocabSize } = this.config;
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', inputs.inputIds, [1, q]),
      position_ids: new ort.Tensor('int64', inputs.positionIds, [1, q]),
      attention_mask: new ort.Tensor('float32', inputs.attentionMask, [1, 1, q, inputs.past + q]),
    };
    const pastLength = inputs.past * this.rowSize;
    for (let layer = 0; layer < numLayers; layer++) {
      // subarray shares the cache's memory: no copy of the past on the JS side.
      feeds[pastKeyName(layer)] = new ort.Tensor('float32', inputs.pastKeys[layer].subarray(0, pastLength), [1, inputs.past, numKvHeads, headDim]);
      feeds[pastValueName(layer)] = new ort.Tensor('float32', inputs.pastValues[layer].subarray(0, pastLength), [1, inputs.past, numKvHeads, headDim]);
    }
    const out = await this.session.run(feeds);
    const logits = out.logits.data as Float32Array;
    if (logits.length !== q * vocabSize) throw new Error(`logits have ${logits.length} values, expected ${q} x ${vocabSize}`);
    const newKeys: Float32Array[] = [];
    const newValues: Float32Array[] = [];
    for (let layer = 0; layer < numLayers; layer++) {
      newKeys.push(out[newKeyName(layer)].data as Float32Array);
      newValues.push(out[newValueName(layer)].data as Float32Array);
    }
    return { logits, newKeys, newValues };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
