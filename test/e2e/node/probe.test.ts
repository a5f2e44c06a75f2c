import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { openClinic, startStack, type Stack } from '../ui/stack.ts';

let stack: Stack;
const pages: Page[] = [];
beforeAll(async () => {
  stack = await startStack();
}, 120_000);
afterAll(async () => {
  await stack?.close();
});

describe('probe', () => {
  it('four clinics form the ledger', async () => {
    for (const n of [1, 2, 3, 4]) {
      const p = await openClinic(stack, n).catch(async (e) => {
        console.log('open failed', n, String(e).slice(0, 300));
        throw e;
      });
      pages.push(p);
    }
    for (let i = 0; i < 30; i++) {
      const hs = await Promise.all(pages.map((p) => p.evaluate(() => (window as any).hygeia.snapshot().ledger.height)));
      console.log('heights', hs.join(','));
      if (hs.every((h) => h > 0)) break;
      await new Promise((r) => setTimeout(r, 2000));
    }
    const snaps = await Promise.all(pages.map((p) => p.evaluate(() => (window as any).hygeia.snapshot())));
    console.log(JSON.stringify(snaps.map((s) => ({ name: s.name, h: s.ledger.height, peers: s.peers, st: s.status, pr: s.problem })), null, 1));
    console.log(stack.pageErrors);
    expect(snaps.length).toBe(4);
  }, 300_000);
});
