// The speed status bar item: state while loading/indexing, then tokens/s, tokens per step and the
// measured speed-up over recent completions (texts in ./logic/statusText.ts).

import * as vscode from 'vscode';
import type { DecodeStats, ModelInfo, SpeedupMeasurement } from '../protocol';
import { StatsHistory, type MeasuredStats } from './logic/statsHistory';
import type { SupervisorState } from './logic/decoderSupervisor';
import type { IndexingProgress } from '../protocol';
import { formatStatusText, formatTooltip, type EngineStatus } from './logic/statusText';
import { listAllInstalled, modelsHome, type InstalledModel } from './logic/installedModels';
import { readSettings, SECTION } from './settings';

export const SHOW_STATS_COMMAND = 'msn-complete.showStats';
const RECENT_KEPT = 100;

export class StatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private engine: EngineStatus = { kind: 'loading' };
  private indexing: IndexingProgress | null = null;
  private readonly recent = new StatsHistory<MeasuredStats>(RECENT_KEPT);
  private inlineEnabled = true;
  private model: ModelInfo | null = null;
  private corpus: { documents: number; tokens: number } | null = null;
  private installed: { models: InstalledModel[]; home: string } | undefined;

  constructor() {
    this.item = vscode.window.createStatusBarItem('msn-complete.status', vscode.StatusBarAlignment.Right, 100);
    this.item.name = 'MSN Complete';
    this.item.command = SHOW_STATS_COMMAND;
    this.render();
    this.item.show();
  }

  get text(): string {
    return this.item.text;
  }

  /** The decoder's corpus size as of its last answer to a corpus update. */
  get corpusSize(): { documents: number; tokens: number } | null {
    return this.corpus;
  }

  setDecoderState(state: SupervisorState, loadingMessage?: string): void {
    switch (state.kind) {
      case 'starting': this.engine = { kind: 'loading', message: loadingMessage }; break;
      case 'ready':
        this.engine = { kind: 'ready' };
        this.model = state.model;
        void this.refreshInstalled();
        break;
      case 'restarting': this.engine = { kind: 'restarting', reason: state.reason }; break;
      case 'failed': this.engine = { kind: 'error', reason: state.reason }; break;
      case 'stopped': this.engine = { kind: 'stopped' }; break;
    }
    this.render();
  }

  setLoadingMessage(message: string): void {
    if (this.engine.kind !== 'loading') return;
    this.engine = { kind: 'loading', message };
    this.render();
  }

  setIndexing(progress: IndexingProgress | null): void {
    this.indexing = progress;
    this.render();
  }

  setCorpusSize(corpus: { documents: number; tokens: number }): void {
    this.corpus = corpus;
    this.render();
  }

  setLastStats(stats: DecodeStats): void {
    this.recent.add({ stats });
    this.render();
  }

  /** A completion's measured speed-up, which arrives after its stats (or, rarely, before). */
  attachSpeedup(requestId: number, measurement: SpeedupMeasurement): void {
    this.recent.attachSpeedup(requestId, measurement);
    this.render();
  }

  setInlineEnabled(enabled: boolean): void {
    this.inlineEnabled = enabled;
    this.render();
  }

  /** Lists the installed models again (the folder `npm run model` writes to) for the tooltip. */
  async refreshInstalled(): Promise<void> {
    const home = modelsHome();
    const current = vscode.workspace.getConfiguration(SECTION).inspect<string>('modelPath')?.globalValue ?? '';
    this.installed = { models: await listAllInstalled(home, current), home };
    this.render();
  }

  /** Re-renders (e.g. when workspace trust changes). */
  render(): void {
    const input = { engine: this.engine, indexing: this.indexing, recent: this.recent.all, inlineEnabled: this.inlineEnabled };
    this.item.text = formatStatusText(input);
    const tooltip = new vscode.MarkdownString(formatTooltip({
      ...input,
      model: this.model,
      corpus: this.corpus,
      workspaceTrusted: vscode.workspace.isTrusted,
      mixtureSetting: readSettings().workspaceMixture,
      installed: this.installed,
    }));
    this.item.tooltip = tooltip;
    this.item.backgroundColor = this.engine.kind === 'error' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
  }

  dispose(): void {
    this.item.dispose();
  }
}
