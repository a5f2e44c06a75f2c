// The relay on real sockets: token-checked upgrades (401 for every way a token can be wrong), the y-webrtc
// protocol, limits with their close codes, /healthz, /metrics, static files with PWA headers, development
// enrolment, graceful shutdown on SIGTERM, and two relays sharing topics through a real redis-server.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initCore } from '../../../wasm/index.ts';
import { CloseCode } from '../../../relay/limits.ts';
import { silentLogger } from '../../../relay/log.ts';
import { MemberRegistry } from '../../../relay/members.ts';
import { Relay } from '../../../relay/server.ts';
import { createRelayToken, withToken } from '../../../web/src/core/net/index.ts';
import { closed, collect, eventually, makeMembers, openSocket, spawnRelay, startRedis, writeMembers, type TestMember } from './helpers.ts';

let relay: Relay;
let members: TestMember[];
let stranger: TestMember;
let dist: string;

const tokenUrl = (m: TestMember, url = relay.signalingUrl, expiresAt = Date.now() + 60_000) =>
  withToken(url, createRelayToken({ secretKey: m.secretKey, relayUrl: url, expiresAt }));

beforeAll(async () => {
  await initCore();
  members = makeMembers(4);
  [stranger] = makeMembers(1, 'stranger') as [TestMember];
  dist = mkdtempSync(join(tmpdir(), 'hygeia-dist-'));
  mkdirSync(join(dist, 'assets'));
  writeFileSync(join(dist, 'index.html'), '<!doctype html><title>t</title>');
  writeFileSync(join(dist, 'sw.js'), 'self.addEventListener("fetch", () => {});');
  writeFileSync(join(dist, 'assets', 'index-abc123.js'), 'console.log(1)');
  writeFileSync(join(dist, 'assets', 'core-def456.wasm'), Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
  relay = new Relay({
    port: 0,
    members: new MemberRegistry(writeMembers(members), silentLogger),
    distDir: dist,
    limits: { maxConnectionsPerMember: 2, maxFrameBytes: 4096 },
    defaultMetrics: false,
  });
  await relay.start();
});

afterAll(async () => {
  await relay?.stop();
});

describe('membership on upgrade', () => {
  it('admits a member with a valid token', async () => {
    const r = await openSocket(tokenUrl(members[0]!));
    expect(r.ok).toBe(true);
    if (r.ok) r.ws.close();
  });

  const refusals: [string, () => string, string][] = [
    ['no token', () => relay.signalingUrl, 'no-token'],
    ['a token that is not base64url', () => withToken(relay.signalingUrl, 'not a token!'), 'bad-token'],
    ['a truncated token', () => tokenUrl(members[0]!).slice(0, -10), 'bad-token'],
    ['an expired token', () => tokenUrl(members[0]!, relay.signalingUrl, Date.now() - 10 * 60_000), 'expired-token'],
    ['a token for another relay', () => withToken(relay.signalingUrl, createRelayToken({ secretKey: members[0]!.secretKey, relayUrl: 'ws://relay.example:8080', expiresAt: Date.now() + 60_000 })), 'wrong-relay'],
    ['a token of a key that is not a member', () => tokenUrl(stranger), 'not-member'],
    ['a token living longer than allowed', () => tokenUrl(members[0]!, relay.signalingUrl, Date.now() + 7 * 24 * 3600_000), 'bad-token'],
  ];
  for (const [what, url, reason] of refusals) {
    it(`refuses ${what} with 401`, async () => {
      const r = await openSocket(url());
      expect(r).toEqual({ ok: false, status: 401, body: `${reason}\n` });
    });
  }

  it('refuses a token whose signature was made by another key', async () => {
    // Same claims, signature of someone else: splice the stranger's signature onto member 0's body.
    const good = createRelayToken({ secretKey: members[0]!.secretKey, relayUrl: relay.signalingUrl, expiresAt: 2_000_000_000_000 });
    const other = createRelayToken({ secretKey: stranger.secretKey, relayUrl: relay.signalingUrl, expiresAt: 2_000_000_000_000 });
    const bytes = Buffer.from(good, 'base64url');
    Buffer.from(other, 'base64url').copy(bytes, bytes.length - 64, bytes.length - 64);
    const r = await openSocket(withToken(relay.signalingUrl, bytes.toString('base64url')));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.status).toBe(401);
  });

  it('limits connections per member with 429', async () => {
    const a = await openSocket(tokenUrl(members[1]!));
    const b = await openSocket(tokenUrl(members[1]!));
    const c = await openSocket(tokenUrl(members[1]!));
    expect([a.ok, b.ok]).toEqual([true, true]);
    expect(c).toEqual({ ok: false, status: 429, body: 'too-many-connections\n' });
    for (const x of [a, b]) if (x.ok) x.ws.close();
    await eventually(() => relay.hub.connectionsOf(members[1]!.publicKey) === 0, 'the connections to close');
  });
});

describe('signaling over real sockets', () => {
  it('relays y-webrtc messages between members, and a malformed or oversized frame closes only its sender', async () => {
    const [a, b, bad, big] = await Promise.all([
      openSocket(tokenUrl(members[0]!)),
      openSocket(tokenUrl(members[1]!)),
      openSocket(tokenUrl(members[2]!)),
      openSocket(tokenUrl(members[3]!)),
    ]);
    if (!a.ok || !b.ok || !bad.ok || !big.ok) throw new Error('members must connect');
    const gotA = collect(a.ws);
    const gotB = collect(b.ws);
    a.ws.send(JSON.stringify({ type: 'subscribe', topics: ['room'] }));
    b.ws.send(JSON.stringify({ type: 'subscribe', topics: ['room'] }));
    await eventually(() => relay.hub.subscribers('room') === 2, 'subscriptions');
    const badClosed = closed(bad.ws);
    const bigClosed = closed(big.ws);
    bad.ws.send('{"type":"subscribe","topics":');
    big.ws.send(JSON.stringify({ type: 'publish', topic: 'room', data: 'x'.repeat(8192) }));
    expect(await badClosed).toEqual({ code: CloseCode.Malformed, reason: 'malformed' });
    expect((await bigClosed).code).toBe(CloseCode.TooBig);
    a.ws.send(JSON.stringify({ type: 'publish', topic: 'room', data: { type: 'announce', from: 'a' } }));
    b.ws.send(JSON.stringify({ type: 'ping' }));
    await eventually(() => gotA.length >= 1 && gotB.length >= 2, 'deliveries');
    expect(gotA).toEqual([{ type: 'publish', topic: 'room', data: { type: 'announce', from: 'a' }, clients: 2 }]);
    expect(gotB).toContainEqual({ type: 'pong' });
    expect(gotB).toContainEqual({ type: 'publish', topic: 'room', data: { type: 'announce', from: 'a' }, clients: 2 });
    a.ws.close();
    b.ws.close();
  });

  it('reports health and Prometheus metrics', async () => {
    const health = await fetch(`${relay.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', redis: 'off' });
    const metrics = await (await fetch(`${relay.url}/metrics`)).text();
    expect(metrics).toMatch(/hygeia_relay_connections \d+/);
    expect(metrics).toMatch(/hygeia_relay_rejections_total\{reason="not-member"\} [1-9]/);
    expect(metrics).toMatch(/hygeia_relay_rejections_total\{reason="malformed"\} [1-9]/);
    expect(metrics).toMatch(/hygeia_relay_messages_total\{type="publish"\} [1-9]/);
    expect(metrics).not.toContain(members[0]!.publicKey);
  });
});

describe('static PWA', () => {
  it('serves hashed assets immutable, the shell and the service worker no-cache, wasm as application/wasm, with CSP and nosniff', async () => {
    const index = await fetch(`${relay.url}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('cache-control')).toBe('no-cache');
    expect(index.headers.get('content-type')).toContain('text/html');
    expect(index.headers.get('cross-origin-resource-policy')).toBe('same-origin');
    expect(index.headers.get('x-content-type-options')).toBe('nosniff');
    expect(index.headers.get('content-security-policy')).toContain("'wasm-unsafe-eval'");
    const sw = await fetch(`${relay.url}/sw.js`);
    expect(sw.headers.get('cache-control')).toBe('no-cache');
    const js = await fetch(`${relay.url}/assets/index-abc123.js`);
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const wasm = await fetch(`${relay.url}/assets/core-def456.wasm`);
    expect(wasm.headers.get('content-type')).toBe('application/wasm');
    const etag = js.headers.get('etag')!;
    expect((await fetch(`${relay.url}/assets/index-abc123.js`, { headers: { 'If-None-Match': etag } })).status).toBe(304);
    const pre = (await (await fetch(`${relay.url}/precache.json`)).json()) as { urls: string[] };
    expect(pre.urls.sort()).toEqual(['./', './assets/core-def456.wasm', './assets/index-abc123.js']);
  });

  it('never serves files outside dist/', async () => {
    for (const p of ['/../package.json', '/%2e%2e/package.json', '/assets/%2e%2e/%2e%2e/package.json']) {
      const res = await fetch(`${relay.url}${p}`);
      expect(res.status).toBe(404);
    }
  });
});

describe('the relay process', () => {
  it('creates a development consortium on first start, lets a local browser enrol, and shuts down gracefully on SIGTERM', async () => {
    await initCore();
    const devDir = mkdtempSync(join(tmpdir(), 'hygeia-dev-'));
    const proc = await spawnRelay({ HYGEIA_DEV_DIR: devDir, HYGEIA_MEMBERS: '' });
    try {
      expect(proc.output.some((l) => l.includes('created a development consortium'))).toBe(true);
      const [m] = makeMembers(1) as [TestMember];
      const url = withToken(proc.wsUrl, createRelayToken({ secretKey: m.secretKey, relayUrl: proc.wsUrl, expiresAt: Date.now() + 60_000 }));
      expect(await openSocket(url)).toMatchObject({ ok: false, status: 401 });
      // A cross-site page cannot send the custom header without a preflight; without it the relay refuses.
      const forged = await fetch(`${proc.url}/dev/enroll`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: JSON.stringify({ publicKey: m.publicKey }) });
      expect(forged.status).toBe(403);
      const wrongOrigin = await fetch(`${proc.url}/dev/enroll`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Hygeia-Enroll': '1', Origin: 'http://evil.example' },
        body: JSON.stringify({ publicKey: m.publicKey }),
      });
      expect(wrongOrigin.status).toBe(403);
      const ok = await fetch(`${proc.url}/dev/enroll`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Hygeia-Enroll': '1', Origin: proc.url },
        body: JSON.stringify({ publicKey: m.publicKey }),
      });
      expect(ok.status).toBe(200);
      const file = JSON.parse(readFileSync(join(devDir, 'dev-members.json'), 'utf8')) as { members: { publicKey: string }[] };
      expect(file.members.map((x) => x.publicKey)).toEqual([m.publicKey]);
      const opened = await openSocket(url);
      if (!opened.ok) throw new Error(`enrolled member refused: ${opened.status}`);
      const bye = closed(opened.ws);
      expect(await proc.stop('SIGTERM')).toBe(0);
      expect(await bye).toEqual({ code: CloseCode.GoingAway, reason: 'relay shutting down' });
      expect(proc.output.join('\n')).not.toContain(m.publicKey);
    } finally {
      await proc.stop('SIGKILL');
    }
  });

  it('never offers enrolment when HYGEIA_MEMBERS names the consortium', async () => {
    const [m] = makeMembers(1) as [TestMember];
    const proc = await spawnRelay({ HYGEIA_MEMBERS: writeMembers([m]) });
    try {
      const res = await fetch(`${proc.url}/dev/enroll`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Hygeia-Enroll': '1' }, body: '{}' });
      expect(res.status).toBe(404);
    } finally {
      await proc.stop();
    }
  });

  it('connects members of two relays that share one redis-server', async () => {
    const redis = await startRedis();
    const ms = makeMembers(2);
    const file = writeMembers(ms);
    const r1 = await spawnRelay({ HYGEIA_MEMBERS: file, REDIS_URL: redis.url });
    const r2 = await spawnRelay({ HYGEIA_MEMBERS: file, REDIS_URL: redis.url });
    try {
      const tok = (m: TestMember, p: { wsUrl: string }) => withToken(p.wsUrl, createRelayToken({ secretKey: m.secretKey, relayUrl: p.wsUrl, expiresAt: Date.now() + 60_000 }));
      const a = await openSocket(tok(ms[0]!, r1));
      const b = await openSocket(tok(ms[1]!, r2));
      if (!a.ok || !b.ok) throw new Error('members must connect');
      const gotB = collect(b.ws);
      const gotA = collect(a.ws);
      a.ws.send(JSON.stringify({ type: 'subscribe', topics: ['shared'] }));
      b.ws.send(JSON.stringify({ type: 'subscribe', topics: ['shared'] }));
      // Subscriptions propagate to Redis asynchronously: publish until one crosses.
      await eventually(async () => {
        a.ws.send(JSON.stringify({ type: 'publish', topic: 'shared', data: { from: 'a' } }));
        await new Promise((r) => setTimeout(r, 50));
        return gotB.length > 0;
      }, 'a publish to cross relays');
      expect(gotB[0]).toEqual({ type: 'publish', topic: 'shared', data: { from: 'a' }, clients: 1 });
      b.ws.send(JSON.stringify({ type: 'publish', topic: 'shared', data: { from: 'b' } }));
      await eventually(() => gotA.some((m) => (m as { data: { from: string } }).data.from === 'b'), 'b to reach a');
      const health = (await (await fetch(`${r1.url}/healthz`)).json()) as { redis: string };
      expect(health.redis).toBe('ready');
      a.ws.close();
      b.ws.close();
    } finally {
      await Promise.all([r1.stop(), r2.stop()]);
      await redis.stop();
    }
  });
});
