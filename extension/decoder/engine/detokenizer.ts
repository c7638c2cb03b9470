// Incremental decoding of generated token ids to text. Byte-level BPE tokens can end
// in the middle of a UTF-8 character; such a tail decodes to U+FFFD and is kept pending
// until the character is complete, so text is never split inside a character.
import type { CodeTokenizer } from '../model/tokenizer';

const REPLACEMENT = '\uFFFD';
/** A UTF-8 character has at most 4 bytes, so a tail of more pending ids than this is genuinely invalid. */
const MAX_PENDING_IDS = 4;

export class Detokenizer {
  private readonly ids: number[] = [];
  /** Text of ids[0, settledIds), which decoded without a dangling partial character. */
  private settledText = '';
  private settledIds = 0;
  private tailText = '';

  constructor(private readonly tokenizer: Pick<CodeTokenizer, 'decode'>) {}

  push(id: number): void {
    this.ids.push(id);
    const tail = this.tokenizer.decode(this.ids.slice(this.settledIds));
    // Pending ids are bounded, so a run of invalid bytes costs O(1) per token, not O(run).
    if (tail.endsWith(REPLACEMENT) && this.ids.length - this.settledIds < MAX_PENDING_IDS) {
      this.tailText = tail;
      return;
    }
    this.settledText += tail;
    this.settledIds = this.ids.length;
    this.tailText = '';
  }

  /** Text of complete characters so far. */
  get text(): string {
    return this.settledText;
  }

  /** All text, including a trailing incomplete character as U+FFFD (for the final answer). */
  get finalText(): string {
    return this.settledText + this.tailText;
  }
}
