// The model's tokenizer (tokenizer.json through @huggingface/tokenizers, pure JS).
// Plain text never yields special-token ids: the FIM markers and the end-of-text token
// are placed by id, so a file that happens to contain "<|endoftext|>" cannot end a prompt.
import { Tokenizer } from '@huggingface/tokenizers';
import { ModelInvalidError } from './errors';
import type { MsnConfig } from './msnConfig';

const FILE = 'tokenizer.json';

export interface SpecialTokenIds {
  fimPrefix: number;
  fimSuffix: number;
  fimMiddle: number;
  eot: number;
  /** Repo-level layout tokens, when msn.json declares them. */
  repoName?: number;
  fileSep?: number;
}

type JsonObject = { [key: string]: unknown };

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The library's Digits pre-tokenizer splits on JS `\d` (ASCII 0-9 only), the reference (Rust
 * `tokenizers`) on every Unicode number (char::is_numeric), so StarCoder's and DeepSeek-Coder's
 * tokenizers cut "4 ½" differently from the model's own. The same split as a regex keeps the reference's.
 */
function digitsAsSplit(node: JsonObject): JsonObject {
  const individual = node.individual_digits === true;
  return { type: 'Split', pattern: { Regex: individual ? '\\p{N}' : '\\p{N}+' }, behavior: 'Isolated', invert: false };
}

function patchPreTokenizer(node: unknown): unknown {
  if (!isObject(node)) return node;
  if (node.type === 'Digits') return digitsAsSplit(node);
  if (node.type === 'Sequence' && Array.isArray(node.pretokenizers)) {
    return { ...node, pretokenizers: node.pretokenizers.map(patchPreTokenizer) };
  }
  return node;
}

/** tokenizer.json's text as a library tokenizer; ModelInvalidError names what is wrong. */
function loadTokenizer(text: string): Tokenizer {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ModelInvalidError(FILE, `not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(json)) throw new ModelInvalidError(FILE, 'is not a JSON object');
  try {
    return new Tokenizer('pre_tokenizer' in json ? { ...json, pre_tokenizer: patchPreTokenizer(json.pre_tokenizer) } : json, {});
  } catch (e) {
    throw new ModelInvalidError(FILE, `not a tokenizer the library can load (${(e as Error).message})`);
  }
}

/** Plain-text encoding and decoding of any tokenizer.json, before msn.json gives tokens their roles. */
export class TextTokenizer {
  private readonly specialStrings: string[];
  /** Ids of every special added token and role token (FIM markers, end-of-text, padding, ...). */
  readonly allSpecialIds: ReadonlySet<number>;

  /** `roleIds`: the tokens msn.json gives a role, kept out of plain text even if not marked special. */
  protected constructor(protected readonly tokenizer: Tokenizer, roleIds: Iterable<number> = []) {
    const roles = new Set(roleIds);
    // DeepSeek-Coder's FIM markers are added tokens not marked special: the library would match them in text.
    const specials = [...tokenizer.get_added_tokens_decoder().values()].filter((t) => t.special || roles.has(t.id));
    this.specialStrings = specials.map((t) => t.content).filter((s) => s.length > 1);
    this.allSpecialIds = new Set([...specials.map((t) => t.id), ...roles]);
  }

  static fromText(text: string): TextTokenizer {
    return new TextTokenizer(loadTokenizer(text));
  }

  /** Token ids of plain text; never contains a special-token id. */
  encode(text: string): number[] {
    if (text.length === 0) return [];
    const ids: number[] = [];
    let rest = text;
    for (;;) {
      const hit = this.firstSpecialString(rest);
      if (!hit) break;
      this.encodeInto(rest.slice(0, hit.index), ids);
      // Encode the marker's text as two ordinary pieces so it stays plain text.
      this.encodeInto(hit.text.slice(0, 1), ids);
      this.encodeInto(hit.text.slice(1), ids);
      rest = rest.slice(hit.index + hit.text.length);
    }
    this.encodeInto(rest, ids);
    return ids;
  }

  decode(ids: readonly number[]): string {
    if (ids.length === 0) return '';
    return this.tokenizer.decode(ids as number[], { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }

  private encodeInto(text: string, out: number[]): void {
    if (text.length === 0) return;
    for (const id of this.tokenizer.encode(text, { add_special_tokens: false }).ids) out.push(id);
  }

  private firstSpecialString(text: string): { index: number; text: string } | null {
    let best: { index: number; text: string } | null = null;
    for (const s of this.specialStrings) {
      const index = text.indexOf(s);
      if (index >= 0 && (best === null || index < best.index)) best = { index, text: s };
    }
    return best;
  }
}

/** A TextTokenizer whose FIM, end-of-text and repo-level tokens are the ones msn.json names. */
export class CodeTokenizer extends TextTokenizer {
  private constructor(
    tokenizer: Tokenizer,
    readonly special: SpecialTokenIds,
    readonly vocabSize: number,
  ) {
    super(tokenizer, Object.values(special));
  }

  /** Builds the tokenizer from tokenizer.json's text and checks it against msn.json. */
  static fromJson(text: string, config: MsnConfig): CodeTokenizer {
    const tokenizer = loadTokenizer(text);
    const idOf = (token: string, role: string): number => {
      const id = tokenizer.token_to_id(token);
      if (id === undefined) throw new ModelInvalidError(FILE, `has no token ${JSON.stringify(token)} (msn.json ${role})`);
      if (id >= config.vocabSize) throw new ModelInvalidError(FILE, `token ${JSON.stringify(token)} has id ${id} >= vocab_size ${config.vocabSize}`);
      return id;
    };
    const { fim, repo } = config.prompt;
    const special: SpecialTokenIds = {
      fimPrefix: idOf(fim.prefix, 'fim prefix'),
      fimSuffix: idOf(fim.suffix, 'fim suffix'),
      fimMiddle: idOf(fim.middle, 'fim middle'),
      eot: idOf(fim.eot, 'fim eot'),
      ...(repo ? { repoName: idOf(repo.repoName, 'repo name'), fileSep: idOf(repo.fileSep, 'file separator') } : {}),
    };
    if (special.eot !== config.eosTokenId) {
      throw new ModelInvalidError('msn.json', `eos_token_id ${config.eosTokenId} is not the id of ${fim.eot} in tokenizer.json (${special.eot})`);
    }
    return new CodeTokenizer(tokenizer, special, config.vocabSize);
  }
}
