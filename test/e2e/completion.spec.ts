// End to end, as a person uses it: the packaged VSIX installed into a fresh code-server, the
// shipped model, Debian Chromium driving the workbench. Screenshots of every step land in
// test-results/e2e/.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { launchBrowser, type Browser } from '../harness/browser';
import { modelOverrideSettings, processesOf, REPO_ROOT, startCodeServer, type CodeServer } from '../harness/codeServer';
import { copyWorkspace, E2E_WORKSPACE } from '../harness/workspace';
import {
  focusEditorEnd, ghostText, GHOST_TEXT, openFromExplorer, runFromPalette, Screenshots,
  visibleEditorText, waitForGhostText, waitForStatus, waitForWorkbench,
} from './workbench';

const VSIX = path.resolve(process.env.MSN_E2E_VSIX ?? path.join(REPO_ROOT, 'msn-complete-linux-x64.vsix'));
const SCREENSHOTS = path.join(REPO_ROOT, 'test-results/e2e');
const DECODER_SCRIPT = 'dist/decoder/main.js';
const READY_OR_SPEED = /MSN: ready|tok\/s/;
const SPEED = /(\d+) tok\/s/;
const GHOST_TIMEOUT_MS = 30_000;

/** Widgets that would cover or dismiss ghost text are off; ghost text itself is on. */
const E2E_USER_SETTINGS = {
  'editor.quickSuggestions': { other: 'off', comments: 'off', strings: 'off' },
  'editor.suggestOnTriggerCharacters': false,
  'editor.parameterHints.enabled': false,
  'editor.hover.enabled': false,
  'editor.autoClosingBrackets': 'never',
  'editor.autoClosingQuotes': 'never',
  'editor.autoIndent': 'none',
  'msnComplete.generateMaxTokens': 64,
};

/** Prompts typed at the end of src/vector.ts; each is new, so no answer comes from the cache. */
const LATENCY_PROMPTS = [
  'export function negate(a: Vector): Vector {\n  return ',
  'export function cross(a: Vector, b: Vector): number {\n  return ',
  'export function lerp(a: Vector, b: Vector, t: number): Vector {\n  return ',
  'export function perpendicular(a: Vector): Vector {\n  return ',
  'export function equals(a: Vector, b: Vector): boolean {\n  return ',
];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** The name in the msn.json of the model the extension loads (the shipped one unless MSN_TEST_MODEL). */
function modelName(): string {
  const dir = process.env.MSN_TEST_MODEL ? path.resolve(process.env.MSN_TEST_MODEL) : path.join(REPO_ROOT, 'model');
  return (JSON.parse(fs.readFileSync(path.join(dir, 'msn.json'), 'utf8')) as { name: string }).name;
}

function decoderProcesses(server: CodeServer): { pid: number; cmdline: string }[] {
  return processesOf(server).filter((p) => p.cmdline.includes(DECODER_SCRIPT));
}

/**
 * Types `prompt` on a new last line and returns the ms from its last keystroke to ghost text.
 * Ghost text from earlier keystrokes is dismissed (Escape) before that last key, so the time
 * covers the whole path: debounce, decoding, rendering.
 */
async function typeAndTimeGhostText(page: Page, prompt: string): Promise<{ latencyMs: number; ghost: string }> {
  await focusEditorEnd(page);
  await page.keyboard.press('Enter');
  await page.keyboard.type(prompt.slice(0, -1), { delay: 20 });
  await page.waitForTimeout(300);
  await page.keyboard.press('Escape');
  await page.locator(GHOST_TEXT).first().waitFor({ state: 'detached', timeout: 5_000 }).catch(() => undefined);
  const start = performance.now();
  await page.keyboard.press(prompt.at(-1) === ' ' ? 'Space' : prompt.at(-1)!);
  const ghost = await waitForGhostText(page, GHOST_TIMEOUT_MS);
  return { latencyMs: performance.now() - start, ghost };
}

function lastLines(text: string, count = 8): string {
  return text.split('\n').slice(-count).join('\n');
}

/**
 * Undoes edits until the end of the file looks as it did (the tests type at the end, and the
 * next try must not see the previous one). Compares the last lines: the viewport may scroll.
 */
async function undoUntil(page: Page, original: string, maxUndos = 200): Promise<void> {
  await page.keyboard.press('Escape');
  for (let i = 0; i < maxUndos; i++) {
    if (lastLines(await visibleEditorText(page)) === lastLines(original)) return;
    await page.keyboard.press('Control+Z');
  }
  throw new Error('could not undo back to the original text');
}

describe('MSN Complete end to end (VSIX in code-server, Chromium)', function () {
  let scratch: string;
  let server: CodeServer;
  let browser: Browser;
  let page: Page;
  let shots: Screenshots;
  /** What the editor shows of src/vector.ts as saved. */
  let original: string;

  before(async function () {
    assert.ok(fs.existsSync(VSIX), `${VSIX} exists (test/e2e/run.sh builds it with npm run package)`);
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'msn-e2e-'));
    const workspace = copyWorkspace(E2E_WORKSPACE, path.join(scratch, 'workspace'));
    server = await startCodeServer({ installVsix: [VSIX], userSettings: E2E_USER_SETTINGS, machineSettings: modelOverrideSettings() });
    const installed = fs.readdirSync(server.extensionsDir).filter((d) => d.startsWith('msn-complete.msn-complete'));
    assert.equal(installed.length, 1, `the VSIX was installed into ${server.extensionsDir}: ${installed}`);
    shots = new Screenshots(SCREENSHOTS);
    console.log(`    code-server ${server.url}, model ${modelName()}, screenshots in ${SCREENSHOTS}`);
    browser = await launchBrowser();
    page = browser.page;
    await page.goto(server.workbenchUrl(workspace));
    await waitForWorkbench(page);
  });

  let anyFailed = false;
  afterEach(function () {
    if (this.currentTest?.state === 'failed') anyFailed = true;
  });

  after(async function () {
    if (anyFailed && server) console.log(`    the extension's log:\n${server.logTail('MSN Complete')}`);
    await browser?.close();
    await server?.stop();
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
    console.log(`    screenshots: ${SCREENSHOTS}`);
  });

  it('loads the extension and its model (status bar says ready)', async function () {
    await waitForStatus(page, READY_OR_SPEED, 120_000);
    assert.equal(decoderProcesses(server).length, 1, 'one decoding process runs');
    await shots.take(page, 'workbench-ready');
  });

  it('opens a file by clicking it in the explorer', async function () {
    await openFromExplorer(page, 'src/vector.ts');
    assert.match(await visibleEditorText(page), /export function add\(a: Vector, b: Vector\): Vector/);
    await focusEditorEnd(page);
    original = await visibleEditorText(page);
    await shots.take(page, 'file-open');
  });

  it('shows ghost text from the model while typing and Tab inserts it', async function () {
    const latencies: number[] = [];
    let lastGhost = '';
    for (const [i, prompt] of LATENCY_PROMPTS.entries()) {
      const { latencyMs, ghost } = await typeAndTimeGhostText(page, prompt);
      latencies.push(latencyMs);
      lastGhost = ghost;
      if (i === 0) await shots.take(page, 'ghost-text');
      if (i < LATENCY_PROMPTS.length - 1) await undoUntil(page, original);
    }
    console.log(`    keystroke -> ghost text: ${latencies.map((ms) => ms.toFixed(0)).join(', ')} ms; median ${median(latencies).toFixed(0)} ms`);
    fs.writeFileSync(path.join(SCREENSHOTS, 'latency.json'), JSON.stringify({
      model: modelName(),
      keystrokeToGhostTextMs: latencies.map((ms) => Math.round(ms)),
      medianMs: Math.round(median(latencies)),
      measuredAt: new Date().toISOString(),
    }, null, 2));
    const shown = (await ghostText(page)) || lastGhost;
    const lastLine = `${LATENCY_PROMPTS.at(-1)!.split('\n').at(-1)!}${shown.split('\n')[0]}`;
    assert.ok(!(await visibleEditorText(page)).includes(lastLine), 'the suggestion is not in the document before Tab');
    await page.keyboard.press('Tab');
    await page.locator(GHOST_TEXT).first().waitFor({ state: 'detached', timeout: 5_000 });
    assert.ok((await visibleEditorText(page)).includes(lastLine), `after Tab the editor has ${JSON.stringify(lastLine)}`);
    await shots.take(page, 'ghost-text-accepted');
    await undoUntil(page, original);
  });

  it('runs Generate from the command palette and inserts text', async function () {
    await focusEditorEnd(page);
    await page.keyboard.press('Enter');
    await page.keyboard.type('export function sum(vectors: Vector[]): Vector {\n  ', { delay: 10 });
    await page.keyboard.press('Escape');
    const before = await visibleEditorText(page);
    await runFromPalette(page, 'MSN Complete: Generate');
    const deadline = Date.now() + 60_000;
    let after = before;
    while (after === before && Date.now() < deadline) {
      await page.waitForTimeout(200);
      after = await visibleEditorText(page);
    }
    assert.notEqual(after, before, 'Generate changed the editor text');
    await page.waitForTimeout(1000); // let the stream finish for the screenshot
    await shots.take(page, 'generate');
  });

  it('shows tokens/s in the status bar', async function () {
    const text = await waitForStatus(page, SPEED, 30_000);
    const tokensPerSecond = Number(SPEED.exec(text)![1]);
    assert.ok(tokensPerSecond > 0, `status bar speed: ${text}`);
    console.log(`    status bar: ${text}`);
    await shots.take(page, 'status-bar');
    await undoUntil(page, original);
  });

  it('completes again after the decoding process is killed', async function () {
    const [decoder] = decoderProcesses(server);
    assert.ok(decoder, `the decoding process (${DECODER_SCRIPT}) runs under code-server`);
    process.kill(decoder.pid, 'SIGKILL');
    const deadline = Date.now() + 120_000;
    let replacement: { pid: number } | undefined;
    while (!replacement && Date.now() < deadline) {
      await page.waitForTimeout(200);
      replacement = decoderProcesses(server).find((p) => p.pid !== decoder.pid);
    }
    assert.ok(replacement, 'a new decoding process was started');
    await waitForStatus(page, READY_OR_SPEED, 120_000);
    await shots.take(page, 'decoder-restarted');
    const { latencyMs, ghost } = await typeAndTimeGhostText(page, 'export function manhattan(a: Vector, b: Vector): number {\n  return ');
    assert.ok(ghost.trim().length > 0);
    console.log(`    after restart: ghost text in ${latencyMs.toFixed(0)} ms`);
    await shots.take(page, 'ghost-text-after-restart');
    assert.equal(await ghostText(page) !== '', true);
  });
});
