// Prompt building: PSM fill-in-the-middle ("<|fim_prefix|>" prefix "<|fim_suffix|>" suffix
// "<|fim_middle|>", see notes/msnjson.md) and plain continuation, both cut to fit the
// context window: the prefix keeps its end (the text nearest the cursor), the suffix its start.
import type { CodeTokenizer } from '../model/tokenizer';

/** Rough upper bound of characters per token, to avoid tokenizing megabytes we would drop. */
const MAX_CHARS_PER_TOKEN = 12;
/** Share of a tight budget the suffix may take when the prefix alone would fill it. */
const SUFFIX_SHARE = 0.25;

export interface PromptBudget {
  prefixTokens: number;
  suffixTokens: number;
}

/** How many prefix and suffix tokens fit into `budget` tokens (pure). */
export function splitBudget(prefixLength: number, suffixLength: number, budget: number): PromptBudget {
  const room = Math.max(0, budget);
  if (prefixLength + suffixLength <= room) return { prefixTokens: prefixLength, suffixTokens: suffixLength };
  const suffixTokens = Math.min(suffixLength, Math.max(Math.floor(room * SUFFIX_SHARE), room - prefixLength));
  const prefixTokens = Math.min(prefixLength, room - suffixTokens);
  return { prefixTokens, suffixTokens };
}

export function buildFimPrompt(tokenizer: CodeTokenizer, prefix: string, suffix: string, maxPromptTokens: number): number[] {
  const charCap = Math.max(1, maxPromptTokens) * MAX_CHARS_PER_TOKEN;
  const prefixIds = tokenizer.encode(prefix.length > charCap ? prefix.slice(prefix.length - charCap) : prefix);
  const suffixIds = tokenizer.encode(suffix.length > charCap ? suffix.slice(0, charCap) : suffix);
  const { prefixTokens, suffixTokens } = splitBudget(prefixIds.length, suffixIds.length, maxPromptTokens - 3);
  const { fimPrefix, fimSuffix, fimMiddle } = tokenizer.special;
  return [
    fimPrefix,
    ...prefixIds.slice(prefixIds.length - prefixTokens),
    fimSuffix,
    ...suffixIds.slice(0, suffixTokens),
    fimMiddle,
  ];
}

/** A plain continuation prompt; never empty (an empty text starts after end-of-text, as between training documents). */
export function buildPlainPrompt(tokenizer: CodeTokenizer, text: string, maxPromptTokens: number, bosTokenId: number | null): number[] {
  const charCap = Math.max(1, maxPromptTokens) * MAX_CHARS_PER_TOKEN;
  const ids = tokenizer.encode(text.length > charCap ? text.slice(text.length - charCap) : text);
  const lead = bosTokenId !== null ? [bosTokenId] : [];
  const room = Math.max(1, maxPromptTokens - lead.length);
  const kept = ids.slice(Math.max(0, ids.length - room));
  const prompt = [...lead, ...kept];
  return prompt.length > 0 ? prompt : [tokenizer.special.eot];
}
