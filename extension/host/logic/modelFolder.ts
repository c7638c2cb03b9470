// A first check of a folder the user picks as the model (pure over file contents): the three files
// of the msn-onnx/1 contract, and an msn.json that says so. The decoder validates everything else
// when it loads the model and names the file that is wrong.

export const MODEL_FILES = ['model.onnx', 'tokenizer.json', 'msn.json'] as const;
const FORMAT = 'msn-onnx/1';

export interface FolderListing {
  /** Names of the files in the folder. */
  files: readonly string[];
  /** Text of msn.json, if it is there. */
  msnJson?: string;
}

/** One sentence saying what is wrong with the folder, or null when it looks like a model. */
export function modelFolderProblem(listing: FolderListing): string | null {
  const missing = MODEL_FILES.filter((name) => !listing.files.includes(name));
  if (missing.length > 0) return `The folder has no ${missing.join(', ')} (a model folder holds ${MODEL_FILES.join(', ')}; see "Use a bigger model" in the README).`;
  let msn: unknown;
  try {
    msn = JSON.parse(listing.msnJson ?? '');
  } catch (error) {
    return `msn.json is not valid JSON (${(error as Error).message}).`;
  }
  const format = typeof msn === 'object' && msn !== null ? (msn as Record<string, unknown>).format : undefined;
  if (format !== FORMAT) return `msn.json says format ${JSON.stringify(format)}, not "${FORMAT}": export the model with python -m training.export.`;
  return null;
}
