// The real thing for the screens' end-to-end tests: the relay started as `npm start` starts it (serving the
// built PWA, a fresh development consortium in its own HYGEIA_DEV_DIR), and Chromium contexts (each its own
// profile) for the clinics' tablets (/?dev=clinic-N) and a patient's phone (/?role=patient). Chromium's fake
// camera and microphone stand in for real ones, already allowed, so consults run unattended.
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { expect } from 'vitest';
import { launchChromium } from '../../setup/browser.ts';
import { distDir, eventually, repoRoot, spawnRelay, type RelayProcess } from '../../integration/relay/helpers.ts';
import { seriousViolations } from './a11y.ts';

export const TABLET = { width: 1024, height: 768 } as const;
export const PHONE = { width: 390, height: 844 } as const;
export const SCREENSHOTS = join(repoRoot, 'test-results', 'screenshots');
export const SYNTHEA = join(repoRoot, '..', 'shared', 'data', 'synthea');

export interface Stack {
  readonly relay: RelayProcess;
  readonly browser: Browser;
  readonly devDir: string;
  /** Page errors (uncaught exceptions) seen in any page, for the tests to assert none. */
  readonly pageErrors: string[];
  close(): Promise<void>;
}

/** The relay as `npm start` runs it, with a fresh development consortium; `env` adds relay settings (ICE_SERVERS…). */
export async function startStack(env: Record<string, string> = {}): Promise<Stack> {
  if (!existsSync(join(distDir, 'index.html'))) throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
  const devDir = mkdtempSync(join(tmpdir(), 'hygeia-ui-'));
  const relay = await spawnRelay({ HYGEIA_DEV_DIR: devDir, ...env });
  const browser = await launchChromium(['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream']);
  mkdirSync(SCREENSHOTS, { recursive: true });
  return {
    relay,
    browser,
    devDir,
    pageErrors: [],
    async close() {
      await browser.close();
      await relay.stop();
    },
  };
}

async function context(stack: Stack, viewport: { width: number; height: number }): Promise<BrowserContext> {
  // bypassCSP only so axe-core can be injected; the app itself runs under the relay's CSP in every other test.
  return stack.browser.newContext({ viewport, bypassCSP: true, permissions: ['camera', 'microphone'] });
}

/** Opens `path` (a page of the app) in a new profile, or in `reuse` (a closed tablet's profile, reopened). */
export async function open(stack: Stack, path: string, viewport: { width: number; height: number } = TABLET, reuse?: BrowserContext): Promise<Page> {
  const page = await (reuse ?? (await context(stack, viewport))).newPage();
  page.on('pageerror', (e) => stack.pageErrors.push(`${path}: ${e.message}`));
  await page.goto(`${stack.relay.url}${path}`);
  await page.waitForFunction(() => typeof (window as { hygeia?: { snapshot?: unknown } }).hygeia?.snapshot === 'function', undefined, { timeout: 90_000 });
  return page;
}

/** A development clinic's tablet, started and ready (a member of the ledger, caught up). */
export async function openClinic(stack: Stack, n: number, viewport = TABLET): Promise<Page> {
  const page = await open(stack, `/?dev=clinic-${n}`, viewport);
  // Not expect.poll: a suite's beforeAll opens clinics too, outside any test.
  await eventually(async () => (await status(page)) === 'ready', `clinic-${n} to be ready`, 90_000);
  return page;
}

export async function openPhone(stack: Stack, viewport = PHONE): Promise<Page> {
  return open(stack, '/?role=patient', viewport);
}

export const status = (page: Page): Promise<string> => page.evaluate(() => (window as unknown as { hygeia: { snapshot(): { status: string } } }).hygeia.snapshot().status);
export const height = (page: Page): Promise<number> =>
  page.evaluate(() => (window as unknown as { hygeia: { snapshot(): { ledger: { height: number } } } }).hygeia.snapshot().ledger.height);

/** Opens a screen by its navigation link, named exactly as the issue names it. */
export async function go(page: Page, link: string): Promise<void> {
  await page.getByRole('navigation').getByRole('link', { name: link, exact: true }).click();
  await expect.poll(() => page.getByRole('heading', { level: 1 }).first().textContent(), { timeout: 15_000 }).toBeTruthy();
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** No serious or critical axe-core violation on what the page shows now; the screenshot is kept either way. */
export async function checkScreen(page: Page, name: string): Promise<void> {
  await screenshot(page, name);
  const violations = await seriousViolations(page);
  expect(violations, `${name}: ${JSON.stringify(violations, null, 1)}`).toEqual([]);
}
