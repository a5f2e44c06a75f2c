// Installable and usable offline, on the real page from the relay: the manifest of each role, a service worker
// that takes control, and a clinic tablet that starts again with the relay gone and the network off, saying it
// is offline and showing what it last knew.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openClinic, screenshot, startStack, type Stack } from './stack.ts';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
}, 120_000);

afterAll(async () => {
  await stack?.close();
});

const manifestOf = (page: Page) =>
  page.evaluate(async () => {
    const href = document.querySelector<HTMLLinkElement>('link[rel=manifest]')!.href;
    return (await (await fetch(href)).json()) as { name: string; start_url: string; display: string; icons: { sizes: string; type: string }[] };
  });

describe('installable and offline', () => {
  it('gives the tablet and the phone each an installable manifest of their own', async () => {
    const clinic = await (await stack.browser.newContext()).newPage();
    await clinic.goto(`${stack.relay.url}/?dev=clinic-1`);
    const phone = await (await stack.browser.newContext()).newPage();
    await phone.goto(`${stack.relay.url}/?role=patient`);
    const [c, p] = [await manifestOf(clinic), await manifestOf(phone)];
    for (const m of [c, p]) {
      expect(m.display).toBe('standalone');
      for (const size of ['192x192', '512x512']) expect(m.icons.some((i) => i.sizes === size && i.type === 'image/png')).toBe(true);
    }
    expect(c.start_url).toBe('./');
    expect(p.start_url).toBe('./?role=patient');
    await clinic.context().close();
    await phone.context().close();
  });

  it('starts the clinic tablet again with the relay gone and the network off, and says so', async () => {
    const page = await openClinic(stack, 1);
    await page.evaluate(() => navigator.serviceWorker.ready);
    await expect.poll(() => page.evaluate(() => navigator.serviceWorker.controller !== null), { timeout: 30_000 }).toBe(true);
    const known = await page.evaluate(() => (window as unknown as { hygeia: { snapshot(): { ledger: { height: number } } } }).hygeia.snapshot().ledger.height);

    await stack.relay.stop();
    await page.context().setOffline(true);
    await page.reload();
    await page.getByTestId('offline-notice').waitFor({ timeout: 60_000 });
    expect(await page.getByRole('navigation').getByRole('link', { name: 'Records', exact: true }).isVisible()).toBe(true);
    expect(Number((await page.getByTestId('ledger-height').textContent())!.replace(/\D+/g, ''))).toBeGreaterThanOrEqual(known);
    await screenshot(page, 'tablet-clinic-offline');
  });
});
