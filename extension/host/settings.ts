// Typed access to the `msnComplete.*` settings (declared in package.json).

import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { SETTING_BOUNDS } from '../limits';
import type { StrategyName } from '../protocol';

export const SECTION = 'msnComplete';

export interface Settings {
  enabled: boolean;
  modelPath: string;
  maxTokens: number;
  generateMaxTokens: number;
  debounceMs: number;
  strategy: StrategyName;
  treeBudget: number;
  /** Decode the model mixed with the workspace's n-grams (when the model has mixture weights). */
  workspaceMixture: boolean;
  threads: number;
  corpusInclude: string[];
  corpusExclude: string[];
  corpusMaxFileSizeBytes: number;
  corpusMaxFiles: number;
}

export function readSettings(): Settings {
  const config = vscode.workspace.getConfiguration(SECTION);
  const number = (key: keyof typeof SETTING_BOUNDS) => {
    const { min, max, default: fallback } = SETTING_BOUNDS[key];
    const value = config.get<number>(key, fallback);
    return Number.isFinite(value) ? Math.min(max, Math.max(min, Math.floor(value))) : fallback;
  };
  const strategy = config.get<string>('strategy', 'tr-jacobi');
  return {
    enabled: config.get<boolean>('enabled', true),
    modelPath: config.get<string>('modelPath', ''),
    maxTokens: number('maxTokens'),
    generateMaxTokens: number('generateMaxTokens'),
    debounceMs: number('debounceMs'),
    strategy: strategy === 'ar' ? 'ar' : 'tr-jacobi',
    treeBudget: number('treeBudget'),
    workspaceMixture: config.get<boolean>('workspaceMixture', true),
    threads: number('threads'),
    corpusInclude: config.get<string[]>('corpus.include', []),
    corpusExclude: config.get<string[]>('corpus.exclude', []),
    corpusMaxFileSizeBytes: number('corpus.maxFileSizeKB') * 1024,
    corpusMaxFiles: number('corpus.maxFiles'),
  };
}

/** The model folder: the setting (with `~` expanded) or the model shipped in the extension. */
export function resolveModelDir(settings: Settings, extensionPath: string): string {
  const configured = settings.modelPath.trim();
  if (configured === '') return path.join(extensionPath, 'model');
  if (configured === '~' || configured.startsWith('~/')) return path.join(os.homedir(), configured.slice(1));
  return path.resolve(extensionPath, configured);
}

export function affectsDecoderProcess(event: vscode.ConfigurationChangeEvent): boolean {
  return event.affectsConfiguration(`${SECTION}.modelPath`) || event.affectsConfiguration(`${SECTION}.threads`);
}

export function affectsCorpus(event: vscode.ConfigurationChangeEvent): boolean {
  return event.affectsConfiguration(`${SECTION}.corpus`) || event.affectsConfiguration('files.exclude');
}
