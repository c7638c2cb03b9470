// The decoding stats view: a webview that charts recent completions. The drawing is done by
// media/stats.js (inline SVG, no libraries); this side only feeds it data under a strict CSP.

import * as crypto from 'node:crypto';
import * as vscode from 'vscode';
import type { CompletionRecord, StatsHistory } from './logic/statsHistory';
import { measurementOf, summarize } from './logic/statsHistory';
import { plainTokensPerSecond } from '../speedup';

export class StatsPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | null = null;

  constructor(private readonly extensionUri: vscode.Uri, private readonly history: StatsHistory) {}

  show(): void {
    if (this.panel) {
      this.panel.reveal(undefined, true);
      this.post();
      return;
    }
    const media = vscode.Uri.joinPath(this.extensionUri, 'media');
    this.panel = vscode.window.createWebviewPanel('msnCompleteStats', 'MSN Complete: Decoding Stats', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, {
      enableScripts: true,
      localResourceRoots: [media],
    });
    this.panel.iconPath = vscode.Uri.joinPath(media, 'icon.png');
    this.panel.webview.html = this.html(this.panel.webview, media);
    this.panel.webview.onDidReceiveMessage((message: { type?: string }) => {
      if (message?.type === 'ready') this.post();
    });
    this.panel.onDidDispose(() => {
      this.panel = null;
    });
  }

  /** Called after every completion so an open view stays live. */
  update(): void {
    if (this.panel?.visible) this.post();
  }

  dispose(): void {
    this.panel?.dispose();
  }

  private post(): void {
    const records: readonly CompletionRecord[] = this.history.all;
    // Plain greedy's measured tokens/s per completion, 0 where none was measured (the chart's reference line).
    const plain = (r: CompletionRecord) => {
      const measurement = measurementOf(r);
      return measurement ? plainTokensPerSecond(measurement) : 0;
    };
    const charted = records.map((record) => ({ ...record, plainTokensPerSecond: plain(record) }));
    void this.panel?.webview.postMessage({ type: 'stats', records: charted, summary: summarize(records) });
  }

  private html(webview: vscode.Webview, media: vscode.Uri): string {
    const nonce = crypto.randomBytes(16).toString('base64');
    const script = webview.asWebviewUri(vscode.Uri.joinPath(media, 'stats.js'));
    const style = webview.asWebviewUri(vscode.Uri.joinPath(media, 'stats.css'));
    const csp = [
      "default-src 'none'",
      `style-src ${webview.cspSource}`,
      `script-src 'nonce-${nonce}'`,
      `img-src ${webview.cspSource}`,
    ].join('; ');
    return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <meta http-equiv="Content-Security-Policy" content="${csp}">
  <meta name="viewport" content="width=device-width, initial-scale=1.0">
  <link rel="stylesheet" href="${style}">
  <title>Decoding Stats</title>
</head>
<body>
  <h1>Decoding stats</h1>
  <p id="summary" class="summary">No completions yet. Type in an editor or run “MSN Complete: Generate”.</p>
  <section><h2>Tokens per second</h2><div id="chart-speed" class="chart" role="img" aria-label="tokens per second of recent completions"></div></section>
  <section><h2>Accepted tokens per forward pass</h2><div id="chart-accepted" class="chart" role="img" aria-label="accepted tokens per step"></div></section>
  <section><h2>Inline completion latency: where the time went</h2><div id="chart-latency" class="chart" role="img" aria-label="latency breakdown of recent inline completions"></div></section>
  <section><h2>Draft tokens accepted: retrieval vs Jacobi</h2><div id="chart-sources" class="chart" role="img" aria-label="accepted draft tokens by source"></div></section>
  <script nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
  }
}
