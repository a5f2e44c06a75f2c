// End to end in real Chromium, loopback only: four browser contexts load the PWA from the relay (started here
// as `npm start` starts it), are admitted as members, connect over WebRTC and exchange signed greetings every
// pair; a fifth context, not a member, is refused. The Transport conformance suite then runs over
// WebRtcTransport in those pages. Finally the relay is killed and restarted mid-test and the peers reconnect.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../setup/browser.ts';
import { distDir, eventually, spawnRelay, writeMembers, type RelayProcess } from '../integration/relay/helpers.ts';
import { transportConformance, type ConformanceHarness, type ConformanceNodes } from '../integration/relay/transport-conformance.ts';

interface Snapshot {
  id: string;
  membership: string;
  refusal: string | null;
  relay: string;
  peers: { id: string; state: string; greetingsVerified: number; greetingsRejected: number }[];
}

let browser: Browser;
let relay: RelayProcess;
let membersFile: string;
const contexts: BrowserContext[] = [];
const pages: Page[] = [];
let strangerPage: Page;
const ids: string[] = [];

const snapshot = (page: Page): Promise<Snapshot | null> =>
  page.evaluate(() => {
    const n = (globalThis as { hygeia?: { snapshot(): unknown } }).hygeia;
    return n ? (JSON.parse(JSON.stringify(n.snapshot())) as Snapshot) : null;
  });

async function openNode(url: string): Promise<{ context: BrowserContext; page: Page; id: string }> {
  const context = await browser.newContext();
  contexts.push(context);
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error('page error:', err.message));
  await page.goto(url);
  const id = (await page.getByTestId('node-id').textContent({ timeout: 30_000 }))!.trim();
  return { context, page, id };
}

/** Every page sees every other as connected and has verified at least `min` signed greetings from each. */
async function allConnected(ps: Page[], min = 1): Promise<boolean> {
  const snaps = await Promise.all(ps.map(snapshot));
  const idsHere = snaps.map((s) => s?.id);
  return snaps.every((s) => {
    if (!s || s.membership !== 'member') return false;
    return idsHere.filter((x) => x !== s.id).every((other) => s.peers.some((p) => p.id === other && p.state === 'connected' && p.greetingsVerified >= min));
  });
}

beforeAll(async () => {
  if (!existsSync(join(distDir, 'index.html'))) throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
  membersFile = writeMembers([]);
  relay = await spawnRelay({ HYGEIA_MEMBERS: membersFile });
  browser = await launchChromium();
  for (let i = 0; i < 4; i++) {
    const n = await openNode(relay.url);
    pages.push(n.page);
    ids.push(n.id);
  }
  strangerPage = (await openNode(relay.url)).page;
  // The consortium's administrator adds the four tablets' keys (the relay re-reads the file).
  writeMembers(ids.map((id, i) => ({ name: `tablet ${i}`, publicKey: id })), membersFile.replace(/\/members\.json$/, ''));
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await relay?.stop();
});

describe('the PWA over WebRTC', () => {
  it('four members connect every pair and exchange signed messages; a non-member is refused', async () => {
    await eventually(() => allConnected(pages), 'every pair to connect and verify greetings', 60_000);
    for (const p of pages) {
      const s = (await snapshot(p))!;
      expect(s.peers.filter((x) => x.state === 'connected').map((x) => x.id).sort()).toEqual(ids.filter((x) => x !== s.id).sort());
      expect(s.peers.every((x) => x.greetingsRejected === 0)).toBe(true);
      await expect.poll(() => p.getByTestId('peer-count').textContent()).toBe('3');
    }
    const stranger = (await snapshot(strangerPage))!;
    expect(stranger.membership).toBe('refused');
    expect(stranger.refusal).toBe('not-member');
    expect(stranger.peers).toEqual([]);
    expect(await strangerPage.getByTestId('membership').getAttribute('data-state')).toBe('refused');
    // And no member ever saw it: the relay refused its signaling upgrade (401), so it never met anyone.
    for (const p of pages) expect((await snapshot(p))!.peers.some((x) => x.id === stranger.id)).toBe(false);
  }, 90_000);

  it('loads the wasm core and tfjs-wasm in the page and in a worker', async () => {
    const page = pages[0]!;
    for (const where of ['page', 'worker']) {
      const row = page.locator(`[data-testid=runtime][data-where=${where}]`);
      await expect.poll(() => row.count(), { timeout: 60_000 }).toBe(1);
      expect(await row.getAttribute('data-core')).toBe('ok');
      expect(await row.getAttribute('data-tf')).toBe('ok');
    }
  }, 90_000);
});

describe('Transport conformance: WebRtcTransport in Chromium', () => {
  let run = 0;
  transportConformance((): ConformanceHarness => {
    const room = `conformance-${++run}`;
    return {
      async setup(): Promise<ConformanceNodes> {
        await Promise.all(
          pages.map((p) =>
            p.evaluate((r) => {
              const g = globalThis as unknown as Record<string, unknown> & { hygeia: { openTransport(room: string): unknown } };
              type T = { onMessage(h: (f: string, b: Uint8Array) => void): () => void; onPeer(h: (p: string, s: string) => void): () => void };
              const t = g.hygeia.openTransport(r) as T;
              const rec = { received: [] as { from: string; bytes: number[] }[], events: [] as { peer: string; state: string }[], unsub: () => {} };
              rec.unsub = t.onMessage((from, bytes) => rec.received.push({ from, bytes: [...bytes] }));
              t.onPeer((peer, state) => rec.events.push({ peer, state }));
              g.__conf = t;
              g.__rec = rec;
            }, room),
          ),
        );
        // Each callback runs in the page (serialised by Playwright, outside the page's CSP) and finds the
        // transport and its recorder on globalThis.
        type G = { __conf: any; __rec: any };
        const on = <A, R>(i: number, fn: (a: A) => R, a: A): Promise<R> => pages[i]!.evaluate(fn as never, a) as Promise<R>;
        const nodes: ConformanceNodes = {
          ids,
          send: (from, to, bytes) => on(from, (a: [string, number[]]) => (globalThis as unknown as G).__conf.send(a[0], new Uint8Array(a[1])), [to, [...bytes]]),
          sendThenMutate: (from, to, bytes) =>
            on(from, (a: [string, number[]]) => {
              const b = new Uint8Array(a[1]);
              (globalThis as unknown as G).__conf.send(a[0], b);
              b.fill(0);
            }, [to, [...bytes]]),
          broadcast: (from, bytes) => on(from, (a: number[]) => (globalThis as unknown as G).__conf.broadcast(new Uint8Array(a)), [...bytes]),
          received: (i) => on(i, () => (globalThis as unknown as G).__rec.received, null),
          peers: (i) => on(i, () => (globalThis as unknown as G).__conf.peers(), null),
          peerEvents: (i) => on(i, () => (globalThis as unknown as G).__rec.events, null),
          unsubscribe: (i) => on(i, () => (globalThis as unknown as G).__rec.unsub(), null),
          close: (i) => on(i, () => (globalThis as unknown as G).__conf.close(), null),
          until: (cond, what) => eventually(cond, what, 30_000),
          settle: () => new Promise((r) => setTimeout(r, 300)),
        };
        await eventually(async () => {
          for (let i = 0; i < 4; i++) if ((await nodes.peers(i)).length !== 3) return false;
          return true;
        }, 'the conformance room to connect', 45_000);
        return nodes;
      },
      async teardown() {
        await Promise.all(pages.map((p) => p.evaluate(() => (globalThis as unknown as { __conf: { close(): Promise<void> } }).__conf.close())));
      },
    };
  });
});

describe('relay restarts', () => {
  it('peers keep their WebRTC connections while the relay is down, and reconnect through it after it restarts', async () => {
    const port = relay.port;
    expect(await relay.stop('SIGKILL')).toBeNull();
    await eventually(async () => (await Promise.all(pages.map(snapshot))).every((s) => s?.relay === 'disconnected'), 'pages to see the relay gone', 30_000);
    // WebRTC does not need the relay once connected.
    expect(await allConnected(pages)).toBe(true);
    relay = await spawnRelay({ HYGEIA_MEMBERS: membersFile, PORT: String(port) });
    await eventually(async () => (await Promise.all(pages.map(snapshot))).every((s) => s?.relay === 'connected'), 'pages to reconnect to the relay', 30_000);
    // A peer that restarts (reload) finds the others again through the restarted relay.
    const before = await Promise.all(pages.slice(1).map(snapshot));
    const verifiedFrom0 = (s: Snapshot | null) => s!.peers.find((p) => p.id === ids[0])!.greetingsVerified;
    await pages[0]!.reload();
    await eventually(async () => {
      if (!(await allConnected(pages))) return false;
      const after = await Promise.all(pages.slice(1).map(snapshot));
      return after.every((s, i) => verifiedFrom0(s) > verifiedFrom0(before[i]!));
    }, 'the reloaded peer to reconnect to every other', 60_000);
  }, 150_000);
});
