// What the status bar item says. Kept pure and exact so the end-to-end tests can rely on it:
//   "$(loading~spin) MSN: loading model"
//   "$(loading~spin) MSN: restarting decoder"
//   "$(loading~spin) MSN: indexing 12/40 files"
//   "$(zap) MSN: ready"
//   "$(zap) 123 tok/s · 2.4/step · 2.1x"      over the recent completions of >= 8 tokens (measured speed-up)
//   "$(zap) 123 tok/s · 2.4/step"             the same, before the decoder measured any of them
//   "$(circle-slash) MSN: inline off"          inline completions disabled
//   "$(error) MSN: error"

import type { IndexingProgress } from '../../protocol';
import { plainTokensPerSecond } from '../../speedup';
import { installedTooltipLines, type InstalledModel } from './installedModels';
import { MIN_SPEED_TOKENS, speedSample, summarize, type MeasuredStats, type StatsSummary } from './statsHistory';

export type EngineStatus =
  | { kind: 'loading'; message?: string }
  | { kind: 'restarting'; reason: string }
  | { kind: 'ready' }
  | { kind: 'error'; reason: string }
  | { kind: 'stopped' };


export interface StatusInput {
  engine: EngineStatus;
  indexing: IndexingProgress | null;
  /** Recent completions, oldest first (the last one is shown in the tooltip). */
  recent: readonly MeasuredStats[];
  inlineEnabled: boolean;
}

/** The speed over the recent completions that can carry one (speedSample), or null. */
export function recentSpeed(recent: readonly MeasuredStats[]): StatsSummary | null {
  const sample = speedSample(recent);
  return sample.length > 0 ? summarize(sample) : null;
}

export function formatSpeed(speed: StatsSummary): string {
  const tokensPerSecond = Math.round(speed.meanTokensPerSecond);
  const perStep = speed.meanAcceptedPerPass.toFixed(1);
  const speedup = speed.measuredCompletions > 0 ? ` · ${speed.meanSpeedup.toFixed(1)}x` : '';
  return `$(zap) ${tokensPerSecond} tok/s · ${perStep}/step${speedup}`;
}

export function formatStatusText(input: StatusInput): string {
  switch (input.engine.kind) {
    case 'error':
      return '$(error) MSN: error';
    case 'loading':
      return '$(loading~spin) MSN: loading model';
    case 'restarting':
      return '$(loading~spin) MSN: restarting decoder';
    case 'stopped':
      return '$(circle-slash) MSN: stopped';
    case 'ready':
      break;
  }
  if (input.indexing && input.indexing.done < input.indexing.total) {
    return `$(loading~spin) MSN: indexing ${input.indexing.done}/${input.indexing.total} files`;
  }
  if (!input.inlineEnabled) return '$(circle-slash) MSN: inline off';
  const speed = recentSpeed(input.recent);
  return speed ? formatSpeed(speed) : '$(zap) MSN: ready';
}

export interface TooltipInput extends StatusInput {
  model: { name: string; parameters?: number; promptFormat: string; workspaceMixture?: boolean; plainGreedyOnly?: string } | null;
  /** The msnComplete.workspaceMixture setting. */
  mixtureSetting?: boolean;
  corpus: { documents: number; tokens: number } | null;
  workspaceTrusted: boolean;
  /** The models `npm run model` installed (./installedModels.ts), when they have been listed. */
  installed?: { models: readonly InstalledModel[]; home: string };
}

/** Markdown for the tooltip: the state, the last completion in full, the corpus, limits. */
export function formatTooltip(input: TooltipInput): string {
  const lines: string[] = ['**MSN Complete**', ''];
  switch (input.engine.kind) {
    case 'loading': lines.push(`Loading the model${input.engine.message ? `: ${input.engine.message}` : ''}`); break;
    case 'restarting': lines.push(`Restarting the decoder after: ${firstLine(input.engine.reason)}`); break;
    case 'error': lines.push(`Error: ${firstLine(input.engine.reason)}`); break;
    case 'stopped': lines.push('The decoder is stopped.'); break;
    case 'ready': lines.push(`Ready${input.model ? ` — model ${describeModel(input.model)}` : ''}`); break;
  }
  lines.push('', `Inline completions: ${input.inlineEnabled ? 'on' : 'off'}`);
  if (input.model) lines.push('', `Decoding: ${describeDecoding(input.model.workspaceMixture === true, input.mixtureSetting !== false)}`);
  if (input.model?.plainGreedyOnly) lines.push('', `Plain greedy only: ${input.model.plainGreedyOnly}.`);
  if (input.indexing && input.indexing.done < input.indexing.total) {
    lines.push('', `Indexing workspace files: ${input.indexing.done} of ${input.indexing.total}`);
  }
  if (input.corpus) lines.push('', `Retrieval corpus: ${input.corpus.documents} documents, ${input.corpus.tokens} tokens`);
  const speed = recentSpeed(input.recent);
  if (speed) {
    const speedup = speed.measuredCompletions > 0
      ? `${speed.meanSpeedup.toFixed(2)}x plain greedy over the ${speed.measuredCompletions} measured — measured, not estimated: once idle, the ` +
        'decoder decodes each completion again on the same cache, with the same trees and with plain greedy, and plain greedy is ' +
        'charged its idle time slowed as the completion was slowed (half in proportion, half as time: speedup.ts SLOWDOWN_IN_PROPORTION).'
      : 'speed-up not measured yet (the decoder measures it once idle).';
    lines.push('', `Speed over the last ${speed.completions} completions of ${MIN_SPEED_TOKENS}+ tokens: ${speed.meanTokensPerSecond.toFixed(0)} tokens/s; ${speedup}`);
  }
  const last = input.recent[input.recent.length - 1];
  if (last) {
    const s = last.stats;
    const baseline = last.speedup
      ? `plain greedy measured: ${plainTokensPerSecond(last.speedup).toFixed(0)} tokens/s`
      : s.strategy === 'ar' ? 'plain greedy itself' : 'speed-up not measured';
    lines.push(
      '',
      `Last completion (${s.strategy}, ${s.workspaceMixture ? 'model + workspace n-grams' : 'model alone'}): ${s.tokens} tokens in ${Math.round(s.elapsedMs)} ms; prompt ${s.promptTokens} tokens, ` +
        `${s.reusedPromptTokens} reused from the cache, prefill ${Math.round(s.prefillMs)} ms`,
      `- ${s.tokensPerSecond.toFixed(0)} tokens/s (${baseline})`,
      `- ${s.meanAcceptedPerPass.toFixed(2)} tokens per forward pass over ${s.forwardPasses} passes (tree budget ${s.treeBudget})`,
      `- draft tokens accepted: ${s.acceptedFromRetrieval} from retrieval, ${s.acceptedFromJacobi} from Jacobi, ${s.acceptedFromNoise} from noise`,
    );
  }
  if (input.installed) lines.push('', ...installedTooltipLines(input.installed.models, input.installed.home));
  if (!input.workspaceTrusted) {
    lines.push('', 'Restricted mode: workspace files are not indexed; only open documents feed retrieval.');
  }
  lines.push('', 'Click for decoding stats.');
  return lines.join('\n');
}

/** Which distribution is decoded greedily: the model's, or its mixture with the workspace's n-grams. */
export function describeDecoding(modelHasMixture: boolean, setting: boolean): string {
  if (!modelHasMixture) return 'the model alone (it has no mixture weights, mixture.json)';
  return setting
    ? 'the model mixed with the workspace\'s n-grams (msnComplete.workspaceMixture), greedily: every strategy gives the same text'
    : 'the model alone (msnComplete.workspaceMixture is off)';
}

function describeModel(model: NonNullable<TooltipInput['model']>): string {
  const size = model.parameters ? `${(model.parameters / 1e6).toFixed(1)}M parameters, ` : '';
  return `\`${model.name}\` (${size}${model.promptFormat})`;
}

function firstLine(text: string): string {
  return text.split('\n')[0];
}
