// Entry point of the extension host side: wires the decoding process, inline completions,
// the Generate command, the workspace corpus, the status bar and the stats view.

import * as vscode from 'vscode';
import type { DecodeStats } from '../protocol';
import { CompletionCache } from './logic/completionCache';
import { latencyBreakdown, StatsHistory, type HostTimings } from './logic/statsHistory';
import { ignoredWorkspaceModelPath } from './logic/workspaceModelPath';
import { DecoderService } from './decoderService';
import { GENERATE_COMMAND, runGenerate } from './generateCommand';
import { InlineCompletionProvider } from './inlineProvider';
import { SELECT_MODEL_COMMAND, SELECT_STRATEGY_COMMAND, selectModel, selectStrategy } from './selectModel';
import { affectsCorpus, affectsDecoderProcess, readSettings, SECTION } from './settings';
import { SHOW_STATS_COMMAND, StatusBar } from './statusBar';
import { StatsPanel } from './statsPanel';
import { WorkspaceWatcher } from './workspaceWatcher';

export const COMMANDS = {
  generate: GENERATE_COMMAND,
  toggleInline: 'msn-complete.toggleInline',
  showStats: SHOW_STATS_COMMAND,
  restartDecoder: 'msn-complete.restartDecoder',
  reindexWorkspace: 'msn-complete.reindexWorkspace',
  selectModel: SELECT_MODEL_COMMAND,
  selectStrategy: SELECT_STRATEGY_COMMAND,
} as const;

/** Files and unsaved editors, locally or remotely; not output panes, SCM inputs or diffs of git objects. */
const EDITABLE_DOCUMENTS: vscode.DocumentSelector = ['file', 'untitled', 'vscode-remote', 'vscode-vfs'].map((scheme) => ({ scheme }));

/** What `vscode.extensions.getExtension('msn-complete.msn-complete').exports` gives tests. */
export interface MsnCompleteApi {
  decoderPid(): number | undefined;
  decoderState(): string;
  whenReady(timeoutMs: number): Promise<boolean>;
  statusText(): string;
  recentStats(): readonly DecodeStats[];
  /** Documents and tokens in the decoder's retrieval corpus (null before the first update). */
  corpusSize(): { documents: number; tokens: number } | null;
}

let decoder: DecoderService | undefined;

export function activate(context: vscode.ExtensionContext): MsnCompleteApi {
  const log = vscode.window.createOutputChannel('MSN Complete', { log: true });
  const status = new StatusBar();
  const history = new StatsHistory();
  const cache = new CompletionCache();
  const statsPanel = new StatsPanel(context.extensionUri, history);
  decoder = new DecoderService(context.extensionPath, log);
  const corpus = new WorkspaceWatcher(decoder, status, log);
  const service = decoder;

  const recordStats = (source: 'inline' | 'generate') => (stats: DecodeStats, host?: HostTimings) => {
    history.add({ at: Date.now(), source, stats, host });
    // One line per completion with its latency budget (the e2e run reads these).
    if (host) log.info(`[latency] ${JSON.stringify(latencyBreakdown(stats, host))}`);
    else log.info(`[generate] ${JSON.stringify({ requestId: stats.requestId, strategy: stats.strategy, tokens: stats.tokens, decodeMs: Math.round(stats.elapsedMs), tokensPerSecond: Math.round(stats.tokensPerSecond) })}`);
    // An empty completion has no meaningful speed; keep showing the last real one.
    if (stats.tokens > 0) status.setLastStats(stats);
    statsPanel.update();
  };

  const inline = new InlineCompletionProvider(service, cache, recordStats('inline'), log, (uri) => corpus.contextVersion(uri));
  inline.onCacheHit = (calledAt, answeredAt) => log.info(`[latency] ${JSON.stringify({ cached: true, speculative: false, calledAt, answeredAt })}`);
  let loadedModelDir: string | null = null;
  context.subscriptions.push(
    log,
    status,
    statsPanel,
    corpus,
    service,
    service.onDidChangeState((state) => {
      status.setDecoderState(state);
      if (state.kind === 'ready') {
        // A different model predicts differently: cached completions are only valid per model.
        if (loadedModelDir !== state.model.modelDir) {
          cache.clear();
          if (state.model.plainGreedyOnly) void vscode.window.showWarningMessage(`MSN Complete: ${state.model.name}: ${state.model.plainGreedyOnly}.`);
        }
        loadedModelDir = state.model.modelDir;
        corpus.resync();
      }
    }),
    service.onSpeedup(({ requestId, measurement }) => {
      log.info(`[speedup] ${JSON.stringify({ requestId, ...measurement })}`);
      history.attachSpeedup(requestId, measurement);
      status.attachSpeedup(requestId, measurement);
      statsPanel.update();
    }),
    service.onProgress((progress) => {
      if (progress.phase === 'loading' || progress.phase === 'calibrating') status.setLoadingMessage(progress.message);
    }),
    vscode.languages.registerInlineCompletionItemProvider(EDITABLE_DOCUMENTS, inline),
    vscode.commands.registerCommand(COMMANDS.generate, () => runGenerate(service, recordStats('generate'))),
    vscode.commands.registerCommand(COMMANDS.toggleInline, toggleInline),
    vscode.commands.registerCommand(COMMANDS.showStats, () => statsPanel.show()),
    vscode.commands.registerCommand(COMMANDS.restartDecoder, () => service.restart()),
    vscode.commands.registerCommand(COMMANDS.reindexWorkspace, () => corpus.reindex()),
    vscode.commands.registerCommand(COMMANDS.selectModel, selectModel),
    vscode.commands.registerCommand(COMMANDS.selectStrategy, selectStrategy),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (affectsDecoderProcess(event)) void service.restart();
      else if (affectsCorpus(event)) void corpus.reindex();
      if (event.affectsConfiguration(`${SECTION}.enabled`)) status.setInlineEnabled(readSettings().enabled);
      if (event.affectsConfiguration(`${SECTION}.strategy`)) log.info(`[settings] strategy ${readSettings().strategy}`);
      if (event.affectsConfiguration(`${SECTION}.workspaceMixture`)) {
        log.info(`[settings] workspace mixture ${readSettings().workspaceMixture ? 'on' : 'off'}`);
        status.render();
      }
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => status.render()),
    vscode.workspace.onDidCloseTextDocument((document) => cache.forgetDocument(document.uri.toString())),
  );
  status.setInlineEnabled(readSettings().enabled);
  tellOnceAboutWorkspaceModelPath(context, log);
  service.start();

  return {
    decoderPid: () => service.pid,
    decoderState: () => service.state.kind,
    whenReady: (timeoutMs) => service.whenReady(timeoutMs),
    statusText: () => status.text,
    recentStats: () => history.all.map((record) => record.stats),
    corpusSize: () => status.corpusSize,
  };
}

const MODEL_PATH_NOTICE_KEY = 'msnComplete.workspaceModelPathNoticeShown';

function tellOnceAboutWorkspaceModelPath(context: vscode.ExtensionContext, log: vscode.LogOutputChannel): void {
  const notice = ignoredWorkspaceModelPath(vscode.workspace.getConfiguration(SECTION).inspect<string>('modelPath'));
  if (!notice) return;
  log.warn(notice);
  if (context.workspaceState.get<boolean>(MODEL_PATH_NOTICE_KEY)) return;
  void context.workspaceState.update(MODEL_PATH_NOTICE_KEY, true);
  void vscode.window.showInformationMessage(notice);
}

/** Shuts the decoding process down (shutdown request, then a kill after a grace period). */
export async function deactivate(): Promise<void> {
  await decoder?.stop();
  decoder = undefined;
}

async function toggleInline(): Promise<void> {
  const config = vscode.workspace.getConfiguration(SECTION);
  const inspected = config.inspect<boolean>('enabled');
  const target = inspected?.workspaceFolderValue !== undefined
    ? vscode.ConfigurationTarget.WorkspaceFolder
    : inspected?.workspaceValue !== undefined ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
  const enabled = !readSettings().enabled;
  await config.update('enabled', enabled, target);
  void vscode.window.setStatusBarMessage(`MSN Complete: inline completions ${enabled ? 'on' : 'off'}`, 3000);
}
