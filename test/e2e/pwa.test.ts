// The installable PWA in real Chromium: a manifest with the icons installability needs, a service worker that
// takes control, and an app that starts offline after its first load (same identity, the wasm core from the
// cache). (Browsers meeting across two relays that share a redis-server: test/e2e/webrtc.test.ts.)
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../setup/browser.ts';
import { distDir, eventually, spawnRelay, type RelayProcess } from '../integration/relay/helpers.ts';

let browser: Browser;

beforeAll(async () => {
  if (!existsSync(join(distDir, 'index.html'))) throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
});

const nodeId = async (page: Page) => (await page.getByTestId('node-id').textContent({ timeout: 30_000 }))!.trim();

describe('installable and offline', () => {
  let relay: RelayProcess;
  afterAll(async () => {
    await relay?.stop();
  });

  it('serves a manifest with 192 and 512 px icons, and starts offline after the first load', async () => {
    relay = await spawnRelay({ HYGEIA_DEV_DIR: mkdtempSync(join(tmpdir(), 'hygeia-dev-')) });
    const manifest = (await (await fetch(`${relay.url}/manifest.webmanifest`)).json()) as { icons: { sizes: string; src: string }[]; start_url: string; display: string };
    expect(manifest.display).toBe('standalone');
    for (const size of ['192x192', '512x512']) {
      const icon = manifest.icons.find((i) => i.sizes === size);
      expect(icon).toBeDefined();
      expect((await fetch(`${relay.url}/${icon!.src}`)).headers.get('content-type')).toBe('image/png');
    }

    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(relay.url);
    const id = await nodeId(page);
    await page.evaluate(async () => {
      await navigator.serviceWorker.ready;
    });
    await eventually(() => page.evaluate(() => navigator.serviceWorker.controller !== null), 'the service worker to take control', 30_000);
    // Let the page finish loading everything it loads lazily (tfjs, the worker) while online.
    await expect.poll(() => page.locator('[data-testid=runtime]').count(), { timeout: 60_000 }).toBe(2);

    await relay.stop();
    await context.setOffline(true);
    await page.reload();
    expect(await nodeId(page)).toBe(id);
    const row = page.locator('[data-testid=runtime][data-where=page]');
    await expect.poll(() => row.count(), { timeout: 60_000 }).toBe(1);
    expect(await row.getAttribute('data-core')).toBe('ok');
    expect(await row.getAttribute('data-tf')).toBe('ok');
    expect(await page.getByTestId('online').textContent()).toBe('offline');
    await context.close();
  }, 120_000);
});
