// What a person does in the VS Code workbench, expressed with the selectors that work in
// code-server 4.139 (test/harness/README.md): the explorer, the editor, ghost text, the command palette
// and the status bar.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Locator, Page } from 'playwright-core';

export const GHOST_TEXT = '.monaco-editor [class*="ghost-text"]';
export const STATUS_BAR_ITEMS = '#workbench\\.parts\\.statusbar .statusbar-item';
const PALETTE_INPUT = '.quick-input-widget input';

/**
 * The little of the DOM the page functions below use. The project compiles without the DOM
 * library (its code runs in Node), so these functions, which run in the page, type it here.
 */
interface DomElement {
  className: string;
  textContent: string | null;
  style: { top: string };
  cloneNode(deep: boolean): DomElement;
  remove(): void;
  querySelector(selector: string): DomElement | null;
  querySelectorAll(selector: string): Iterable<DomElement>;
  closest(selector: string): DomElement | null;
  getBoundingClientRect(): { top: number };
}

export async function waitForWorkbench(page: Page, timeoutMs = 120_000): Promise<void> {
  await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: timeoutMs });
  await page.locator(STATUS_BAR_ITEMS).first().waitFor({ state: 'visible', timeout: timeoutMs });
}

export function explorerItem(page: Page, name: string): Locator {
  return page.locator('.explorer-folders-view').getByRole('treeitem', { name, exact: true });
}

/** Opens a file by clicking through the explorer tree, e.g. `src/vector.ts`. */
export async function openFromExplorer(page: Page, relativePath: string): Promise<void> {
  const explorer = page.locator('.explorer-folders-view');
  if (!(await explorer.isVisible())) await page.keyboard.press('Control+Shift+E');
  await explorer.waitFor({ state: 'visible', timeout: 30_000 });
  const parts = relativePath.split('/');
  for (const [i, part] of parts.entries()) {
    const row = explorerItem(page, part);
    await row.waitFor({ state: 'visible', timeout: 30_000 });
    const isFile = i === parts.length - 1;
    const expanded = await row.getAttribute('aria-expanded');
    if (isFile || expanded !== 'true') await row.click();
  }
  const tab = page.locator('.tabs-container .tab').filter({ hasText: parts.at(-1) });
  await tab.waitFor({ state: 'visible', timeout: 30_000 });
  await page.locator('.editor-instance .monaco-editor .view-lines').first().waitFor({ state: 'visible' });
}

/** Focuses the active editor and moves the cursor to the end of the document. */
export async function focusEditorEnd(page: Page): Promise<void> {
  await page.locator('.editor-instance .monaco-editor .view-lines').first().click();
  await page.keyboard.press('Control+End');
}

/**
 * The document text of the lines the editor renders, in order, without ghost text (Monaco draws
 * the first line of a suggestion as decorations inside the real line, and spaces as U+00A0).
 */
export async function visibleEditorText(page: Page): Promise<string> {
  const lines = await page.locator('.editor-instance .monaco-editor .view-lines .view-line').evaluateAll((nodes) =>
    (nodes as unknown as DomElement[])
      .map((node) => {
        const copy = node.cloneNode(true);
        for (const ghost of [...copy.querySelectorAll('[class*="ghost-text"]')]) ghost.remove();
        return { top: parseFloat(node.style.top || '0'), text: copy.textContent ?? '' };
      })
      .sort((a, b) => a.top - b.top)
      .map((line) => line.text),
  );
  return lines.join('\n').replace(/\u00a0/g, ' ');
}

/**
 * The ghost text shown, or '': the part drawn inside the cursor's line first, then the extra
 * lines Monaco draws in a view zone below it.
 */
export async function ghostText(page: Page): Promise<string> {
  const text = await page.locator('.editor-instance .monaco-editor').first().evaluate((element) => {
    const editor = element as unknown as DomElement;
    const spans = [...editor.querySelectorAll('[class*="ghost-text"]')].filter((el) => el.querySelector('[class*="ghost-text"]') === null);
    const inline = spans.filter((el) => el.className.includes('ghost-text-decoration')).map((el) => el.textContent ?? '').join('');
    const lines = new Map<DomElement, string>();
    for (const el of spans.filter((e) => !e.className.includes('ghost-text-decoration'))) {
      const line = el.closest('.view-line') ?? el;
      lines.set(line, (lines.get(line) ?? '') + (el.textContent ?? ''));
    }
    const below = [...lines.entries()]
      .sort(([a], [b]) => a.getBoundingClientRect().top - b.getBoundingClientRect().top)
      .map(([, t]) => t);
    return [inline, ...below].join('\n');
  });
  return text.replace(/\u00a0/g, ' ').replace(/^\n+$/, '');
}

export async function waitForGhostText(page: Page, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await ghostText(page);
    if (text.trim() !== '') return text;
    if (Date.now() > deadline) throw new Error(`no ghost text within ${timeoutMs} ms`);
    await page.waitForTimeout(10);
  }
}

/** Runs a command from the palette by its title, e.g. "MSN Complete: Generate". */
export async function runFromPalette(page: Page, title: string): Promise<void> {
  await page.keyboard.press('Control+Shift+P');
  const input = page.locator(PALETTE_INPUT);
  await input.waitFor({ state: 'visible', timeout: 15_000 });
  await input.fill(`>${title}`);
  const entry = page.locator('.quick-input-widget .monaco-list-row').filter({ hasText: title }).first();
  await entry.waitFor({ state: 'visible', timeout: 15_000 });
  await page.keyboard.press('Enter');
}

export async function statusBarTexts(page: Page): Promise<string[]> {
  return (await page.locator(STATUS_BAR_ITEMS).allTextContents()).map((t) => t.trim()).filter((t) => t !== '');
}

/** Waits until a status bar item's text matches, and returns that text. */
export async function waitForStatus(page: Page, pattern: RegExp, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = (await statusBarTexts(page)).find((text) => pattern.test(text));
    if (match) return match;
    if (Date.now() > deadline) throw new Error(`no status bar item matching ${pattern} within ${timeoutMs} ms; items: ${JSON.stringify(await statusBarTexts(page))}`);
    await page.waitForTimeout(100);
  }
}

export class Screenshots {
  private count = 0;
  constructor(readonly dir: string) {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
  }

  async take(page: Page, step: string): Promise<string> {
    this.count += 1;
    const file = path.join(this.dir, `${String(this.count).padStart(2, '0')}-${step}.png`);
    await page.screenshot({ path: file });
    return file;
  }
}
