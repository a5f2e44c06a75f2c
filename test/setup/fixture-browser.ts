// A test file's fixture server and Chromium (started before its tests, closed after them), and a fixture page
// opened in it.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { launchChromium } from './browser.ts';
import { startFixtureServer, type FixtureServer, type FixtureServerOptions } from './fixture-server.ts';

/** The fixture server and Chromium, started before a test file's tests and closed after them. */
export interface FixtureBrowser extends FixtureServer {
  readonly browser: Browser;
}

/** Registers the set-up and tear-down of a fixture server and a Chromium; read the fields inside tests. */
export function useFixtureBrowser(opts: FixtureServerOptions & { readonly chromiumArgs?: string[]; readonly before?: () => Promise<void> } = {}): FixtureBrowser {
  let started: FixtureServer | undefined;
  let browser: Browser | undefined;
  beforeAll(async () => {
    await opts.before?.();
    started = await startFixtureServer(opts);
    browser = await launchChromium(opts.chromiumArgs);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await started?.server.close();
  });
  const need = <T>(x: T | undefined): T => {
    if (x === undefined) throw new Error('the fixture browser is not started (read it inside a test)');
    return x;
  };
  return {
    get server() {
      return need(started).server;
    },
    get origin() {
      return need(started).origin;
    },
    get browser() {
      return need(browser);
    },
  };
}

/**
 * Opens fixture `name` in a new page of `context` and waits until its main.ts has set `window[ready]`.
 */
export async function openFixture(context: Browser | BrowserContext, origin: string, name: string, ready: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${origin}/test/e2e/fixtures/${name}/index.html`, { timeout: 120_000 }); // Vite serves the modules on first request
  await page.waitForFunction((key) => (window as unknown as Record<string, unknown>)[key] !== undefined, ready, { timeout: 60_000 });
  return page;
}
