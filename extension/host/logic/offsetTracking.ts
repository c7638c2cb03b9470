// Where does a remembered position in a document end up after edits? Used to keep
// streaming generated text at the right place while the user edits elsewhere.

export interface TextChange {
  /** Offset of the replaced range in the document before the change. */
  rangeOffset: number;
  rangeLength: number;
  text: string;
}

/**
 * Maps `offset` through one batch of non-overlapping changes (all relative to the document
 * before the batch, as VS Code reports them). An insertion exactly at the offset moves it
 * past the inserted text, so successive insertions at the tracked point append in order.
 */
export function shiftOffset(offset: number, changes: readonly TextChange[]): number {
  let shifted = offset;
  for (const change of changes) {
    const rangeEnd = change.rangeOffset + change.rangeLength;
    if (rangeEnd <= offset) {
      shifted += change.text.length - change.rangeLength;
    } else if (change.rangeOffset < offset) {
      // The offset was inside replaced text: it lands at the end of the replacement.
      shifted += change.rangeOffset + change.text.length - offset;
    }
  }
  return shifted;
}
