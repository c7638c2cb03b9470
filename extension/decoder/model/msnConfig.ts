// Parsing and validation of msn.json (format "msn-onnx/1"), pure: takes the file's text.
import { ModelInvalidError } from './errors';

export const MSN_FORMAT = 'msn-onnx/1';
const FILE = 'msn.json';

export interface FimTokens {
  prefix: string;
  suffix: string;
  middle: string;
  eot: string;
}

/** PSM: prefix, suffix, middle. SPM: suffix first, so a keystroke changes only the end of the prompt. */
export type FimOrder = 'psm' | 'spm';
export const FIM_ORDERS: readonly FimOrder[] = ['psm', 'spm'];

/** Qwen2.5-Coder's repo-level layout: `<|repo_name|>NAME\n<|file_sep|>PATH\nCONTENT\n...`. */
export interface RepoTokens {
  repoName: string;
  fileSep: string;
}

/** msn.json's `prompt` block: how the model was trained to be prompted (legacy files have only `fim`). */
export interface PromptFormat {
  fim: FimTokens;
  /** FIM orders the model was trained with, preferred first. */
  fimOrders: FimOrder[];
  repo: RepoTokens | null;
}

export interface MsnConfig {
  format: string;
  name: string;
  architecture: string;
  numLayers: number;
  numAttentionHeads: number;
  numKvHeads: number;
  headDim: number;
  hiddenSize: number;
  vocabSize: number;
  maxPositions: number;
  bosTokenId: number | null;
  eosTokenId: number;
  prompt: PromptFormat;
  maskValue: number;
  parameters?: number;
  training?: Record<string, unknown>;
}

function fail(detail: string): never {
  throw new ModelInvalidError(FILE, detail);
}

function positiveInt(obj: Record<string, unknown>, key: string): number {
  const v = obj[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) fail(`"${key}" must be a positive integer (got ${JSON.stringify(v)})`);
  return v;
}

function nonEmptyString(obj: Record<string, unknown>, key: string, where = ''): string {
  const v = obj[key];
  if (typeof v !== 'string' || v.length === 0) fail(`"${where}${key}" must be a non-empty string (got ${JSON.stringify(v)})`);
  return v;
}

function object(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`"${where}" must be an object`);
  return value as Record<string, unknown>;
}

function fimTokens(raw: unknown, where: string): FimTokens {
  const fim = object(raw, where);
  return {
    prefix: nonEmptyString(fim, 'prefix', `${where}.`),
    suffix: nonEmptyString(fim, 'suffix', `${where}.`),
    middle: nonEmptyString(fim, 'middle', `${where}.`),
    eot: nonEmptyString(fim, 'eot', `${where}.`),
  };
}

/** The `prompt` block, or the legacy top-level `fim` block (PSM only, no repo-level tokens). */
function parsePromptFormat(obj: Record<string, unknown>): PromptFormat {
  if (obj.prompt === undefined) {
    const legacy = object(obj.fim, 'fim');
    if (legacy.layout !== 'psm') fail(`"fim.layout" must be "psm" (got ${JSON.stringify(legacy.layout)})`);
    return { fim: fimTokens(legacy, 'fim'), fimOrders: ['psm'], repo: null };
  }
  const prompt = object(obj.prompt, 'prompt');
  const orders = prompt.fim_orders ?? ['psm'];
  if (!Array.isArray(orders) || orders.length === 0 || orders.some((o) => !FIM_ORDERS.includes(o as FimOrder))) {
    fail(`"prompt.fim_orders" must be a non-empty list of ${FIM_ORDERS.map((o) => `"${o}"`).join(' / ')} (got ${JSON.stringify(orders)})`);
  }
  let repo: RepoTokens | null = null;
  if (prompt.repo !== undefined && prompt.repo !== null) {
    const raw = object(prompt.repo, 'prompt.repo');
    repo = { repoName: nonEmptyString(raw, 'repo_name', 'prompt.repo.'), fileSep: nonEmptyString(raw, 'file_sep', 'prompt.repo.') };
  }
  return { fim: fimTokens(prompt.fim, 'prompt.fim'), fimOrders: [...new Set(orders as FimOrder[])], repo };
}

export function parseMsnConfig(text: string): MsnConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    fail(`not valid JSON (${(e as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('must be a JSON object');
  const obj = raw as Record<string, unknown>;
  if (obj.format !== MSN_FORMAT) fail(`"format" must be "${MSN_FORMAT}" (got ${JSON.stringify(obj.format)})`);

  const prompt = parsePromptFormat(obj);

  const bos = obj.bos_token_id;
  if (bos !== null && bos !== undefined && (typeof bos !== 'number' || !Number.isInteger(bos) || bos < 0)) {
    fail('"bos_token_id" must be null or a non-negative integer');
  }
  const eos = obj.eos_token_id;
  if (typeof eos !== 'number' || !Number.isInteger(eos) || eos < 0) fail('"eos_token_id" must be a non-negative integer');
  const maskValue = obj.mask_value ?? -1e9;
  if (typeof maskValue !== 'number' || !Number.isFinite(maskValue) || maskValue >= 0) {
    fail('"mask_value" must be a finite negative number (-inf gives NaN on fully masked rows)');
  }

  const config: MsnConfig = {
    format: MSN_FORMAT,
    name: typeof obj.name === 'string' ? obj.name : 'unnamed',
    architecture: typeof obj.architecture === 'string' ? obj.architecture : 'llama',
    numLayers: positiveInt(obj, 'num_layers'),
    numAttentionHeads: positiveInt(obj, 'num_attention_heads'),
    numKvHeads: positiveInt(obj, 'num_kv_heads'),
    headDim: positiveInt(obj, 'head_dim'),
    hiddenSize: positiveInt(obj, 'hidden_size'),
    vocabSize: positiveInt(obj, 'vocab_size'),
    maxPositions: positiveInt(obj, 'max_positions'),
    bosTokenId: typeof bos === 'number' ? bos : null,
    eosTokenId: eos,
    prompt,
    maskValue,
    parameters: typeof obj.parameters === 'number' ? obj.parameters : undefined,
    training: typeof obj.training === 'object' && obj.training !== null ? (obj.training as Record<string, unknown>) : undefined,
  };
  if (config.eosTokenId >= config.vocabSize) fail(`"eos_token_id" ${config.eosTokenId} is outside the vocabulary (${config.vocabSize})`);
  if (config.numAttentionHeads % config.numKvHeads !== 0) fail('"num_attention_heads" must be a multiple of "num_kv_heads"');
  return config;
}
