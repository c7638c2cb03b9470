// Launches Debian's Chromium through playwright-core with a fresh profile (no downloaded browser
// builds: they cannot be fetched here). The flags keep it from reaching out to the network.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM_BIN = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface Browser {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

export async function launchBrowser(viewport = { width: 1400, height: 900 }): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM_BIN)) throw new Error(`${CHROMIUM_BIN} is missing: run test/harness/install.sh first`);
  const profileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'msn-chromium-'));
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM_BIN,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport,
    // Chromium's crash handler and caches follow XDG: keep them inside the throwaway profile.
    env: {
      ...process.env,
      XDG_CONFIG_HOME: path.join(profileDir, 'xdg-config'),
      XDG_CACHE_HOME: path.join(profileDir, 'xdg-cache'),
    } as Record<string, string>,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  let closed: Promise<void> | undefined;
  return {
    context,
    page,
    close() {
      closed ??= context.close().finally(() => fs.rmSync(profileDir, { recursive: true, force: true }));
      return closed;
    },
  };
}
