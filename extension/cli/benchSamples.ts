// Benchmark samples: a FIM prompt (prefix, suffix) plus the text that really was there.
// From a workspace: deterministic cursor positions in its source files, each hiding what a
// completion there should write: the rest of its line, and where the editor asks for a block, up to
// two more lines. From a
// HumanEval-Infilling file: prompt / suffix / canonical_solution of seeded tasks.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { chooseCompletionMode } from '../completionMode';
import { judgeDocument } from '../decoder/engine/documentFilter';
import { randomInt, seededRandom } from './random';

export interface BenchSample {
  id: string;
  /** Workspace-relative path of the file under the cursor (absent for FIM benchmarks). */
  file?: string;
  prefix: string;
  suffix: string;
  /** The hidden text the completion is compared with. */
  truth: string;
}

export interface SourceFile {
  path: string;
  text: string;
}

const SOURCE_EXTENSIONS = new Set([
  '.py', '.ts', '.tsx', '.js', '.jsx', '.mjs', '.cjs', '.go', '.rs', '.java', '.c', '.h', '.cc', '.cpp', '.hpp', '.cs', '.rb', '.php', '.sh',
]);
const SKIPPED_DIRS = new Set(['node_modules', 'dist', 'out', 'build', '__pycache__', 'target', 'vendor']);
const MAX_MIDDLE_LINES = 3;
const MIN_FILE_LINES = 4;

/** Every indexable file of a workspace, sorted by path (so samples do not depend on readdir order). */
export function readWorkspace(root: string): SourceFile[] {
  const files: SourceFile[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name)) walk(full);
      } else if (entry.isFile()) {
        const text = fs.readFileSync(full, 'utf8');
        if (judgeDocument(text).index) files.push({ path: path.relative(root, full).split(path.sep).join('/'), text });
      }
    }
  };
  walk(root);
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

export function isSourceFile(file: string): boolean {
  return SOURCE_EXTENSIONS.has(path.extname(file).toLowerCase());
}

/**
 * `count` cursor positions: a seeded file (source files only), a seeded non-blank line,
 * the cursor after its indentation; the middle is the rest of that line, and when the editor
 * gives that cursor a block (chooseCompletionMode, with the rest of the line hidden), up to
 * MAX_MIDDLE_LINES - 1 following non-blank lines (no trailing newline).
 */
export function sampleWorkspaceCursors(files: readonly SourceFile[], count: number, seed: number): BenchSample[] {
  const sources = files.filter((f) => isSourceFile(f.path) && f.text.split('\n').length >= MIN_FILE_LINES);
  if (sources.length === 0) throw new Error('the workspace has no source files to sample');
  const random = seededRandom(seed);
  const samples: BenchSample[] = [];
  for (let attempt = 0; samples.length < count && attempt < count * 50; attempt++) {
    const file = sources[randomInt(random, sources.length)];
    const lines = file.text.split('\n');
    const lineIndex = 1 + randomInt(random, lines.length - 1);
    const line = lines[lineIndex];
    if (line.trim().length === 0) continue;
    const drawnLines = 1 + randomInt(random, MAX_MIDDLE_LINES);
    const lineStart = lines.slice(0, lineIndex).reduce((n, l) => n + l.length + 1, 0);
    const cursor = lineStart + (line.length - line.trimStart().length);
    const middleLines = chooseCompletionMode(file.text.slice(0, cursor), file.text.slice(lineStart + line.length)) === 'line' ? 1 : drawnLines;
    // The middle ends before a blank line: block mode stops there, so that is a block's end.
    let lastLine = lineIndex;
    while (lastLine < lineIndex + middleLines - 1 && lastLine + 1 < lines.length && lines[lastLine + 1].trim().length > 0) lastLine++;
    const middleEnd = lines.slice(0, lastLine + 1).reduce((n, l) => n + l.length + 1, 0) - 1;
    const truth = file.text.slice(cursor, middleEnd);
    if (truth.trim().length === 0) continue;
    samples.push({ id: `${file.path}:${lineIndex + 1}`, file: file.path, prefix: file.text.slice(0, cursor), suffix: file.text.slice(middleEnd), truth });
  }
  return samples;
}

interface InfillingTask {
  task_id: string;
  prompt: string;
  suffix: string;
  canonical_solution: string;
}

/** `count` seeded tasks of a HumanEval-Infilling .jsonl.gz file. */
export function sampleFimBenchmark(file: string, count: number, seed: number): BenchSample[] {
  const text = zlib.gunzipSync(fs.readFileSync(file)).toString('utf8');
  const tasks = text.split('\n').filter((l) => l.trim().length > 0).map((l) => JSON.parse(l) as InfillingTask);
  const random = seededRandom(seed);
  const order = tasks.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = randomInt(random, i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order.slice(0, Math.min(count, order.length)).map((i) => ({
    id: tasks[i].task_id, prefix: tasks[i].prompt, suffix: tasks[i].suffix, truth: tasks[i].canonical_solution,
  }));
}
