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
const HORIZONTAL_SPACE = /^[ \t]$/;
const WHITESPACE = /^\s$/;

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

/** A letter to probe how the healed whitespace is tokenized when a word follows it. */
const WORD_PROBE = 'a';

/**
 * The tokens allowed at each offset into the healed text. When it ends in a space or tab (the cursor
 * sits where the user's indentation ends, so a word follows), the text is spelt as a file spells it
 * before a word: the tokens of `text + "a"` but the last are forced one by one, and the last token must
 * start with what is left and go on with no whitespace (a completion that starts by indenting further,
 * or by ending the indented line, is the wrong line). Otherwise any token that is a prefix of the rest,
 * or starts with all of it, is allowed.
 */
export class HealingConstraint {
  private readonly allowed = new Map<number, Int32Array>();
  /** Forced tokens and the offsets they start at. */
  private readonly forced: number[] = [];
  private readonly forcedAt: number[] = [];
  private readonly forcedEnd: number;
  private readonly indented: boolean;

  constructor(readonly text: string, private readonly texts: readonly string[], private readonly special: ReadonlySet<number>, encode: (text: string) => number[]) {
    this.indented = HORIZONTAL_SPACE.test(text.charAt(text.length - 1));
    let end = 0;
    if (this.indented) {
      const probe = encode(text + WORD_PROBE);
      for (const id of probe.slice(0, -1)) {
        const piece = texts[id] ?? '';
        if (piece.length === 0 || !text.startsWith(piece, end) || special.has(id)) break;
        this.forced.push(id);
        this.forcedAt.push(end);
        end += piece.length;
      }
    }
    this.forcedEnd = end;
  }

  /** The tokens that may follow when `offset` characters of the healed text are spelt (ascending ids). */
  allowedAt(offset: number): Int32Array {
    let ids = this.allowed.get(offset);
    if (!ids) {
      ids = offset < this.forcedEnd ? this.forcedTokenAt(offset) : this.completing(offset);
      this.allowed.set(offset, ids);
    }
    return ids;
  }

  private forcedTokenAt(offset: number): Int32Array {
    const i = this.forcedAt.indexOf(offset);
    return i >= 0 ? Int32Array.of(this.forced[i]) : this.completing(offset);
  }

  private completing(offset: number): Int32Array {
    const rest = this.text.slice(offset);
    const list: number[] = [];
    for (let id = 0; id < this.texts.length; id++) {
      const t = this.texts[id];
      if (this.special.has(id) || t.length === 0 || t.includes(REPLACEMENT)) continue;
      const spells = t.startsWith(rest) && !(this.indented && WHITESPACE.test(t.charAt(rest.length)));
      if (spells || rest.startsWith(t)) list.push(id);
    }
    return Int32Array.from(list);
  }
}
