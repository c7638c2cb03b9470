// The models `npm run model -- add` / `msn-tune` installed (training/models.py), for "Select Model…" and the
// status bar tooltip: each subfolder of the models folder with an msn.json, with its size, quantization and
// source (source.json, written by the installer). Plain Node (node:fs), no `vscode`.

import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';

export interface InstalledModel {
  /** Folder name (what `npm run model -- remove NAME` takes). */
  name: string;
  /** Absolute folder: the msnComplete.modelPath value. */
  path: string;
  /** Bytes of all its files. */
  bytes: number;
  /** float32, int8 or int4 (from msn.json's `weights`). */
  quantization: string;
  /** Where it came from: REPO@commit, a local folder, "msn-tune of REPO", or "unknown". */
  source: string;
  parameters?: number;
  /** Measured by the installer on this machine (source.json), if recorded. */
  msPerStep?: number;
}

/** The default models folder, by the rule training/models.py `models_home` uses: $MSN_COMPLETE_MODELS, else
 *  msn-complete/models in the user's cache folder (%LOCALAPPDATA%, ~/Library/Caches, $XDG_CACHE_HOME or ~/.cache). */
export function modelsHome(env: NodeJS.ProcessEnv = process.env, platform: string = process.platform, home: string = os.homedir()): string {
  const join = platform === 'win32' ? path.win32.join : path.posix.join;
  if (env.MSN_COMPLETE_MODELS) return env.MSN_COMPLETE_MODELS.replace(/^~(?=$|[\\/])/, home);
  const userHome = env.HOME || env.USERPROFILE || home;
  let cache: string;
  if (platform === 'win32') cache = env.LOCALAPPDATA || join(userHome, 'AppData', 'Local');
  else if (platform === 'darwin') cache = join(userHome, 'Library', 'Caches');
  else cache = env.XDG_CACHE_HOME || join(userHome, '.cache');
  return join(cache, 'msn-complete', 'models');
}

export function quantizationOf(weights: unknown): string {
  if (typeof weights !== 'string' || weights === '') return 'float32';
  if (weights.startsWith('int8')) return 'int8';
  if (weights.startsWith('int4')) return 'int4';
  return weights;
}

/** The source as `npm run model -- list` prints it (training/models.py describe_source). */
export function describeSource(info: Record<string, unknown> | null): string {
  if (!info) return 'unknown';
  let source = typeof info.source === 'string' ? info.source : '?';
  const training = info.training as Record<string, unknown> | undefined;
  if (training && training.method === 'msn') source = `msn-tune of ${source}`;
  const commit = info.commit;
  return typeof commit === 'string' && commit && info.local !== true ? `${source}@${commit.slice(0, 7)}` : source;
}

async function readJson(file: string): Promise<Record<string, unknown> | null> {
  try {
    const value = JSON.parse(await fs.readFile(file, 'utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : null;
  } catch {
    return null;
  }
}

async function folderBytes(folder: string): Promise<number> {
  let total = 0;
  for (const entry of await fs.readdir(folder, { withFileTypes: true })) {
    const full = path.join(folder, entry.name);
    if (entry.isDirectory()) total += await folderBytes(full);
    else if (entry.isFile()) total += (await fs.stat(full)).size;
  }
  return total;
}

/** The installed models in `dir`, by name; [] when the folder does not exist. Hidden folders (the installer's
 *  temporary ones, .msn-tune runs) and folders without msn.json are skipped. */
export async function listInstalledModels(dir: string): Promise<InstalledModel[]> {
  let entries;
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const models: InstalledModel[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const folder = path.join(dir, entry.name);
    const msn = await readJson(path.join(folder, 'msn.json'));
    if (!msn) continue;
    const info = await readJson(path.join(folder, 'source.json'));
    models.push({
      name: entry.name,
      path: folder,
      bytes: await folderBytes(folder).catch(() => 0),
      quantization: quantizationOf(msn.weights),
      source: describeSource(info),
      parameters: typeof msn.parameters === 'number' ? msn.parameters : undefined,
      msPerStep: typeof info?.ms_per_step === 'number' ? info.ms_per_step : undefined,
    });
  }
  return models.sort((a, b) => a.name.localeCompare(b.name));
}

/** The folders to look in: the models folder, and the one holding the current model when it is elsewhere
 *  (a model installed with --out). */
export function modelsFolders(home: string, currentModelPath: string): string[] {
  const folders = [path.resolve(home)];
  if (currentModelPath) {
    const parent = path.dirname(path.resolve(currentModelPath));
    if (!folders.includes(parent)) folders.push(parent);
  }
  return folders;
}

export async function listAllInstalled(home: string, currentModelPath: string): Promise<InstalledModel[]> {
  const lists = await Promise.all(modelsFolders(home, currentModelPath).map(listInstalledModels));
  return lists.flat();
}

export function formatBytes(bytes: number): string {
  const mib = bytes / 2 ** 20;
  if (mib >= 1024) return `${(mib / 1024).toFixed(1)} GiB`;
  return mib >= 10 ? `${Math.round(mib)} MiB` : `${mib.toFixed(1)} MiB`;
}

/** One line per model: `name — 530 MiB, int8, Qwen/Qwen2.5-Coder-0.5B@abc1234`. */
export function describeInstalled(model: InstalledModel): string {
  const speed = model.msPerStep !== undefined ? `, ${model.msPerStep} ms/step here` : '';
  return `${formatBytes(model.bytes)}, ${model.quantization}, ${model.source}${speed}`;
}

export interface ModelPick {
  label: string;
  description?: string;
  detail?: string;
  /** The modelPath value to set; '' = the shipped model; undefined = open the folder picker. */
  modelPath?: string;
  current?: boolean;
}

/** The entries of "Select Model…": installed models, the shipped model, and the folder picker. */
export function modelPicks(models: readonly InstalledModel[], currentModelPath: string, home: string): ModelPick[] {
  const current = currentModelPath ? path.resolve(currentModelPath) : '';
  const picks: ModelPick[] = models.map((model) => ({
    label: model.name,
    description: describeInstalled(model) + (path.resolve(model.path) === current ? ' (in use)' : ''),
    detail: model.path,
    modelPath: model.path,
    current: path.resolve(model.path) === current,
  }));
  picks.push({ label: 'Shipped model', description: `the model inside the extension${current ? '' : ' (in use)'}`, modelPath: '', current: !current });
  picks.push({
    label: 'Browse for a model folder…',
    description: models.length === 0 ? `none installed in ${home}: npm run model -- add REPO_ID` : 'a folder with model.onnx, tokenizer.json, msn.json',
  });
  return picks;
}

/** Tooltip lines (markdown) naming the installed models. */
export function installedTooltipLines(models: readonly InstalledModel[], home: string): string[] {
  if (models.length === 0) return [`Installed models: none in \`${home}\` (\`npm run model -- add REPO_ID\`)`];
  return [
    `Installed models (Select Model… to switch), in \`${home}\`:`,
    ...models.map((model) => `- \`${model.name}\`: ${describeInstalled(model)}`),
  ];
}
