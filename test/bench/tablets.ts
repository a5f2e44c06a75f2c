// Clinic tablets for the benches that need the whole product: the compiled relay serving the built PWA with a
// fresh development consortium, and each clinic in its own Chromium profile, ready when its node is.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../setup/browser.ts';
import { repoRoot, spawnRelay, type RelayProcess } from '../integration/relay/helpers.ts';

export const SYNTHEA = join(repoRoot, '..', 'shared', 'data', 'synthea');

export type SyntheaBundle = { type: string; entry: { resource: { resourceType: string; id: string } }[] };
export const readBundle = (file: string): SyntheaBundle => JSON.parse(readFileSync(join(SYNTHEA, file), 'utf8')) as SyntheaBundle;

export interface Tablets {
  readonly pages: Page[];
  close(): Promise<void>;
}

async function openClinic(browser: Browser, relay: RelayProcess, n: number): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${relay.url}/?dev=clinic-${n}`);
  await page.waitForFunction(() => (window as unknown as { hygeia?: { snapshot(): { status: string } } }).hygeia?.snapshot().status === 'ready', undefined, {
    timeout: 120_000,
    polling: 200,
  });
  return page;
}

/** The relay and `count` clinic tablets (clinic-1 … clinic-N of the development consortium). */
export async function startTablets(count = 4): Promise<Tablets> {
  const relay = await spawnRelay({ HYGEIA_DEV_DIR: mkdtempSync(join(tmpdir(), 'hygeia-bench-')), LOG_LEVEL: 'warn' });
  const browser = await launchChromium();
  try {
    const pages = await Promise.all(Array.from({ length: count }, (_, i) => openClinic(browser, relay, i + 1)));
    return {
      pages,
      async close() {
        await browser.close();
        await relay.stop();
      },
    };
  } catch (e) {
    await browser.close();
    await relay.stop();
    throw e;
  }
}

/** Runs `fn` with the pages of `count` fresh clinic tablets, and closes them (the relay and the browser) after. */
export async function withTablets<T>(count: number, fn: (pages: Page[]) => Promise<T>): Promise<T> {
  const tablets = await startTablets(count);
  try {
    return await fn(tablets.pages);
  } finally {
    await tablets.close();
  }
}
