// The relay as `npm start` runs it, in its own process: the development consortium created on first start and
// its identities given only to this machine, directly (finding 8: not behind a proxy, not with a public URL,
// not for a configured consortium); a configured genesis; the verified ledger surviving a restart; graceful
// shutdown on SIGTERM; and two relays sharing one redis-server.
import { request } from 'node:http';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CloseCode } from '../../../relay/limits.ts';
import { RelayClient } from '../../../web/src/core/net/relay-client.ts';
import { TestChain, clinicFrom, devConsortium } from './chain.ts';
import { closed, collect, eventually, openSocket, spawnRelay, startRedis, strangerKey, tokenUrl } from './helpers.ts';
import { useCore } from '../../unit/shared/core.ts';

const tmp = (prefix: string) => mkdtempSync(join(tmpdir(), prefix));

/** GET with exactly these headers (fetch would add its own, and cannot set Host). */
function get(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  return new Promise((res, rej) => {
    const r = request({ host: u.hostname, port: u.port, path: u.pathname, headers }, (x) => {
      let body = '';
      x.on('data', (d: Buffer) => (body += d.toString()));
      x.on('end', () => res({ status: x.statusCode ?? 0, body }));
    });
    r.on('error', rej);
    r.end();
  });
}

useCore();

describe('the development consortium', () => {
  it("is created on first start, and a page on this machine may take a development clinic's identity", async () => {
    const dir = tmp('hygeia-dev-');
    const relay = await spawnRelay({ HYGEIA_DEV_DIR: dir });
    try {
      expect(relay.output.some((l) => l.includes('created a development consortium'))).toBe(true);
      expect(existsSync(join(dir, 'genesis.json'))).toBe(true);
      const host = { Host: `127.0.0.1:${relay.port}` };
      const url = `${relay.url}/dev/identity/clinic-2`;
      const ok = await get(url, { ...host, 'Sec-Fetch-Site': 'same-origin' });
      expect(ok.status).toBe(200);
      const key = JSON.parse(readFileSync(join(dir, 'keys', 'clinic-2.json'), 'utf8')) as { seed: string; publicKey: string };
      expect(JSON.parse(ok.body)).toEqual({ id: 'clinic-2', name: 'clinic-2', publicKey: key.publicKey, seed: key.seed });
      // The identity it gives is a member.
      const opened = await openSocket(tokenUrl(clinicFrom(dir, 'clinic-2'), relay.wsUrl));
      if (!opened.ok) throw new Error(`clinic-2 refused: ${opened.body}`);
      // Finding 8: behind a reverse proxy on this host the peer address is loopback for everyone; refuse.
      for (const h of ['X-Forwarded-For', 'Forwarded', 'X-Real-IP', 'Via', 'X-Forwarded-Host']) {
        expect((await get(url, { ...host, [h]: '203.0.113.7' })).status, h).toBe(403);
      }
      expect((await get(url, { ...host, Origin: 'http://evil.example' })).status).toBe(403);
      expect((await get(url, { ...host, 'Sec-Fetch-Site': 'cross-site' })).status).toBe(403);
      expect((await get(url, { Host: 'rebound.example' })).status).toBe(421);
      expect((await get(`${relay.url}/dev/identity/clinic-9`, host)).status).toBe(404);
      expect((await get(`${relay.url}/dev/enroll`, host)).status).toBe(404);
      const bye = closed(opened.ws);
      expect(await relay.stop('SIGTERM')).toBe(0);
      expect(await bye).toEqual({ code: CloseCode.GoingAway, reason: 'relay shutting down' });
      expect(relay.output.join('\n')).not.toContain(key.seed);
    } finally {
      await relay.stop('SIGKILL');
    }
  });

  it('gives no identity when the relay has a public URL', async () => {
    const relay = await spawnRelay({ HYGEIA_DEV_DIR: tmp('hygeia-dev-'), HYGEIA_PUBLIC_URL: 'https://relay.clinic.example' });
    try {
      expect((await get(`${relay.url}/dev/identity/clinic-1`, { Host: `127.0.0.1:${relay.port}` })).status).toBe(404);
    } finally {
      await relay.stop();
    }
  });
});

describe('a configured consortium', () => {
  it('admits its genesis clinics, never offers development identities, and resumes its verified ledger after a restart', async () => {
    const { dir, genesis, clinics } = await devConsortium(4);
    const ledgerDir = tmp('hygeia-ledger-');
    const env = { HYGEIA_GENESIS: join(dir, 'genesis.json'), HYGEIA_LEDGER_DIR: ledgerDir };
    let relay = await spawnRelay(env);
    try {
      expect(relay.output.some((l) => l.includes('development'))).toBe(false);
      expect((await get(`${relay.url}/dev/identity/clinic-1`, { Host: `127.0.0.1:${relay.port}` })).status).toBe(404);
      expect(await openSocket(tokenUrl(strangerKey(), relay.wsUrl))).toMatchObject({ ok: false, status: 401, body: 'not-member\n' });
      const chain = await TestChain.start(genesis, clinics);
      const patient = strangerKey();
      const blocks = await chain.registerPatientKey(clinics[0]!, patient.publicKey);
      const pushed = await new RelayClient({ relayUrl: relay.wsUrl, secretKey: clinics[0]!.secretKey }).pushBlocks(blocks);
      expect(await relay.stop('SIGTERM')).toBe(0);
      relay = await spawnRelay({ ...env, PORT: String(relay.port) });
      // Not back at genesis: the same head, and the patient registered on it still admitted.
      expect(await new RelayClient({ relayUrl: relay.wsUrl, secretKey: clinics[1]!.secretKey }).head()).toEqual({ height: pushed.height, hash: pushed.hash });
      const phone = await openSocket(tokenUrl(patient, relay.wsUrl));
      expect(phone.ok).toBe(true);
      if (phone.ok) phone.ws.close();
    } finally {
      await relay.stop();
    }
  });
});

describe('scale-out', () => {
  it('connects clinics of two relays that share one redis-server', async () => {
    const redis = await startRedis();
    const dir = tmp('hygeia-dev-');
    const r1 = await spawnRelay({ HYGEIA_DEV_DIR: dir, REDIS_URL: redis.url });
    const r2 = await spawnRelay({ HYGEIA_DEV_DIR: dir, REDIS_URL: redis.url });
    try {
      const [c1, c2] = [clinicFrom(dir, 'clinic-1'), clinicFrom(dir, 'clinic-2')];
      const a = await openSocket(tokenUrl(c1, r1.wsUrl));
      const b = await openSocket(tokenUrl(c2, r2.wsUrl));
      if (!a.ok || !b.ok) throw new Error('clinics must connect');
      const gotB = collect(b.ws);
      const gotA = collect(a.ws);
      const room = 'hygeia/consortium/v1';
      a.ws.send(JSON.stringify({ type: 'subscribe', topics: [room] }));
      b.ws.send(JSON.stringify({ type: 'subscribe', topics: [room] }));
      // Subscriptions propagate to Redis asynchronously: announce until one crosses.
      await eventually(async () => {
        a.ws.send(JSON.stringify({ type: 'publish', topic: room, data: { type: 'announce', from: 'a' } }));
        await new Promise((r) => setTimeout(r, 50));
        return gotB.length > 0;
      }, 'an announce to cross relays');
      expect(gotB[0]).toEqual({ type: 'publish', topic: room, data: { type: 'announce', from: 'a' }, clients: 1 });
      // An answer addressed to a's id, which only relay 1 knows, reaches it through Redis.
      b.ws.send(JSON.stringify({ type: 'publish', topic: room, data: { type: 'signal', from: 'b', to: 'a', signal: { type: 'answer' } } }));
      await eventually(() => gotA.some((m) => (m as { data: { from: string } }).data.from === 'b'), 'b to reach a');
      expect(((await (await fetch(`${r1.url}/healthz`)).json()) as { redis: string }).redis).toBe('ready');
      a.ws.close();
      b.ws.close();
    } finally {
      await Promise.all([r1.stop(), r2.stop()]);
      await redis.stop();
    }
  });
});
