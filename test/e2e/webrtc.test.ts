// WebRtcTransport end to end in real Chromium, loopback only: four browser contexts (each its own profile) load
// a fixture page and meet through the relay (started as `npm start` starts it). Over real WebRTC they pass the
// Transport conformance suite; a 2 MiB message arrives whole and a peer sending more than the receiver's bound
// is dropped with a typed reason; a second connection claiming a member's key does not replace the member's
// verified link; a member admitted later connects as soon as its peers learn of it and a removed one is cut
// off at once; when the relay restarts the peers keep their links and reconnect through it; and pages on two
// relays that share a redis-server meet; a phone enrolling with a one-time code meets the clinic that opened
// the enrolment through a scoped token. The relay runs a five-clinic development consortium.
import { createHash } from 'node:crypto';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initCore } from '../../wasm/index.ts';
import { launchChromium } from '../setup/browser.ts';
import { startFixtureServer } from '../setup/fixture-server.ts';
import { eventually, freePort, spawnRelay, startRedis, type RelayProcess } from '../integration/relay/helpers.ts';
import { startTurn } from '../integration/relay/turn.ts';
import { RelayClient, enrolmentScope } from '../../web/src/core/net/index.ts';
import { devConsortium, type DevClinic } from '../integration/relay/chain.ts';
import { transportConformance, type ConformanceHarness, type ConformanceNodes } from '../integration/relay/transport-conformance.ts';
import type { OpenOptions, Received } from './fixtures/webrtc/main.ts';
import { toHex } from '../../web/src/core/util/index.ts';

let server: ViteDevServer;
let origin: string;
let browser: Browser;
let relay: RelayProcess;
let devDir: string;
let members: DevClinic[];
const contexts: BrowserContext[] = [];
const pages: Page[] = [];
let ids: string[] = [];

type Net = Window['net'];
type Method = keyof Omit<Net, 'ready'>;

/** Calls `window.net[method](...args)` in page i. */
function net<M extends Method>(page: Page, method: M, ...args: Parameters<Net[M]>): Promise<Awaited<ReturnType<Net[M]>>> {
  return page.evaluate(([m, a]) => (window.net as unknown as Record<string, (...x: unknown[]) => unknown>)[m as string]!(...(a as unknown[])), [method, args] as const) as Promise<
    Awaited<ReturnType<Net[M]>>
  >;
}

async function newPage(): Promise<Page> {
  const context = await browser.newContext();
  contexts.push(context);
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error('page error:', err.message));
  await page.goto(`${origin}/test/e2e/fixtures/webrtc/index.html`, { timeout: 120_000 });
  await page.waitForFunction(() => typeof window.net === 'object', undefined, { timeout: 60_000 });
  return page;
}

const seedOf = (m: DevClinic): string => toHex(m.secretKey);
const options = (m: DevClinic, room: string, extra: Partial<OpenOptions> = {}): OpenOptions => ({
  seed: seedOf(m),
  relayUrl: relay.wsUrl,
  room,
  members: ids,
  ...extra,
});

/** Waits until `holds` is true of every one of `on` (asked page by page, from the first again after any false). */
function onEvery(on: Page[], holds: (page: Page) => Promise<boolean>, what: string, timeoutMs?: number): Promise<void> {
  return eventually(
    async () => {
      for (const p of on) if (!(await holds(p))) return false;
      return true;
    },
    what,
    timeoutMs,
  );
}

/** Opens transport `name` in room on pages[i] for member i of `who` (all four pages unless told), and waits until all of them see each other. */
async function openRoom(name: string, room: string, who: number[] = [0, 1, 2, 3], extra: Partial<OpenOptions> = {}): Promise<void> {
  await Promise.all(who.map((i) => net(pages[i]!, 'open', name, options(members[i]!, room, extra))));
  await onEvery(
    who.map((i) => pages[i]!),
    async (p) => (await net(p, 'peers', name)).length === who.length - 1,
    `room ${room} to connect`,
    45_000,
  );
}

/** Opens transport `name` as `member` on a page of its own: a guest beside the four (closeRoom closes it). */
async function openGuest(name: string, member: DevClinic, room: string, extra: Partial<OpenOptions> = {}): Promise<Page> {
  const guest = await newPage();
  await net(guest, 'open', name, options(member, room, extra));
  return guest;
}

/** Closes transport `name` on a `guest` page and that page's browser context, then on the four pages. */
async function closeRoom(name: string, guest?: Page): Promise<void> {
  if (guest) {
    await net(guest, 'close', name);
    await guest.context().close();
  }
  for (const p of pages) await net(p, 'close', name);
}

beforeAll(async () => {
  await initCore();
  let dir: string;
  ({ dir, clinics: members } = await devConsortium(5));
  devDir = dir;
  ids = members.slice(0, 4).map((m) => m.publicKey);
  relay = await spawnRelay({ HYGEIA_DEV_DIR: devDir });
  ({ server, origin } = await startFixtureServer({ discoverDeps: true }));
  browser = await launchChromium(['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream']);
  for (let i = 0; i < 4; i++) pages.push(await newPage());
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await relay?.stop();
});

describe('DTLS binding', () => {
  it('Chromium reports the negotiated certificates in getStats, and they are the ones the SDPs name', async () => {
    const r = await net(pages[0]!, 'localPairBinding');
    expect(r.negotiatedA).not.toBeNull();
    expect(r.negotiatedA).toEqual({ local: r.sdpA, remote: r.sdpB });
    expect(r.negotiatedB).toEqual({ local: r.sdpB, remote: r.sdpA });
    expect(r.bindingA).toEqual({ local: r.sdpA, remote: r.sdpB });
  });
});

describe('Transport conformance: WebRtcTransport in Chromium', () => {
  let run = 0;
  transportConformance((): ConformanceHarness => {
    const name = `conformance-${++run}`;
    return {
      async setup(): Promise<ConformanceNodes> {
        await openRoom(name, `hygeia/consortium/v1/${name}`);
        const recv = async (i: number) => (await net(pages[i]!, 'received', name)).map((r: Received) => ({ from: r.from, bytes: r.bytes ?? [] }));
        return {
          ids,
          send: (from, to, bytes) => net(pages[from]!, 'send', name, to, [...bytes]),
          sendThenMutate: (from, to, bytes) => net(pages[from]!, 'sendThenMutate', name, to, [...bytes]),
          broadcast: (from, bytes) => net(pages[from]!, 'broadcast', name, [...bytes]),
          received: recv,
          peers: (i) => net(pages[i]!, 'peers', name),
          peerEvents: async (i) => (await net(pages[i]!, 'events', name)).map((e) => ({ peer: e.peer, state: e.state as 'connected' | 'disconnected' })),
          unsubscribe: (i) => net(pages[i]!, 'unsubscribe', name),
          close: (i) => net(pages[i]!, 'close', name),
          until: (cond, what) => eventually(cond, what, 30_000),
          settle: () => new Promise((r) => setTimeout(r, 300)),
        };
      },
      async teardown() {
        await Promise.all(pages.map((p) => net(p, 'close', name)));
      },
    };
  });
});

describe('large messages', () => {
  it('delivers a 2 MiB message whole (fragmented and reassembled), and drops a peer that sends more than the bound', async () => {
    const room = 'hygeia/consortium/v1/large';
    await openRoom('large', room, [0, 1]);
    const digest = await net(pages[0]!, 'sendPattern', 'large', ids[1]!, 2 * 1024 * 1024, 7);
    await eventually(async () => (await net(pages[1]!, 'received', 'large')).length > 0, 'the 2 MiB message', 30_000);
    expect(await net(pages[1]!, 'received', 'large')).toEqual([{ from: ids[0], size: 2 * 1024 * 1024, digest, bytes: null }]);

    // Page 3 accepts at most 1 MiB; page 2 may send 8 MiB and sends 4 MiB.
    await Promise.all([
      net(pages[2]!, 'open', 'bound', options(members[2]!, `${room}/bound`, { maxMessageBytes: 8 << 20 })),
      net(pages[3]!, 'open', 'bound', options(members[3]!, `${room}/bound`, { maxMessageBytes: 1 << 20 })),
    ]);
    await eventually(async () => (await net(pages[3]!, 'peers', 'bound')).includes(ids[2]!), 'the bound room to connect', 45_000);
    await net(pages[2]!, 'sendPattern', 'bound', ids[3]!, 4 << 20, 9);
    await eventually(async () => (await net(pages[3]!, 'drops', 'bound')).length > 0, 'the oversized sender to be dropped', 30_000);
    expect(await net(pages[3]!, 'drops', 'bound')).toEqual([{ reason: 'oversize', peer: ids[2] }]);
    expect(await net(pages[3]!, 'received', 'bound')).toEqual([]);
    await eventually(async () => !(await net(pages[2]!, 'peers', 'bound')).includes(ids[3]!), 'the sender to see the link closed');
    // A sender is told at once when a message exceeds its own bound.
    await expect(net(pages[0]!, 'sendPattern', 'large', ids[1]!, (32 << 20) + 1, 1)).rejects.toThrow(/exceeds/);
    for (const [i, name] of [
      [0, 'large'],
      [1, 'large'],
      [2, 'bound'],
      [3, 'bound'],
    ] as const)
      await net(pages[i]!, 'close', name);
  }, 120_000);
});

describe('one member, one link', () => {
  it('a second connection claiming a member key is dropped as a duplicate while the verified link answers', async () => {
    const room = 'hygeia/consortium/v1/duplicate';
    await openRoom('dup', room);
    const twin = await openGuest('dup', members[0]!, room);
    await onEvery(pages.slice(1), async (p) => (await net(p, 'drops', 'dup')).some((d) => d.reason === 'duplicate'), 'every peer to refuse the twin', 45_000);
    for (const i of [1, 2, 3]) {
      expect((await net(pages[i]!, 'drops', 'dup')).filter((d) => d.peer === ids[0]).map((d) => d.reason)).toEqual(['duplicate']);
      // The verified link never went away.
      expect((await net(pages[i]!, 'events', 'dup')).filter((e) => e.peer === ids[0]).map((e) => e.state)).toEqual(['connected']);
    }
    await net(pages[0]!, 'send', 'dup', ids[1]!, [42]);
    await eventually(async () => (await net(pages[1]!, 'received', 'dup')).some((r) => r.bytes?.[0] === 42), 'the original link to still carry messages');
    await closeRoom('dup', twin);
  }, 120_000);
});

describe('membership changes', () => {
  it('a member admitted later connects as soon as its peers learn of it, and a removed one is cut off at once', async () => {
    const room = 'hygeia/consortium/v1/membership';
    await openRoom('m', room);
    const newcomer = members[4]!;
    const late = await openGuest('m', newcomer, room, { members: [...ids, newcomer.publicKey] });
    // The relay admits it (it is on the relay's ledger), but its peers have not learnt of it yet: they hold
    // its connections without admitting it.
    await new Promise((r) => setTimeout(r, 3000));
    for (const p of pages) expect(await net(p, 'peers', 'm')).not.toContain(newcomer.publicKey);
    const withNewcomer = [...ids, newcomer.publicKey];
    const learnt = await Promise.all(pages.map((p) => net(p, 'setMembers', 'm', withNewcomer)));
    await onEvery(pages, async (p) => (await net(p, 'peers', 'm')).includes(newcomer.publicKey), 'the newcomer to connect', 20_000);
    const delays = await Promise.all(
      pages.map(async (p, i) => (await net(p, 'events', 'm')).find((e) => e.peer === newcomer.publicKey && e.state === 'connected')!.at - learnt[i]!),
    );
    // "Within a few seconds" of the ledger saying so; on loopback it is a matter of milliseconds.
    expect(Math.max(...delays)).toBeLessThan(3000);

    // Removed: every peer drops it at once and refuses it.
    await Promise.all(pages.map((p) => net(p, 'setMembers', 'm', ids)));
    for (const p of pages) {
      expect(await net(p, 'peers', 'm')).not.toContain(newcomer.publicKey);
      expect((await net(p, 'drops', 'm')).filter((d) => d.peer === newcomer.publicKey).map((d) => d.reason)).toEqual(['removed']);
    }
    await eventually(async () => (await net(late, 'peers', 'm')).length === 0, 'the removed member to lose every link');
    await closeRoom('m', late);
  }, 120_000);
});

describe('relay restarts', () => {
  it('peers keep their WebRTC links while the relay is down, and reconnect through it after it restarts', async () => {
    const room = 'hygeia/consortium/v1/restart';
    await openRoom('r', room);
    const port = relay.port;
    expect(await relay.stop('SIGKILL')).toBeNull();
    await onEvery(pages, async (p) => (await net(p, 'relayState', 'r')) === 'disconnected', 'pages to see the relay gone', 30_000);
    for (const p of pages) expect(await net(p, 'peers', 'r')).toHaveLength(3);
    relay = await spawnRelay({ HYGEIA_DEV_DIR: devDir, PORT: String(port) });
    await onEvery(pages, async (p) => (await net(p, 'relayState', 'r')) === 'connected', 'pages to reconnect to the relay', 30_000);
    // A peer that restarts (reload) finds the others again through the restarted relay.
    await pages[0]!.reload();
    await pages[0]!.waitForFunction(() => typeof window.net === 'object');
    await net(pages[0]!, 'open', 'r', options(members[0]!, room));
    await eventually(async () => (await net(pages[0]!, 'peers', 'r')).length === 3, 'the reloaded peer to reconnect to every other', 60_000);
    await net(pages[0]!, 'send', 'r', ids[1]!, [7]);
    await eventually(async () => (await net(pages[1]!, 'received', 'r')).some((r) => r.from === ids[0] && r.bytes?.[0] === 7), 'a message over the new link');
    await closeRoom('r');
  }, 150_000);
});

describe('scale-out', () => {
  it('pages on two relays sharing one redis-server meet over WebRTC', async () => {
    const redis = await startRedis();
    const relays = [await spawnRelay({ HYGEIA_DEV_DIR: devDir, REDIS_URL: redis.url }), await spawnRelay({ HYGEIA_DEV_DIR: devDir, REDIS_URL: redis.url })];
    try {
      const room = 'hygeia/consortium/v1/scale-out';
      await Promise.all([0, 1].map((i) => net(pages[i]!, 'open', 'x', { ...options(members[i]!, room), relayUrl: relays[i]!.wsUrl })));
      await eventually(
        async () => (await net(pages[0]!, 'peers', 'x')).includes(ids[1]!) && (await net(pages[1]!, 'peers', 'x')).includes(ids[0]!),
        'the two pages to connect across relays',
        60_000,
      );
      await net(pages[1]!, 'send', 'x', ids[0]!, [1, 2, 3]);
      await eventually(async () => (await net(pages[0]!, 'received', 'x')).some((r) => r.from === ids[1] && r.size === 3), 'a message across');
      for (const i of [0, 1]) await net(pages[i]!, 'close', 'x');
    } finally {
      await Promise.all(relays.map((r) => r.stop()));
      await redis.stop();
    }
  }, 120_000);
});

describe('a phone enrolling with a one-time code', () => {
  it('meets the clinic that opened the enrolment over WebRTC through a scoped token, beside a patients-room transport the relay refuses', async () => {
    const codeHash = createHash('sha256').update('enrol me 7731').digest('hex');
    const room = `hygeia/enrol/v1/${codeHash}`;
    const desk = members[1]!;
    await new RelayClient({ relayUrl: relay.wsUrl, secretKey: desk.secretKey }).registerEnrolment(codeHash, Date.now() + 5 * 60_000);
    const phone = await newPage();
    const phoneSeed = toHex(crypto.getRandomValues(new Uint8Array(32)));
    // As startPatient opens them: the patients' room (unscoped; this key is on no ledger) and the enrolment.
    await net(phone, 'open', 'patients', { seed: phoneSeed, relayUrl: relay.wsUrl, room: 'hygeia/patients/v1', members: [desk.publicKey] });
    const phoneId = await net(phone, 'open', 'enrol', { seed: phoneSeed, relayUrl: relay.wsUrl, room, members: [desk.publicKey], scope: enrolmentScope(codeHash) });
    await net(pages[1]!, 'open', 'enrol', { ...options(desk, room), members: [phoneId] });
    await eventually(
      async () => (await net(phone, 'peers', 'enrol')).includes(desk.publicKey) && (await net(pages[1]!, 'peers', 'enrol')).includes(phoneId),
      'the phone and the desk to connect',
      45_000,
    );
    await net(phone, 'send', 'enrol', desk.publicKey, [5, 5]);
    await eventually(async () => (await net(pages[1]!, 'received', 'enrol')).some((r) => r.from === phoneId && r.size === 2), "the phone's message at the desk");
    expect(await net(phone, 'relayState', 'enrol')).toBe('connected');
    expect(await net(phone, 'relayState', 'patients')).not.toBe('connected');
    expect(await net(phone, 'peers', 'patients')).toEqual([]);
    await net(pages[1]!, 'close', 'enrol');
    await phone.context().close();
  }, 120_000);
});

describe('TURN', () => {
  it('with the ICE transport policy "relay", two peers connect through coturn on loopback, ICE servers from the relay', async () => {
    const turn = await startTurn(await freePort());
    const iceRelay = await spawnRelay({
      HYGEIA_DEV_DIR: devDir,
      ICE_SERVERS: JSON.stringify([{ urls: `turn:127.0.0.1:${turn.port}?transport=udp`, username: turn.username, credential: turn.password }]),
    });
    try {
      // What a member's node asks the relay (TURN credentials only with its token).
      const { iceServers } = await new RelayClient({ relayUrl: iceRelay.wsUrl, secretKey: members[2]!.secretKey }).config();
      expect(iceServers).toHaveLength(1);
      const room = 'hygeia/consortium/v1/turn';
      await Promise.all([2, 3].map((i) => net(pages[i]!, 'open', 't', { ...options(members[i]!, room), relayUrl: iceRelay.wsUrl, iceServers, iceTransportPolicy: 'relay' })));
      await eventually(
        async () => (await net(pages[2]!, 'peers', 't')).includes(ids[3]!) && (await net(pages[3]!, 'peers', 't')).includes(ids[2]!),
        'the peers to connect through TURN',
        60_000,
      );
      await net(pages[2]!, 'sendPattern', 't', ids[3]!, 300_000, 3);
      await eventually(async () => (await net(pages[3]!, 'received', 't')).some((r) => r.size === 300_000), 'a message through TURN', 30_000);
      const q = await net(pages[2]!, 'quality', 't', ids[3]!);
      expect(q).toMatchObject({ localCandidateType: 'relay', remoteCandidateType: 'relay' });
      expect(q!.rttMs).not.toBeNull();
      expect(turn.allocations()).toBeGreaterThan(0);
      for (const i of [2, 3]) await net(pages[i]!, 'close', 't');
    } finally {
      await iceRelay.stop();
      await turn.stop();
    }
  }, 120_000);
});

describe('media on the authenticated link (consults)', () => {
  it("sends camera and microphone tracks both ways over a peer's link, and reports the link's quality", async () => {
    const room = 'hygeia/consortium/v1/media';
    await openRoom('v', room, [0, 1]);
    expect(await net(pages[0]!, 'addCamera', 'v', ids[1]!)).toEqual(['audio', 'video']);
    await eventually(async () => (await net(pages[1]!, 'tracks', 'v')).length >= 2, 'the tracks to arrive', 30_000);
    expect((await net(pages[1]!, 'tracks', 'v')).map((t) => `${t.peer}:${t.kind}`).sort()).toEqual([`${ids[0]}:audio`, `${ids[0]}:video`]);
    // The other way round (the side that did not start the connection asks for renegotiation).
    await net(pages[1]!, 'addCamera', 'v', ids[0]!);
    await eventually(async () => (await net(pages[0]!, 'tracks', 'v')).length >= 2, 'the tracks to come back', 30_000);
    await eventually(async () => (await net(pages[1]!, 'quality', 'v', ids[0]!))?.packetLoss !== null, 'media statistics', 30_000);
    const q = (await net(pages[1]!, 'quality', 'v', ids[0]!))!;
    expect(q.rttMs).toBeGreaterThanOrEqual(0);
    expect(q.packetLoss).toBeGreaterThanOrEqual(0);
    expect(q.localCandidateType).toBe('host');
    // Messages still flow on the same link.
    await net(pages[0]!, 'send', 'v', ids[1]!, [9]);
    await eventually(async () => (await net(pages[1]!, 'received', 'v')).some((r) => r.bytes?.[0] === 9), 'a message beside the media');
    for (const i of [0, 1]) await net(pages[i]!, 'close', 'v');
  }, 120_000);
});
