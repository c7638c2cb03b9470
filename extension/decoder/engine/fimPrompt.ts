// Prompt building in the layout msn.json's `prompt` block declares:
//   repo-level header (when the model has the tokens and there is context):
//     <|repo_name|>NAME\n <|file_sep|>PATH\nCHUNK\n ... <|file_sep|>CURRENT_PATH\n
//   then FIM in the model's preferred order:
//     PSM <|fim_prefix|>P<|fim_suffix|>S<|fim_middle|>     SPM <|fim_prefix|><|fim_suffix|>S<|fim_middle|>P
//   or, without a suffix, the plain text.
// Every cut moves in steps, not per token, so a keystroke at the cursor changes only the end of an
// SPM prompt and the decoder reuses the KV rows of everything before it.
import { prefixWindowStart } from '../../promptWindow';
import type { FimOrder, PromptFormat } from '../model/msnConfig';
import type { CodeTokenizer } from '../model/tokenizer';
import repoContextBudget from './repoContextBudget.json';

/** Rough upper bound of characters per token, to avoid tokenizing megabytes we would drop. */
const MAX_CHARS_PER_TOKEN = 12;
/** Share of a tight budget the suffix may take when the prefix alone would fill it. */
const SUFFIX_SHARE = 0.25;
/** What a single token's decode shows for part of a multi-byte character. */
const REPLACEMENT_CHARACTER = '\uFFFD';
/** Share of the room a cut may give up to end (start) on a whole line. */
const MAX_LINE_CUT_SHARE = 1 / 8;
/** Cuts of the prefix's start and of the suffix budget move in steps of this many tokens (less in a small budget). */
export const CUT_STEP_TOKENS = 64;
/** Share of the prompt budget that context chunks from other files may take (repoContextBudget.json). */
export const CONTEXT_SHARE: number = repoContextBudget.context_share;
/** Characters per token that budget is turned into when the chunks are picked (repoContextBudget.json). */
export const CONTEXT_CHARS_PER_TOKEN: number = repoContextBudget.chars_per_token;

export interface ContextChunk {
  path: string;
  text: string;
}

/** Where the cursor is, for the repo-level header; chunks are ordered best LAST (nearest the cursor). */
export interface RepoContext {
  repoName: string;
  path: string;
  chunks: readonly ContextChunk[];
}

export interface PromptBudget {
  prefixTokens: number;
  suffixTokens: number;
}

/** The cut step for a budget of `room` tokens: a step never wastes more than an eighth of it. */
export function cutStep(room: number): number {
  return Math.max(1, Math.min(CUT_STEP_TOKENS, Math.floor(room / 8)));
}

/** How many prefix and suffix tokens fit into `budget` tokens (pure); the suffix budget moves in steps. */
export function splitBudget(prefixLength: number, suffixLength: number, budget: number): PromptBudget {
  const room = Math.max(0, budget);
  if (prefixLength + suffixLength <= room) return { prefixTokens: prefixLength, suffixTokens: suffixLength };
  const share = Math.floor(room * SUFFIX_SHARE);
  const step = cutStep(room);
  const leftByPrefix = Math.floor((room - prefixLength) / step) * step;
  const suffixTokens = Math.min(suffixLength, Math.max(share, leftByPrefix));
  const prefixTokens = Math.min(prefixLength, room - suffixTokens);
  return { prefixTokens, suffixTokens };
}

/** Index of the first prefix token kept: the cut moves in whole steps so it stays put while typing. */
export function prefixCut(prefixLength: number, keep: number): number {
  if (prefixLength <= keep) return 0;
  const step = cutStep(keep);
  return Math.min(prefixLength, Math.ceil((prefixLength - keep) / step) * step);
}

export function fimOrderOf(format: PromptFormat): FimOrder {
  return format.fimOrders[0];
}

/** The repo-level header, dropping the worst chunks (the first ones) until it fits `maxTokens`. */
export function buildRepoHeader(tokenizer: CodeTokenizer, format: PromptFormat, context: RepoContext | undefined, maxTokens: number): number[] {
  const { repoName, fileSep } = tokenizer.special;
  if (!format.repo || !context || repoName === undefined || fileSep === undefined) return [];
  const head = [repoName, ...tokenizer.encode(`${context.repoName}\n`)];
  const tail = [fileSep, ...tokenizer.encode(`${context.path}\n`)];
  if (head.length + tail.length > maxTokens) return [];
  const chunks = context.chunks.map((c) => [fileSep, ...tokenizer.encode(`${c.path}\n${c.text}\n`)]);
  let size = head.length + tail.length + chunks.reduce((n, c) => n + c.length, 0);
  let first = 0;
  while (first < chunks.length && size > maxTokens) size -= chunks[first++].length;
  return [...head, ...chunks.slice(first).flat(), ...tail];
}

/**
 * A cut suffix ends after its last newline and a cut prefix starts after its first one, as every
 * training window does (whole lines): a suffix that stops mid-line makes a small model go on with
 * that line instead of writing the middle. Only the token holding that newline is encoded again (a
 * token such as "\n   " also holds the next line's indentation), so the cost stays at the edge.
 * No newline within `maxDroppedChars` of the edge: the hard cut stays (pure).
 */
export function suffixToLineEnd(tokenizer: CodeTokenizer, ids: readonly number[], maxDroppedChars: number): number[] {
  let dropped = 0;
  for (let i = ids.length - 1; i >= 0 && dropped <= maxDroppedChars; i--) {
    const piece = tokenizer.decode([ids[i]]);
    if (piece.includes(REPLACEMENT_CHARACTER)) break;  // part of a multi-byte character: not cut as text
    const newline = piece.lastIndexOf('\n');
    if (newline >= 0) return [...ids.slice(0, i), ...tokenizer.encode(piece.slice(0, newline + 1))];
    dropped += piece.length;
  }
  return [...ids];
}

export function prefixFromLineStart(tokenizer: CodeTokenizer, ids: readonly number[], maxDroppedChars: number): number[] {
  let dropped = 0;
  for (let i = 0; i < ids.length && dropped <= maxDroppedChars; i++) {
    const piece = tokenizer.decode([ids[i]]);
    if (piece.includes(REPLACEMENT_CHARACTER)) break;
    const newline = piece.indexOf('\n');
    if (newline < 0) { dropped += piece.length; continue; }
    const rest = [...tokenizer.encode(piece.slice(newline + 1)), ...ids.slice(i + 1)];
    return rest.length > 0 ? rest : [...ids];
  }
  return [...ids];
}

/** Characters a line-aligned cut may drop in a budget of `room` tokens. */
function maxLineCutChars(room: number): number {
  return Math.floor(room * MAX_LINE_CUT_SHARE) * MAX_CHARS_PER_TOKEN;
}

/** The last `keep` of `ids`, cut in steps (prefixCut) and then on a whole line (prefixFromLineStart). */
function keptEnd(tokenizer: CodeTokenizer, ids: readonly number[], keep: number, room: number): readonly number[] {
  const cut = prefixCut(ids.length, keep);
  return cut > 0 ? prefixFromLineStart(tokenizer, ids.slice(cut), maxLineCutChars(room)) : ids;
}

function boundedEncode(tokenizer: CodeTokenizer, text: string, maxTokens: number, keep: 'start' | 'end'): number[] {
  const charCap = Math.max(1, maxTokens) * MAX_CHARS_PER_TOKEN;
  if (text.length <= charCap) return tokenizer.encode(text);
  // The end is kept from a stepped start, so typing at the end does not move the start.
  return tokenizer.encode(keep === 'end' ? text.slice(prefixWindowStart(text.length, charCap)) : text.slice(0, charCap));
}

/** A prompt and the text it holds around the cursor: the workspace mixture reads the prefix and suffix in text order. */
export interface PromptParts {
  tokens: number[];
  /** The tokens of the text above the cursor, as the prompt holds them. */
  prefix: number[];
  /** The tokens of the text below the cursor (empty for a plain prompt). */
  suffix: number[];
  /** Index in `tokens` just past the prefix's tokens. */
  prefixEnd: number;
  /**
   * The tokens of all the text above and below the cursor the request sent, of which the prompt holds
   * the ends nearest the cursor (its budget cuts the rest): what the workspace mixture looks up. The
   * prefix window ends with the same tokens as `prefix`.
   */
  prefixWindow: number[];
  suffixWindow: number[];
}

/** The prompt without the last `count` tokens of its prefix (token healing: mixture/tokenHealing.ts). */
export function withoutPrefixEnd(parts: PromptParts, count: number): PromptParts {
  if (count === 0) return parts;
  const cut = Math.min(count, parts.prefix.length);
  return {
    tokens: [...parts.tokens.slice(0, parts.prefixEnd - cut), ...parts.tokens.slice(parts.prefixEnd)],
    prefix: parts.prefix.slice(0, parts.prefix.length - cut), suffix: parts.suffix, prefixEnd: parts.prefixEnd - cut,
    prefixWindow: parts.prefixWindow.slice(0, Math.max(0, parts.prefixWindow.length - cut)), suffixWindow: parts.suffixWindow,
  };
}

/** A FIM prompt of at most `maxPromptTokens` tokens, with repo-level context where the model has its tokens. */
export function buildFimPrompt(
  tokenizer: CodeTokenizer, format: PromptFormat, prefix: string, suffix: string, maxPromptTokens: number, context?: RepoContext,
  bosTokenId: number | null = null,
): PromptParts {
  // Models with a beginning-of-sequence token (DeepSeek-Coder) were trained with it before FIM too.
  const lead = bosTokenId !== null ? [bosTokenId] : [];
  const header = [...lead, ...buildRepoHeader(tokenizer, format, context, Math.floor(maxPromptTokens * CONTEXT_SHARE))];
  const room = maxPromptTokens - header.length - 3;
  const prefixIds = boundedEncode(tokenizer, prefix, room, 'end');
  const suffixIds = boundedEncode(tokenizer, suffix, room, 'start');
  const { prefixTokens, suffixTokens } = splitBudget(prefixIds.length, suffixIds.length, room);
  const keptPrefix = [...keptEnd(tokenizer, prefixIds, prefixTokens, room)];
  const keptSuffix = suffixTokens < suffixIds.length ? suffixToLineEnd(tokenizer, suffixIds.slice(0, suffixTokens), maxLineCutChars(room)) : suffixIds;
  const { fimPrefix, fimSuffix, fimMiddle } = tokenizer.special;
  const spm = fimOrderOf(format) === 'spm';
  const tokens = spm
    ? [...header, fimPrefix, fimSuffix, ...keptSuffix, fimMiddle, ...keptPrefix]
    : [...header, fimPrefix, ...keptPrefix, fimSuffix, ...keptSuffix, fimMiddle];
  const prefixEnd = spm ? tokens.length : header.length + 1 + keptPrefix.length;
  return { tokens, prefix: keptPrefix, suffix: keptSuffix, prefixEnd, prefixWindow: prefixIds, suffixWindow: suffixIds };
}

/** A plain continuation prompt; never empty (an empty text starts after end-of-text, as between training documents). */
export function buildPlainPrompt(
  tokenizer: CodeTokenizer, format: PromptFormat, text: string, maxPromptTokens: number, bosTokenId: number | null, context?: RepoContext,
): PromptParts {
  const header = buildRepoHeader(tokenizer, format, context, Math.floor(maxPromptTokens * CONTEXT_SHARE));
  const lead = bosTokenId !== null ? [bosTokenId] : [];
  const room = Math.max(1, maxPromptTokens - lead.length - header.length);
  const ids = boundedEncode(tokenizer, text, room, 'end');
  const kept = [...keptEnd(tokenizer, ids, room, room)];
  const prompt = [...lead, ...header, ...kept];
  if (prompt.length === 0) return { tokens: [tokenizer.special.eot], prefix: [], suffix: [], prefixEnd: 1, prefixWindow: [], suffixWindow: [] };
  return { tokens: prompt, prefix: kept, suffix: [], prefixEnd: prompt.length, prefixWindow: ids, suffixWindow: [] };
}
