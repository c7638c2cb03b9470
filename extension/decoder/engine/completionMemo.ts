// Recent greedy continuations, served again when a new prompt is a prefix of one of them (pure).
// Greedy decoding is deterministic: if the prompt P' equals the first |P'| tokens of an earlier
// prompt P plus its generated tokens G (and |P'| >= |P|), the continuation of P' is the rest of G,
// token for token. That is exactly the case of typing what a suggestion proposed when the prompt
// ends with the text before the cursor (SPM order), so such a request costs no forward pass and
// is still exactly what the model says. Anything else (another prompt, other stop rules) misses.
import type { StopReason } from '../../protocol';

export interface Recalled {
  tokens: number[];
  /** Why the remembered generation ended: 'eos' and 'stop-string' are complete answers. */
  endedBy: StopReason;
}

interface Entry {
  sequence: number[];
  promptLength: number;
  rulesKey: string;
  endedBy: StopReason;
}

export class CompletionMemo {
  private readonly entries: Entry[] = [];

  constructor(private readonly capacity = 16) {}

  /** Remembers a finished generation; cancelled ones are incomplete and are not kept. */
  remember(prompt: readonly number[], generated: readonly number[], rulesKey: string, endedBy: StopReason): void {
    if (endedBy === 'cancelled') return;
    this.entries.push({ sequence: [...prompt, ...generated], promptLength: prompt.length, rulesKey, endedBy });
    if (this.entries.length > this.capacity) this.entries.shift();
  }

  /**
   * The tokens plain greedy would emit after `prompt`, if a remembered generation determines them:
   * up to `maxTokens` of them, or all when it ended by itself (end-of-text or a stop rule).
   */
  recall(prompt: readonly number[], rulesKey: string, maxTokens: number): Recalled | null {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const entry = this.entries[i];
      if (entry.rulesKey !== rulesKey || prompt.length < entry.promptLength || prompt.length > entry.sequence.length) continue;
      if (!startsWith(entry.sequence, prompt)) continue;
      const rest = entry.sequence.slice(prompt.length);
      if (rest.length >= maxTokens) return { tokens: rest.slice(0, maxTokens), endedBy: 'max-tokens' };
      if (entry.endedBy === 'max-tokens') continue; // what came after is unknown
      return { tokens: rest, endedBy: entry.endedBy };
    }
    return null;
  }

  clear(): void {
    this.entries.length = 0;
  }
}

function startsWith(sequence: readonly number[], prefix: readonly number[]): boolean {
  for (let i = 0; i < prefix.length; i++) if (sequence[i] !== prefix[i]) return false;
  return true;
}
