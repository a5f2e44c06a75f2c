// The relay on real sockets, in process: token-checked upgrades (a status and reason for every way a token can
// be wrong), membership and roles from the ledger it verified (blocks pushed over HTTP by a clinic, a revoked
// key's socket closed at once), one-time enrolments, rooms enforced on real y-webrtc traffic, limits with their
// close codes, Host checks on everything but static files, metrics on their own listener, ICE configuration,
// and static files with PWA headers.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Relay } from '../../../relay/server.ts';
import { RelayLedger } from '../../../relay/ledger.ts';
import { CloseCode } from '../../../relay/limits.ts';
import { createLogger, silentLogger } from '../../../relay/log.ts';
import { encodeBlockBatch, RelayClient, RelayClientError } from '../../../web/src/core/net/relay-client.ts';
import { createRelayToken, enrolmentScope, withToken } from '../../../web/src/core/net/index.ts';
import type { Genesis } from '../../../web/src/core/node/genesis.ts';
import { toHex } from '../../../web/src/core/util/index.ts';
import { patientKeyChain } from './chain.ts';
import { bearer, closed, collect, eventually, openSocket, strangerKey, tokenUrl } from './helpers.ts';

const { genesis, clinics, chain, patient, registered, revoked } = await patientKeyChain();
let relay: Relay;
let dist: string;
const logLines: string[] = [];

const ws = () => relay.signalingUrl;
const ROOM = 'hygeia/consortium/v1';

beforeAll(async () => {
  dist = mkdtempSync(join(tmpdir(), 'hygeia-dist-'));
  mkdirSync(join(dist, 'assets'));
  writeFileSync(join(dist, 'index.html'), '<!doctype html><title>t</title>');
  writeFileSync(join(dist, 'sw.js'), 'self.addEventListener("fetch", () => {});');
  writeFileSync(join(dist, 'assets', 'index-abc123.js'), 'console.log(1)');
  writeFileSync(join(dist, 'assets', 'core-def456.wasm'), Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
  relay = new Relay({
    port: 0,
    genesis,
    ledger: RelayLedger.open({ genesis, dir: null, log: silentLogger }),
    distDir: dist,
    limits: { maxConnectionsPerMember: 2, maxFrameBytes: 4096, failedTokenBurst: 100 },
    iceServers: [{ urls: 'stun:127.0.0.1:3478' }, { urls: 'turn:127.0.0.1:3478', username: 'u', credential: 'p' }],
    metricsListener: { host: '127.0.0.1', port: 0 },
    defaultMetrics: false,
    log: createLogger({ level: 'debug', write: (l) => logLines.push(l) }),
  });
  await relay.start();
}, 120_000);

afterAll(async () => {
  await relay?.stop();
});

describe('membership on upgrade', () => {
  it('admits a genesis clinic with a valid token', async () => {
    const r = await openSocket(tokenUrl(clinics[0]!, ws()));
    expect(r.ok).toBe(true);
    if (r.ok) r.ws.close();
  });

  const refusals: [string, () => string, string][] = [
    ['no token', () => ws(), 'no-token'],
    ['a token that is not base64url', () => withToken(ws(), 'not a token!'), 'bad-token'],
    ['a truncated token', () => tokenUrl(clinics[0]!, ws()).slice(0, -10), 'bad-token'],
    ['an expired token', () => tokenUrl(clinics[0]!, ws(), { lifetimeMs: -10 * 60_000 }), 'expired-token'],
    [
      'a token for another relay',
      () => withToken(ws(), createRelayToken({ secretKey: clinics[0]!.secretKey, relayUrl: 'ws://relay.example:8080', expiresAt: Date.now() + 60_000 })),
      'wrong-relay',
    ],
    ['a token of a key the ledger does not name', () => tokenUrl(strangerKey(), ws()), 'not-member'],
    ['a token living longer than minutes', () => tokenUrl(clinics[0]!, ws(), { lifetimeMs: 60 * 60_000 }), 'bad-token'],
    ['an enrolment token with no open enrolment', () => tokenUrl(strangerKey(), ws(), { scope: enrolmentScope('ee'.repeat(32)) }), 'enrolment-closed'],
  ];
  for (const [what, url, reason] of refusals) {
    it(`refuses ${what} with 401`, async () => {
      expect(await openSocket(url())).toEqual({ ok: false, status: 401, body: `${reason}\n` });
    });
  }

  it('refuses a token used once already (one token, one connection)', async () => {
    const url = tokenUrl(clinics[1]!, ws());
    const first = await openSocket(url);
    expect(first.ok).toBe(true);
    expect(await openSocket(url)).toEqual({ ok: false, status: 401, body: 'replayed-token\n' });
    if (first.ok) first.ws.close();
  });

  it('limits connections per key with 429', async () => {
    const a = await openSocket(tokenUrl(clinics[2]!, ws()));
    const b = await openSocket(tokenUrl(clinics[2]!, ws()));
    expect([a.ok, b.ok]).toEqual([true, true]);
    expect(await openSocket(tokenUrl(clinics[2]!, ws()))).toEqual({ ok: false, status: 429, body: 'too-many-connections\n' });
    for (const x of [a, b]) if (x.ok) x.ws.close();
    await eventually(() => relay.hub.connectionsOf(clinics[2]!.publicKey) === 0, 'the connections to close');
  });

  it('never writes a token in its logs', () => {
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.join('\n')).not.toMatch(/token=|[A-Za-z0-9_-]{200,}/);
  });
});

describe('the ledger over HTTP (the relay follows the ledger)', () => {
  it("reports its head, takes a clinic's blocks, and admits the patient they register", async () => {
    const client = new RelayClient({ relayUrl: ws(), secretKey: clinics[1]!.secretKey });
    // At height 0 the head is the genesis: the hash block 1 must extend.
    expect(await client.head()).toEqual({ height: 0, hash: toHex(registered[0]!.header.prevHash) });
    expect(await openSocket(tokenUrl(patient, ws()))).toMatchObject({ ok: false, body: 'not-member\n' });
    const r = await client.pushBlocks(registered);
    expect(r).toMatchObject({ accepted: registered.length, height: registered.at(-1)!.header.height });
    expect((await client.head()).height).toBe(registered.at(-1)!.header.height);
    const phone = await openSocket(tokenUrl(patient, ws()));
    if (!phone.ok) throw new Error(`the registered patient was refused: ${phone.body}`);
    // A patient token opens the patients' room, never the validators' room.
    const nosy = await openSocket(tokenUrl(patient, ws()));
    if (!nosy.ok) throw new Error(`the registered patient's second socket was refused: ${nosy.body}`);
    nosy.ws.send(JSON.stringify({ type: 'subscribe', topics: ['hygeia/patients/v1'] }));
    await eventually(() => relay.hub.subscribers('hygeia/patients/v1') === 1, 'the phone to join the patients room');
    const nosyGone = closed(nosy.ws);
    nosy.ws.send(JSON.stringify({ type: 'subscribe', topics: [ROOM] }));
    expect(await nosyGone).toEqual({ code: CloseCode.Forbidden, reason: 'forbidden-topic' });
    expect(relay.hub.subscribers(ROOM)).toBe(0);
    // Revoked on the ledger: its socket is closed as soon as the relay verifies the block.
    const bye = closed(phone.ws);
    await client.pushBlocks(revoked);
    expect(await bye).toEqual({ code: CloseCode.Forbidden, reason: 'membership-revoked' });
    expect(await openSocket(tokenUrl(patient, ws()))).toMatchObject({ ok: false, body: 'not-member\n' });
  });

  it('refuses pushes from non-clinics, malformed and oversized bodies, gaps and forged blocks, saying why', async () => {
    const url = `${relay.url}/v1/ledger/blocks`;
    const body = encodeBlockBatch(registered);
    const client = new RelayClient({ relayUrl: ws(), secretKey: clinics[0]!.secretKey });
    await client.pushBlocks([...registered, ...revoked]);
    const post = (headers: Record<string, string>, b: Uint8Array = body) =>
      fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/octet-stream', ...headers }, body: b as Uint8Array<ArrayBuffer> });
    expect((await post({})).status).toBe(401);
    expect(await (await post(bearer(strangerKey(), ws()))).json()).toEqual({ error: 'not-member' });
    expect((await post(bearer(clinics[0]!, ws()), Uint8Array.of(5, 1, 2))).status).toBe(400);
    expect((await post(bearer(clinics[0]!, ws()), new Uint8Array(33 * 1024 * 1024))).status).toBe(413);
    // The relay is past these blocks: nothing to apply, nothing refused.
    expect(await (await post(bearer(clinics[0]!, ws()))).json()).toMatchObject({ accepted: 0 });
    const more = [
      ...(await chain.registerPatientKey(clinics[1]!, strangerKey().publicKey, 'p-2')),
      ...(await chain.registerPatientKey(clinics[1]!, strangerKey().publicKey, 'p-3')),
    ];
    const error = (p: Promise<unknown>) =>
      p.then(
        () => null,
        (e: unknown) => e as RelayClientError,
      );
    expect(await error(client.pushBlocks(more.slice(-1)))).toMatchObject({ code: 'gap', height: revoked.at(-1)!.header.height });
    const forged = more.map((b, i) => (i === more.length - 1 ? { ...b, header: { ...b.header, stateRoot: new Uint8Array(32) } } : b));
    expect(await error(client.pushBlocks(forged))).toMatchObject({ code: 'refused-block', reason: 'state-mismatch' });
    expect(await client.pushBlocks(more)).toMatchObject({ height: more.at(-1)!.header.height });
  });
});

describe('enrolment', () => {
  it('lets a phone with an open one-time enrolment meet only the clinic that opened it', async () => {
    const code = 'correct horse battery staple';
    const codeHash = createHash('sha256').update(code).digest('hex');
    const topic = `hygeia/enrol/v1/${codeHash}`;
    const desk = new RelayClient({ relayUrl: ws(), secretKey: clinics[3]!.secretKey });
    await desk.registerEnrolment(codeHash, Date.now() + 5 * 60_000);
    await expect(desk.registerEnrolment(codeHash, Date.now() + 5 * 60_000)).rejects.toMatchObject({ code: 'refused', reason: 'duplicate' });
    const res = await fetch(`${relay.url}/v1/enrolments`, { method: 'POST', headers: { ...bearer(patient, ws()), 'Content-Type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(401);
    const phoneKey = strangerKey();
    const [clinicSock, phoneSock, otherSock] = await Promise.all([
      openSocket(tokenUrl(clinics[3]!, ws())),
      openSocket(tokenUrl(phoneKey, ws(), { scope: enrolmentScope(codeHash) })),
      openSocket(tokenUrl(clinics[0]!, ws())),
    ]);
    if (!clinicSock.ok || !phoneSock.ok || !otherSock.ok) throw new Error('all three must connect');
    const atClinic = collect(clinicSock.ws);
    clinicSock.ws.send(JSON.stringify({ type: 'subscribe', topics: [topic] }));
    phoneSock.ws.send(JSON.stringify({ type: 'subscribe', topics: [topic] }));
    await eventually(() => relay.hub.subscribers(topic) === 2, 'both to join the enrolment room');
    phoneSock.ws.send(JSON.stringify({ type: 'publish', topic, data: { type: 'announce', from: 'phone' } }));
    await eventually(() => atClinic.length > 0, 'the clinic to hear the phone');
    expect(atClinic[0]).toMatchObject({ topic, data: { type: 'announce', from: 'phone' } });
    // The phone may go nowhere else; another clinic may not come in.
    const phoneGone = closed(phoneSock.ws);
    const otherGone = closed(otherSock.ws);
    otherSock.ws.send(JSON.stringify({ type: 'subscribe', topics: [topic] }));
    phoneSock.ws.send(JSON.stringify({ type: 'subscribe', topics: ['hygeia/patients/v1'] }));
    expect(await otherGone).toEqual({ code: CloseCode.Forbidden, reason: 'forbidden-topic' });
    expect(await phoneGone).toEqual({ code: CloseCode.Forbidden, reason: 'forbidden-topic' });
    // A token scoped to one code opens that code's room only, not another open enrolment's.
    const otherHash = createHash('sha256').update('another code').digest('hex');
    await desk.registerEnrolment(otherHash, Date.now() + 5 * 60_000);
    const wrongScope = await openSocket(tokenUrl(phoneKey, ws(), { scope: enrolmentScope(codeHash) }));
    if (!wrongScope.ok) throw new Error(`the phone's second socket was refused: ${wrongScope.body}`);
    const wrongGone = closed(wrongScope.ws);
    wrongScope.ws.send(JSON.stringify({ type: 'subscribe', topics: [`hygeia/enrol/v1/${otherHash}`] }));
    expect(await wrongGone).toEqual({ code: CloseCode.Forbidden, reason: 'forbidden-topic' });
    // The code served one phone: another phone cannot use it.
    expect(await openSocket(tokenUrl(strangerKey(), ws(), { scope: enrolmentScope(codeHash) }))).toMatchObject({ ok: false, body: 'enrolment-closed\n' });
    clinicSock.ws.close();
  });
});

describe('signaling over real sockets', () => {
  it('relays y-webrtc messages between clinics, and a malformed or oversized frame closes only its sender', async () => {
    const [a, b, bad, big] = await Promise.all(clinics.map((c) => openSocket(tokenUrl(c, ws()))));
    if (!a?.ok || !b?.ok || !bad?.ok || !big?.ok) throw new Error('clinics must connect');
    const gotA = collect(a.ws);
    const gotB = collect(b.ws);
    a.ws.send(JSON.stringify({ type: 'subscribe', topics: [ROOM] }));
    b.ws.send(JSON.stringify({ type: 'subscribe', topics: [ROOM] }));
    await eventually(() => relay.hub.subscribers(ROOM) === 2, 'subscriptions');
    const badClosed = closed(bad.ws);
    const bigClosed = closed(big.ws);
    bad.ws.send('{"type":"subscribe","topics":');
    big.ws.send(JSON.stringify({ type: 'publish', topic: ROOM, data: 'x'.repeat(8192) }));
    expect(await badClosed).toEqual({ code: CloseCode.Malformed, reason: 'malformed' });
    expect((await bigClosed).code).toBe(CloseCode.TooBig);
    a.ws.send(JSON.stringify({ type: 'publish', topic: ROOM, data: { type: 'announce', from: 'a' } }));
    b.ws.send(JSON.stringify({ type: 'ping' }));
    await eventually(() => gotA.length >= 1 && gotB.length >= 2, 'deliveries');
    expect(gotA).toEqual([{ type: 'publish', topic: ROOM, data: { type: 'announce', from: 'a' }, clients: 2 }]);
    expect(gotB).toContainEqual({ type: 'pong' });
    expect(gotB).toContainEqual({ type: 'publish', topic: ROOM, data: { type: 'announce', from: 'a' }, clients: 2 });
    a.ws.close();
    b.ws.close();
  });
});

describe('HTTP surface', () => {
  it('answers health, the API and upgrades only to its own Host names (DNS rebinding), static files to any', async () => {
    const { request } = await import('node:http');
    const get = (path: string, host: string) =>
      new Promise<number>((res, rej) => {
        const r = request({ host: '127.0.0.1', port: relay.port, path, headers: { Host: host } }, (x) => {
          x.resume();
          res(x.statusCode ?? 0);
        });
        r.on('error', rej);
        r.end();
      });
    for (const path of ['/healthz', '/v1/config', '/v1/ledger/head', '/dev/identity/clinic-1']) {
      expect(await get(path, 'rebound.attacker.example'), path).toBe(421);
    }
    expect(await get('/healthz', `localhost:${relay.port}`)).toBe(200);
    expect(await get('/', 'anything.example')).toBe(200);
    const forged = await openSocket(tokenUrl(clinics[0]!, `ws://127.0.0.1:${relay.port}`).replace('127.0.0.1', 'localhost'));
    expect(forged.ok).toBe(true);
    if (forged.ok) forged.ws.close();
  });

  it('serves /metrics on its own listener only, with a Host check there too', async () => {
    expect((await fetch(`${relay.url}/metrics`)).status).toBe(404);
    const metrics = await (await fetch(`${relay.metricsUrl}/metrics`)).text();
    expect(metrics).toMatch(/hygeia_relay_connections \d+/);
    expect(metrics).toMatch(/hygeia_relay_rejections_total\{reason="not-member"\} [1-9]/);
    expect(metrics).toMatch(/hygeia_relay_ledger_height [1-9]/);
    expect(metrics).not.toContain(clinics[0]!.publicKey);
    const { request } = await import('node:http');
    const status = await new Promise<number>((res) => {
      const u = new URL(relay.metricsUrl!);
      request({ host: u.hostname, port: u.port, path: '/metrics', headers: { Host: 'evil.example' } }, (x) => res(x.statusCode ?? 0)).end();
    });
    expect(status).toBe(421);
  });

  it('gives the ICE servers, the relay URL and the genesis; TURN credentials only with a member token', async () => {
    const anonymous = (await (await fetch(`${relay.url}/v1/config`)).json()) as { iceServers: unknown[]; relayUrl: string; genesis: Genesis };
    expect(anonymous.iceServers).toEqual([{ urls: 'stun:127.0.0.1:3478' }]);
    expect(anonymous.relayUrl).toBe(relay.signalingUrl);
    expect(anonymous.genesis.chainId).toBe(genesis.chainId);
    const member = await new RelayClient({ relayUrl: ws(), secretKey: clinics[0]!.secretKey }).config();
    expect(member.iceServers).toEqual([{ urls: 'stun:127.0.0.1:3478' }, { urls: 'turn:127.0.0.1:3478', username: 'u', credential: 'p' }]);
  });

  it('serves hashed assets immutable, the shell and the service worker no-cache, wasm as application/wasm, with CSP and nosniff', async () => {
    const index = await fetch(`${relay.url}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('cache-control')).toBe('no-cache');
    expect(index.headers.get('content-type')).toContain('text/html');
    expect(index.headers.get('cross-origin-resource-policy')).toBe('same-origin');
    expect(index.headers.get('x-content-type-options')).toBe('nosniff');
    expect(index.headers.get('content-security-policy')).toContain("'wasm-unsafe-eval'");
    expect((await fetch(`${relay.url}/sw.js`)).headers.get('cache-control')).toBe('no-cache');
    const js = await fetch(`${relay.url}/assets/index-abc123.js`);
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect((await fetch(`${relay.url}/assets/core-def456.wasm`)).headers.get('content-type')).toBe('application/wasm');
    expect((await fetch(`${relay.url}/assets/index-abc123.js`, { headers: { 'If-None-Match': js.headers.get('etag')! } })).status).toBe(304);
    const pre = (await (await fetch(`${relay.url}/precache.json`)).json()) as { urls: string[] };
    expect(pre.urls.sort()).toEqual(['./', './assets/core-def456.wasm', './assets/index-abc123.js']);
  });

  it('never serves files outside dist/', async () => {
    for (const p of ['/../package.json', '/%2e%2e/package.json', '/assets/%2e%2e/%2e%2e/package.json']) expect((await fetch(`${relay.url}${p}`)).status).toBe(404);
  });
});
