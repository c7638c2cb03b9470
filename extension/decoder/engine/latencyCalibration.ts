// Latency curve of this model on this machine: median ms of a forward pass for q query
// tokens at a realistic past length. Measured once per (model, CPU, threads) and cached
// as JSON, because the tree sizing (cost model) needs it before the first request.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { median } from '../../speedup';
import type { ModelSession } from '../model/onnxModel';
import { buildChainInputs } from './chainInputs';
import type { KvCache } from './kvCache';

export const CALIBRATION_QUERY_SIZES = [1, 2, 4, 8, 16, 32, 64] as const;
const WARMUP_RUNS = 3;
const TIMED_RUNS = 9;
const CACHE_VERSION = 3;

/** Median ms per forward pass, keyed by q. */
export type MeasuredLatencies = Record<number, number>;

export interface CalibrationKey {
  modelHash: string;
  cpuModel: string;
  threads: number;
}

interface CachedCurve extends CalibrationKey {
  version: number;
  past: number;
  curve: MeasuredLatencies;
  measuredAt: string;
}


export function currentCpuModel(): string {
  return os.cpus()[0]?.model?.trim() || 'unknown-cpu';
}

export function defaultCacheDir(): string {
  return path.join(os.tmpdir(), 'msn-complete');
}

export function calibrationFile(cacheDir: string, key: CalibrationKey): string {
  const digest = createHash('sha256').update(`${key.modelHash}\n${key.cpuModel}\n${key.threads}`).digest('hex').slice(0, 24);
  return path.join(cacheDir, `latency-${digest}.json`);
}

export function readCachedCurve(file: string, key: CalibrationKey): MeasuredLatencies | null {
  try {
    const cached = JSON.parse(fs.readFileSync(file, 'utf8')) as CachedCurve;
    const same = cached.version === CACHE_VERSION && cached.modelHash === key.modelHash && cached.cpuModel === key.cpuModel && cached.threads === key.threads;
    if (!same) return null;
    const complete = CALIBRATION_QUERY_SIZES.every((q) => typeof cached.curve[q] === 'number' && cached.curve[q] > 0);
    return complete ? cached.curve : null;
  } catch {
    return null;
  }
}

function writeCachedCurve(file: string, key: CalibrationKey, past: number, curve: MeasuredLatencies): void {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const body: CachedCurve = { version: CACHE_VERSION, ...key, past, curve, measuredAt: new Date().toISOString() };
    const temp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(temp, JSON.stringify(body, null, 2));
    fs.renameSync(temp, file);
  } catch {
    // A read-only cache dir only costs a re-calibration next time.
  }
}

/** Past length used for calibration: typical for a completion prompt, within the window. */
export function calibrationPast(maxPositions: number): number {
  const runs = CALIBRATION_QUERY_SIZES.length * (WARMUP_RUNS + TIMED_RUNS);
  return Math.max(0, Math.min(512, maxPositions - runs - CALIBRATION_QUERY_SIZES[CALIBRATION_QUERY_SIZES.length - 1]));
}

/**
 * Measures the curve using `cache` as scratch past (its contents do not matter for
 * timing; callers must invalidate any prompt they kept in it).
 */
export async function measureLatencyCurve(
  model: ModelSession, cache: KvCache, maskValue: number, vocabSize: number,
  onProgress?: (done: number, total: number) => void,
): Promise<{ curve: MeasuredLatencies; past: number }> {
  const past = calibrationPast(cache.capacity);
  const curve: MeasuredLatencies = {};
  // Decoding never repeats a shape (the past grows every step), and a new shape costs
  // more than a repeated one (measured: ~0.6 ms of a 3 ms step for a 5M model), so every
  // call here gets a past one longer than the call before.
  let shift = 0;
  const room = Math.max(1, cache.capacity - past - CALIBRATION_QUERY_SIZES[CALIBRATION_QUERY_SIZES.length - 1] + 1);
  const run = async (q: number): Promise<number> => {
    const length = past + (shift++ % room);
    const inputs = buildChainInputs(Array.from({ length: q }, (_, i) => (i * 7919 + 13) % vocabSize), length, maskValue);
    const start = performance.now();
    await model.forward({ ...inputs, past: length, pastKeys: cache.keys, pastValues: cache.values });
    return performance.now() - start;
  };
  // Warm every q first: the first calls pay for one-off allocations.
  for (const q of CALIBRATION_QUERY_SIZES) for (let i = 0; i < WARMUP_RUNS; i++) await run(q);
  // Round-robin over q, so a burst of load from other processes hits every q alike
  // instead of inflating the few q measured while it lasted.
  const times = new Map<number, number[]>(CALIBRATION_QUERY_SIZES.map((q) => [q, []]));
  for (let round = 0; round < TIMED_RUNS; round++) {
    for (const q of CALIBRATION_QUERY_SIZES) times.get(q)!.push(await run(q));
    onProgress?.(round + 1, TIMED_RUNS);
  }
  let previous = 0;
  for (const q of CALIBRATION_QUERY_SIZES) {
    // More query tokens never cost less; a dip is noise, so keep the curve non-decreasing.
    previous = Math.max(previous, median(times.get(q)!));
    curve[q] = previous;
  }
  return { curve, past };
}

export interface CalibrationRequest {
  model: ModelSession;
  cache: KvCache;
  maskValue: number;
  vocabSize: number;
  key: CalibrationKey;
  cacheDir?: string;
  onProgress?: (done: number, total: number) => void;
  /** Whether the machine is too busy for a measurement worth caching (default: load average). */
  isBusy?: () => boolean;
}

/** True when other processes keep every core busy (1-minute load average). */
export function machineIsBusy(): boolean {
  return os.loadavg()[0] > os.cpus().length;
}

/**
 * The cached curve for this key, or a fresh measurement. A measurement taken while the
 * machine was busy is used but not cached: it would skew the sizing of every later start.
 */
export async function loadOrMeasureLatencyCurve(request: CalibrationRequest): Promise<{ curve: MeasuredLatencies; fromCache: boolean; cached: boolean; file: string }> {
  const file = calibrationFile(request.cacheDir ?? defaultCacheDir(), request.key);
  const cached = readCachedCurve(file, request.key);
  if (cached) return { curve: cached, fromCache: true, cached: true, file };
  const busy = request.isBusy ?? machineIsBusy;
  const busyBefore = busy();
  const { curve, past } = await measureLatencyCurve(request.model, request.cache, request.maskValue, request.vocabSize, request.onProgress);
  const trustworthy = !busyBefore && !busy();
  if (trustworthy) writeCachedCurve(file, request.key, past, curve);
  return { curve, fromCache: false, cached: trustworthy, file };
}

