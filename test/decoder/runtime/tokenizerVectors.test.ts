// llama.cpp's tokenizer test vectors (models/ggml-vocab-NAME.gguf.inp/.out) for the tokenizers of the
// code models people run, encoded by our tokenizer class. scripts/setup.sh writes the files
// (python -m training.tokenizer_vectors, which first checks them against the Rust `tokenizers`);
// a missing file fails here rather than skipping, since every test run starts with setup.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseMsnConfig } from '../../../extension/decoder/model/msnConfig';
import { CodeTokenizer, TextTokenizer, type SpecialTokenIds } from '../../../extension/decoder/model/tokenizer';

const VECTORS_DIR = path.resolve(__dirname, '../../../.cache/tokenizer-vectors');
const VOCABS = ['qwen2', 'deepseek-coder', 'starcoder', 'llama-bpe'] as const;
const SEPARATOR = '\n__ggml_vocab_test__\n'; // what test-tokenizer-0.cpp splits the .inp file on
const FIXTURE_MSN = path.resolve(__dirname, '../../fixtures/tiny-model/msn.json');

/** msn.json's prompt block as the exporter writes it for these tokenizers (test/training/test_tokenizer_vectors.py). */
const PROMPTS = {
  'deepseek-coder': {
    fim: { prefix: '<\uff5cfim\u2581begin\uff5c>', suffix: '<\uff5cfim\u2581hole\uff5c>', middle: '<\uff5cfim\u2581end\uff5c>', eot: '<\uff5cend\u2581of\u2581sentence\uff5c>' },
    fim_orders: ['psm'],
    repo: null,
    ids: { fimPrefix: 32016, fimSuffix: 32015, fimMiddle: 32017, eot: 32014 },
  },
  starcoder: {
    fim: { prefix: '<fim_prefix>', suffix: '<fim_suffix>', middle: '<fim_middle>', eot: '<|endoftext|>' },
    fim_orders: ['spm', 'psm'],
    repo: { repo_name: '<repo_name>', file_sep: '<file_sep>' },
    ids: { fimPrefix: 1, fimSuffix: 3, fimMiddle: 2, eot: 0, repoName: 5, fileSep: 6 },
  },
  // llama.cpp's qwen2 vocabulary with Qwen2.5-Coder's added tokens written in at their ids (its
  // tokenizer_config.json), as training/real_size_probe.py does: the same BPE, the FIM and repo tokens named.
  'qwen2.5-coder': {
    fim: { prefix: '<|fim_prefix|>', suffix: '<|fim_suffix|>', middle: '<|fim_middle|>', eot: '<|endoftext|>' },
    fim_orders: ['psm'],
    repo: { repo_name: '<|repo_name|>', file_sep: '<|file_sep|>' },
    ids: { fimPrefix: 151659, fimSuffix: 151661, fimMiddle: 151660, eot: 151643, repoName: 151663, fileSep: 151664 },
  },
} satisfies Record<string, { fim: object; fim_orders: string[]; repo: object | null; ids: SpecialTokenIds }>;

/** Which converted vocabulary each prompt block's tokenizer is built from. */
const BASE_VOCAB: Record<keyof typeof PROMPTS, (typeof VOCABS)[number]> = {
  'deepseek-coder': 'deepseek-coder', starcoder: 'starcoder', 'qwen2.5-coder': 'qwen2',
};

interface TokenizerJson {
  added_tokens: { id: number; content: string; special: boolean }[];
  model: { vocab: Record<string, number> };
}

/** `json` with the added token at each of `ids`' ids renamed to the prompt block's string and marked special. */
function withNamedTokens(json: TokenizerJson, names: Map<number, string>): TokenizerJson {
  const copy = JSON.parse(JSON.stringify(json)) as TokenizerJson;
  for (const added of copy.added_tokens) {
    const name = names.get(added.id);
    if (name === undefined || added.content === name) continue;
    delete copy.model.vocab[added.content];
    copy.model.vocab[name] = added.id;
    added.content = name;
    added.special = true;
  }
  return copy;
}

interface VectorCase {
  text: string;
  ids: number[];
}

function readRequired(file: string): string {
  assert.ok(fs.existsSync(file), `${file} is missing: run bash scripts/setup.sh (or .venv/bin/python -m training.tokenizer_vectors)`);
  return fs.readFileSync(file, 'utf8');
}

function readCases(name: string): VectorCase[] {
  const base = path.join(VECTORS_DIR, name, `ggml-vocab-${name}.gguf`);
  const texts = readRequired(`${base}.inp`).split(SEPARATOR);
  if (texts.at(-1) === '') texts.pop(); // the file ends with a separator
  const lines = readRequired(`${base}.out`).split('\n');
  if (lines.at(-1) === '') lines.pop();
  assert.equal(texts.length, lines.length, `${name}: .inp and .out differ in length`);
  return texts.map((text, i) => ({ text, ids: lines[i].split(' ').filter((s) => s !== '').map(Number) }));
}

function sameIds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}

describe("tokenizer: llama.cpp's test vectors", () => {
  for (const name of VOCABS) {
    it(`${name}: every case encodes to exactly the expected ids`, () => {
      const tokenizer = TextTokenizer.fromText(readRequired(path.join(VECTORS_DIR, name, 'tokenizer.json')));
      const cases = readCases(name);
      // test-tokenizer-0.cpp encodes with add_special=false (no BOS) and parse_special=false (special-token
      // text stays plain text) and compares whole id lists; encode() is that rule.
      const failures = cases
        .map(({ text, ids }) => ({ text, expected: ids, got: tokenizer.encode(text) }))
        .filter(({ expected, got }) => !sameIds(expected, got));
      console.log(`      ${name}: ${cases.length - failures.length}/${cases.length} cases matched`);
      assert.ok(cases.length > 0, `${name}: no cases read`);
      assert.deepEqual(failures, []);
    });
  }
});

/** The fixture's msn.json with this tokenizer's vocabulary size, end-of-text id and prompt block. */
function codeTokenizer(name: keyof typeof PROMPTS): CodeTokenizer {
  const { ids, ...prompt }: { ids: SpecialTokenIds } & Omit<(typeof PROMPTS)[typeof name], 'ids'> = PROMPTS[name];
  const base = JSON.parse(readRequired(path.join(VECTORS_DIR, BASE_VOCAB[name], 'tokenizer.json'))) as TokenizerJson;
  const { fim, repo } = prompt;
  const names = new Map<number, string>([[ids.fimPrefix, fim.prefix], [ids.fimSuffix, fim.suffix], [ids.fimMiddle, fim.middle],
    ...(repo && ids.repoName !== undefined && ids.fileSep !== undefined ? [[ids.repoName, repo.repo_name], [ids.fileSep, repo.file_sep]] as [number, string][] : [])]);
  const text = JSON.stringify(withNamedTokens(base, names));
  const vocabSize = Object.keys((JSON.parse(text) as { model: { vocab: object } }).model.vocab).length;
  const msn = { ...JSON.parse(fs.readFileSync(FIXTURE_MSN, 'utf8')), vocab_size: vocabSize, eos_token_id: ids.eot, prompt };
  return CodeTokenizer.fromJson(text, parseMsnConfig(JSON.stringify(msn)));
}

describe('tokenizer: FIM tokens of real code-model tokenizers', () => {
  for (const name of Object.keys(PROMPTS) as (keyof typeof PROMPTS)[]) {
    it(`${name}: msn.json's FIM strings have the model's ids, and text spelling them never encodes to one`, () => {
      const tokenizer = codeTokenizer(name);
      assert.deepEqual(tokenizer.special, PROMPTS[name].ids);
      // DeepSeek-Coder's markers are added tokens not marked special: plain text must still not produce them.
      const { fim, repo } = PROMPTS[name];
      const markers = [fim.prefix, fim.suffix, fim.middle, fim.eot, ...(repo ? [repo.repo_name, repo.file_sep] : [])];
      const text = `x = 1\n${markers.join(' y ')}\n`;
      const ids = tokenizer.encode(text);
      assert.deepEqual(ids.filter((id) => tokenizer.allSpecialIds.has(id)), []);
      assert.equal(tokenizer.decode(ids), text);
    });
  }
});
