import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Debian's Chromium (scripts/setup-browser.sh installs it); nothing downloads a browser. */
export const CHROMIUM = '/usr/bin/chromium';
const FLAGS = [
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
  /** Errors the page threw or logged, and dialogs it opened (an XSS payload that ran would open one). */
  problems: string[];
  /**
   * Accepts the next confirm() whose message contains `text` (a Delete button asking first) instead of
   * dismissing it and counting it as a problem.
   */
  confirmNext(text: string): void;
  close(): Promise<void>;
}

/** Starts Chromium with a fresh profile directory (--user-data-dir, via a persistent context). */
export async function startBrowser(): Promise<Browser> {
  const profile = mkdtempSync(path.join(tmpdir(), 'gantry-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1280, height: 900 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const problems: string[] = [];
  let expectedConfirm: string | null = null;
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('dialog', (d) => {
    if (expectedConfirm !== null && d.type() === 'confirm' && d.message().includes(expectedConfirm)) {
      expectedConfirm = null;
      void d.accept();
      return;
    }
    problems.push(`dialog: ${d.type()} ${d.message()}`);
    void d.dismiss();
  });
  return {
    context,
    page,
    problems,
    confirmNext(text) {
      expectedConfirm = text;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

const AXE = readFileSync(new URL('../../node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');

/** axe-core's serious and critical violations on the current page (WCAG 2 A/AA rules). */
export async function axeViolations(page: Page): Promise<string[]> {
  // Evaluated through the DevTools protocol: the page's Content-Security-Policy rightly forbids inline scripts.
  await page.evaluate(AXE);
  const result = await page.evaluate(async () => {
    const axe = (globalThis as any).axe;
    const r = await axe.run((globalThis as any).document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa'] },
    });
    return r.violations
      .filter((v: any) => v.impact === 'serious' || v.impact === 'critical')
      .map((v: any) => `${v.id} (${v.impact}): ${v.nodes.map((n: any) => n.target.join(' ')).join(', ')}`);
  });
  return result as string[];
}

/** How far the page is wider than its viewport (0 when nothing overflows horizontally). */
export async function horizontalOverflow(page: Page): Promise<number> {
  return page.evaluate(() => {
    const root = (globalThis as any).document.documentElement;
    return root.scrollWidth - root.clientWidth;
  });
}
