// Validation of request params (the envelope is checked by protocol.parseRequest).
// Each validator returns the typed params or a message for an 'invalid-params' error.
import { MAX_REQUEST_TOKENS, MAX_TREE_BUDGET } from '../limits';
import { STRATEGIES, type Method, type RequestParams } from '../protocol';

export type Validated<M extends Method> = { ok: true; params: RequestParams[M] } | { ok: false; message: string };

type Obj = Record<string, unknown>;

class ParamsError extends Error {}

function fail(message: string): never {
  throw new ParamsError(message);
}

function string(obj: Obj, key: string, optional = false): string | undefined {
  const v = obj[key];
  if (v === undefined && optional) return undefined;
  if (typeof v !== 'string') fail(`"${key}" must be a string`);
  return v;
}

function integer(obj: Obj, key: string, min: number, max: number, optional = false): number | undefined {
  const v = obj[key];
  if (v === undefined && optional) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(`"${key}" must be an integer in [${min}, ${max}]`);
  return v;
}

function decodeOptions(obj: Obj) {
  const maxTokens = integer(obj, 'maxTokens', 1, MAX_REQUEST_TOKENS)!;
  const strategy = obj.strategy;
  if (strategy !== undefined && !(STRATEGIES as readonly unknown[]).includes(strategy)) {
    fail(`"strategy" must be one of ${STRATEGIES.join(', ')}`);
  }
  const treeBudget = integer(obj, 'treeBudget', 0, MAX_TREE_BUDGET, true);
  const stop = obj.stop;
  if (stop !== undefined && (!Array.isArray(stop) || stop.some((s) => typeof s !== 'string' || s.length === 0))) {
    fail('"stop" must be a list of non-empty strings');
  }
  return { maxTokens, strategy: strategy as RequestParams['complete']['strategy'], treeBudget, stop: stop as string[] | undefined };
}

function documents(obj: Obj) {
  const docs = obj.documents;
  if (!Array.isArray(docs)) fail('"documents" must be a list of {uri, text}');
  return docs.map((d, i) => {
    if (typeof d !== 'object' || d === null || typeof d.uri !== 'string' || d.uri.length === 0 || typeof d.text !== 'string') {
      fail(`documents[${i}] must be {uri: non-empty string, text: string}`);
    }
    if (d.path !== undefined && typeof d.path !== 'string') fail(`documents[${i}].path must be a string`);
    if (d.repoName !== undefined && typeof d.repoName !== 'string') fail(`documents[${i}].repoName must be a string`);
    return {
      uri: d.uri as string, text: d.text as string,
      ...(d.path !== undefined ? { path: d.path as string } : {}), ...(d.repoName !== undefined ? { repoName: d.repoName as string } : {}),
    };
  });
}

function location(obj: Obj) {
  return { uri: string(obj, 'uri', true), path: string(obj, 'path', true), repoName: string(obj, 'repoName', true) };
}

const validators: { [M in Method]: (p: Obj) => RequestParams[M] } = {
  load: (p) => ({ modelDir: string(p, 'modelDir')!, threads: integer(p, 'threads', 1, 64, true) }),
  complete: (p) => {
    const mode = p.mode;
    if (mode !== 'line' && mode !== 'block') fail('"mode" must be "line" or "block"');
    return { prefix: string(p, 'prefix')!, suffix: string(p, 'suffix')!, mode, ...decodeOptions(p), ...location(p) };
  },
  generate: (p) => ({ prefix: string(p, 'prefix')!, suffix: string(p, 'suffix', true), ...decodeOptions(p), ...location(p) }),
  cancel: (p) => ({ requestId: integer(p, 'requestId', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)! }),
  'corpus.upsert': (p) => ({ documents: documents(p) }),
  'corpus.remove': (p) => {
    const uris = p.uris;
    if (!Array.isArray(uris) || uris.some((u) => typeof u !== 'string')) fail('"uris" must be a list of strings');
    return { uris: uris as string[] };
  },
  stats: () => ({}),
  shutdown: () => ({}),
};

export function validateParams<M extends Method>(method: M, params: unknown): Validated<M> {
  try {
    return { ok: true, params: validators[method](params as Obj) as RequestParams[M] };
  } catch (e) {
    if (e instanceof ParamsError) return { ok: false, message: `${method}: ${e.message}` };
    throw e;
  }
}
