// Token healing at the cursor. A prompt's prefix is tokenized on its own, so its last tokens are
// rarely the ones the same text has inside a file: "{\n    " ends in the token "\n    " where the
// file has "\n   " + " return". A lookup of that tail in the workspace then finds nothing, and a model
// sees a token it rarely saw there. So the mixture drops the prefix's last token (and the whitespace
// tokens before a whitespace one) from the prompt and decodes them again under a constraint: the
// first tokens emitted must spell the dropped text (the last of them may run past it). The dropped
// text is not part of the completion. Pure, given the vocabulary's texts.

/** At most this many trailing prefix tokens are healed. */
export const MAX_HEALED_TOKENS = 4;
const REPLACEMENT = '\uFFFD';

const isBlank = (text: string) => text.length > 0 && text.trim().length === 0;

/**
 * How many trailing tokens of `prefix` to heal: the last one, and before a whitespace one the
 * whitespace tokens before it; 0 when the last is special, empty or part of a character.
 */
export function healedTokenCount(prefix: readonly number[], texts: readonly string[], special: ReadonlySet<number>): number {
  const healable = (id: number) => !special.has(id) && texts[id] !== undefined && texts[id].length > 0 && !texts[id].includes(REPLACEMENT);
  if (prefix.length === 0 || !healable(prefix[prefix.length - 1])) return 0;
  let count = 1;
  if (!isBlank(texts[prefix[prefix.length - 1]])) return count;
  while (count < MAX_HEALED_TOKENS && count < prefix.length) {
    const id = prefix[prefix.length - 1 - count];
    if (!healable(id) || !isBlank(texts[id])) break;
    count++;
  }
  return count;
}

/** The tokens allowed at each offset into the healed text, computed once per offset. */
export class HealingConstraint {
  private readonly allowed = new Map<number, Int32Array>();

  constructor(readonly text: string, private readonly texts: readonly string[], private readonly special: ReadonlySet<number>) {}

  /**
   * Tokens that may follow when `offset` characters of the healed text are spelt: their text is a
   * prefix of the rest (so more must follow) or starts with all of it.
   */
  allowedAt(offset: number): Int32Array {
    let ids = this.allowed.get(offset);
    if (!ids) {
      const rest = this.text.slice(offset);
      const list: number[] = [];
      for (let id = 0; id < this.texts.length; id++) {
        const t = this.texts[id];
        if (this.special.has(id) || t.length === 0 || t.includes(REPLACEMENT)) continue;
        if (rest.startsWith(t) || t.startsWith(rest)) list.push(id);
      }
      ids = Int32Array.from(list);
      this.allowed.set(offset, ids);
    }
    return ids;
  }
}
