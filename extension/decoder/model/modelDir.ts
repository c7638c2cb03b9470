// Loads a model directory (msn-onnx/1): msn.json, tokenizer.json, model.onnx.
// Every failure is a ModelInvalidError naming the file at fault.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelInvalidError } from './errors';
import { parseMsnConfig, type MsnConfig } from './msnConfig';
import { MIXTURE_FILE, parseMixtureWeights, type MixtureWeights } from '../mixture/mixtureWeights';
import type { ModelSession, SessionOpener, SessionSettings } from './onnxModel';
import { CodeTokenizer } from './tokenizer';

export const MODEL_FILES = ['msn.json', 'tokenizer.json', 'model.onnx'] as const;

export interface LoadedModel {
  dir: string;
  config: MsnConfig;
  tokenizer: CodeTokenizer;
  model: ModelSession;
  /** sha256 of model.onnx, hex; keys per-model caches (latency curve). */
  modelHash: string;
  /** The workspace mixture's weights (optional mixture.json); null: the model has none, the mixture is off. */
  mixture: MixtureWeights | null;
}

/** mixture.json when the folder has one; a malformed one is a broken model folder. */
function readMixture(dir: string): MixtureWeights | null {
  const full = path.join(dir, MIXTURE_FILE);
  if (!fs.existsSync(full)) return null;
  try {
    return parseMixtureWeights(JSON.parse(fs.readFileSync(full, 'utf8')));
  } catch (error) {
    throw new ModelInvalidError(MIXTURE_FILE, (error as Error).message.replace(/^mixture\.json /, ''));
  }
}

function readRequired(dir: string, file: string): Buffer {
  const full = path.join(dir, file);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(full);
  } catch {
    throw new ModelInvalidError(file, `missing in ${dir}`);
  }
  if (!stat.isFile()) throw new ModelInvalidError(file, `is not a file in ${dir}`);
  if (stat.size === 0) throw new ModelInvalidError(file, `is empty in ${dir}`);
  return fs.readFileSync(full);
}

/** `open` makes the session (OnnxModel.open in this thread, or a worker's); model.onnx is checked by it. */
export async function loadModelDir(dir: string, open: SessionOpener, settings: SessionSettings = {}): Promise<LoadedModel> {
  const absolute = path.resolve(dir);
  if (!fs.existsSync(absolute) || !fs.statSync(absolute).isDirectory()) {
    throw new ModelInvalidError(dir, 'is not a directory');
  }
  // Check all three exist before the slow parts, so the first error is the most useful one.
  const contents = new Map(MODEL_FILES.map((f) => [f, readRequired(absolute, f)]));
  const config = parseMsnConfig(contents.get('msn.json')!.toString('utf8'));
  const tokenizer = CodeTokenizer.fromJson(contents.get('tokenizer.json')!.toString('utf8'), config);
  const mixture = readMixture(absolute);
  const onnxBytes = contents.get('model.onnx')!;
  const modelHash = createHash('sha256').update(onnxBytes).digest('hex');
  const model = await open(path.join(absolute, 'model.onnx'), config, settings);
  return { dir: absolute, config, tokenizer, model, modelHash, mixture };
}
