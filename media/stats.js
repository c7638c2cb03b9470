// Draws the decoding stats view: four small SVG bar charts of recent completions.
// Runs inside a CSP-locked webview; no libraries, no network.
(function () {
  'use strict';
  const vscode = acquireVsCodeApi();
  const SVG = 'http://www.w3.org/2000/svg';
  const WIDTH = 560;
  const HEIGHT = 150;
  const MARGIN = { left: 44, right: 8, top: 10, bottom: 22 };

  function element(name, attributes, parent) {
    const node = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
    if (parent) parent.appendChild(node);
    return node;
  }

  function niceMax(value) {
    if (!(value > 0)) return 1;
    const magnitude = Math.pow(10, Math.floor(Math.log10(value)));
    for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= value) return step * magnitude;
    return 10 * magnitude;
  }

  /**
   * series: [{ key, className, label }]; stacked bars per record; optional line of reference
   * values (e.g. plain greedy tokens/s) drawn as a dashed polyline.
   */
  function barChart(container, records, series, options) {
    container.textContent = '';
    const svg = element('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, width: '100%', class: 'chart-svg' }, container);
    const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
    const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
    const totals = records.map((record) => series.reduce((sum, s) => sum + s.value(record), 0));
    const reference = options.reference ? records.map(options.reference) : [];
    const max = niceMax(Math.max(0, ...totals, ...reference));
    const y = (value) => MARGIN.top + plotHeight - (value / max) * plotHeight;

    for (const fraction of [0, 0.5, 1]) {
      const value = max * fraction;
      element('line', { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y(value), y2: y(value), class: 'grid' }, svg);
      const label = element('text', { x: MARGIN.left - 6, y: y(value) + 4, class: 'axis', 'text-anchor': 'end' }, svg);
      label.textContent = options.format(value);
    }
    const slot = plotWidth / Math.max(records.length, 1);
    const barWidth = Math.max(2, Math.min(24, slot * 0.7));
    records.forEach((record, index) => {
      let base = 0;
      const x = MARGIN.left + slot * index + (slot - barWidth) / 2;
      for (const s of series) {
        const value = s.value(record);
        if (value <= 0) continue;
        const rect = element('rect', { x, y: y(base + value), width: barWidth, height: y(base) - y(base + value), class: s.className }, svg);
        const title = element('title', {}, rect);
        title.textContent = `${s.label}: ${options.format(value)} (${record.source}, ${record.stats.strategy}${record.stats.workspaceMixture ? ' + workspace mixture' : ''}, ${record.stats.tokens} tokens)`;
        base += value;
      }
    });
    if (reference.length > 0) {
      const points = reference.map((value, index) => `${MARGIN.left + slot * index + slot / 2},${y(value)}`).join(' ');
      element('polyline', { points, class: 'reference' }, svg);
    }
    const legend = document.createElement('div');
    legend.className = 'legend';
    for (const s of series.concat(options.referenceLabel ? [{ className: 'reference-swatch', label: options.referenceLabel }] : [])) {
      const entry = document.createElement('span');
      const swatch = document.createElement('span');
      swatch.className = `swatch ${s.className}`;
      entry.appendChild(swatch);
      entry.appendChild(document.createTextNode(s.label));
      legend.appendChild(entry);
    }
    container.appendChild(legend);
  }

  function render(message) {
    const records = message.records || [];
    const summary = message.summary;
    const summaryNode = document.getElementById('summary');
    if (records.length === 0) {
      summaryNode.textContent = 'No completions yet. Type in an editor or run “MSN Complete: Generate”.';
    } else {
      summaryNode.textContent =
        `${summary.completions} completions, ${summary.tokens} tokens: ` +
        `${summary.meanTokensPerSecond.toFixed(0)} tokens/s, ` +
        `${summary.meanAcceptedPerPass.toFixed(2)} tokens per step, ` +
        (summary.measuredCompletions > 0 ? `${summary.meanSpeedup.toFixed(2)}x plain greedy (measured on ${summary.measuredCompletions}); ` : 'speed-up not measured yet; ') +
        `draft tokens accepted: ${summary.acceptedFromRetrieval} retrieval, ${summary.acceptedFromJacobi} Jacobi.`;
    }
    barChart(document.getElementById('chart-speed'), records,
      [{ value: (r) => r.stats.tokensPerSecond, className: 'bar-speed', label: 'tokens/s' }],
      { format: (v) => v.toFixed(0), reference: (r) => r.plainTokensPerSecond, referenceLabel: 'plain greedy (measured on the same completion, once idle)' });
    const timed = records.filter((r) => r.host);
    const transport = (r) => (r.host.cached ? 0 : Math.max(0, r.host.roundTripMs - r.stats.queueMs - r.stats.prefillMs - r.stats.elapsedMs));
    barChart(document.getElementById('chart-latency'), timed,
      [
        { value: (r) => r.host.debounceMs, className: 'bar-debounce', label: 'debounce' },
        { value: transport, className: 'bar-transport', label: 'host ⇄ decoder' },
        { value: (r) => r.stats.queueMs, className: 'bar-queue', label: 'queue' },
        { value: (r) => r.stats.prefillMs, className: 'bar-prefill', label: 'prefill' },
        { value: (r) => r.stats.elapsedMs, className: 'bar-decode', label: 'decode' },
      ],
      { format: (v) => `${v.toFixed(0)} ms` });
    barChart(document.getElementById('chart-accepted'), records,
      [{ value: (r) => r.stats.meanAcceptedPerPass, className: 'bar-accepted', label: 'tokens per step' }],
      { format: (v) => v.toFixed(1) });
    barChart(document.getElementById('chart-sources'), records,
      [
        { value: (r) => r.stats.acceptedFromRetrieval, className: 'bar-retrieval', label: 'from retrieval' },
        { value: (r) => r.stats.acceptedFromJacobi, className: 'bar-jacobi', label: 'from Jacobi' },
      ],
      { format: (v) => (Number.isInteger(v) ? String(v) : v.toFixed(1)) });
  }

  window.addEventListener('message', (event) => {
    if (event.data && event.data.type === 'stats') render(event.data);
  });
  vscode.postMessage({ type: 'ready' });
})();
