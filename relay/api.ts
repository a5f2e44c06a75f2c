// The relay's HTTP API (everything but static files, health and metrics):
//   GET  /v1/config               { iceServers, iceTransportPolicy, relayUrl, genesis, development }; TURN credentials only with a valid token
//   GET  /v1/ledger/head          { height, hash } of the ledger the relay verified
//   POST /v1/ledger/blocks        a clinic member pushes blocks above that height (relay-client.ts's batch)
//   POST /v1/enrolments           a clinic member opens a one-time enrolment { codeHash, expiresAt }
//   GET  /dev/identity/clinic-N   development consortium only: that clinic's key, to this machine only
// Bodies are bounded; every refusal is { error: <reason> } with a status, never a stack trace or a token.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { decodeBlockBatch } from '../web/src/core/net/relay-client.ts';
import { readDevKey } from '../web/src/core/node/consortium-files.ts';
import { toHex } from '../web/src/core/util/index.ts';
import type { Genesis } from '../web/src/core/node/genesis.ts';
import type { AuthResult, RelayAuth } from './auth.ts';
import { EnrolmentError, type EnrolmentRegistry } from './enrolments.ts';
import { isDirectLocalRequest } from './http-guard.ts';
import { iceServersFor, type IceServer, type TurnSecret } from './ice.ts';
import type { RelayLedger } from './ledger.ts';
import type { Logger } from './log.ts';
import { keyPrefix } from './log.ts';
import type { RelayMetrics } from './metrics.ts';

export interface ApiOptions {
  readonly auth: RelayAuth;
  readonly ledger: RelayLedger;
  readonly enrolments: EnrolmentRegistry;
  readonly genesis: Genesis;
  readonly iceServers: readonly IceServer[];
  readonly iceTransportPolicy: 'all' | 'relay';
  readonly turn: TurnSecret | null;
  readonly metrics: RelayMetrics;
  readonly log: Logger;
  /** The development consortium's directory: set only when the development endpoints may exist at all. */
  readonly devDir: string | null;
  readonly maxBlocksBodyBytes: number;
  /** The ws:// or wss:// URL browsers should use, given the (already checked) Host of a request. */
  readonly relayUrlFor: (req: IncomingMessage) => string;
}

const DEV_IDENTITY = /^\/dev\/identity\/(clinic-\d{1,2})$/;

export class RelayApi {
  constructor(private readonly opts: ApiOptions) {}

  /** Answers an API path; false if the path is not the API's. */
  async handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> {
    const method = req.method ?? 'GET';
    if (path === '/v1/config') return this.only(res, method, 'GET', () => this.config(req, res));
    if (path === '/v1/ledger/head') return this.only(res, method, 'GET', () => this.head(res));
    if (path === '/v1/ledger/blocks') return this.only(res, method, 'POST', () => this.blocks(req, res));
    if (path === '/v1/enrolments') return this.only(res, method, 'POST', () => this.enrol(req, res));
    const dev = DEV_IDENTITY.exec(path);
    if (dev || path.startsWith('/dev/')) return this.only(res, method, 'GET', () => this.devIdentity(req, res, dev?.[1] ?? null));
    return false;
  }

  private async only(res: ServerResponse, method: string, allowed: 'GET' | 'POST', run: () => Promise<void> | void): Promise<true> {
    if (method !== allowed && !(allowed === 'GET' && method === 'HEAD')) {
      res.setHeader('Allow', allowed);
      json(res, 405, { error: 'method-not-allowed' });
    } else await run();
    return true;
  }

  private authenticate(req: IncomingMessage): AuthResult | null {
    const header = req.headers.authorization;
    if (header === undefined) return null;
    const token = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
    return this.opts.auth.authenticate(token || null, req.socket.remoteAddress ?? '');
  }

  private config(req: IncomingMessage, res: ServerResponse): void {
    const auth = this.authenticate(req);
    if (auth && 'reason' in auth) return refuse(res, this.opts.metrics, auth);
    const label = auth ? keyPrefix(auth.principal.key) : null;
    json(res, 200, {
      iceServers: iceServersFor(this.opts.iceServers, this.opts.turn, label, Date.now()),
      iceTransportPolicy: this.opts.iceTransportPolicy,
      relayUrl: this.opts.relayUrlFor(req),
      genesis: this.opts.genesis,
      // The development consortium: development identities exist, and phones start without a passphrase.
      development: this.opts.devDir !== null,
    });
  }

  private head(res: ServerResponse): void {
    const { ledger } = this.opts;
    json(res, 200, { height: ledger.height, hash: toHex(ledger.headHash) });
  }

  private async blocks(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const auth = this.authenticate(req) ?? { status: 401 as const, reason: 'no-token' as const };
    if ('reason' in auth) return refuse(res, this.opts.metrics, auth);
    if (auth.principal.role !== 'clinic') return json(res, 403, { error: 'not-a-clinic' });
    const body = await readBody(req, this.opts.maxBlocksBodyBytes);
    if (body === null) return json(res, 413, { error: 'too-large' }, true);
    let blocks;
    try {
      blocks = decodeBlockBatch(body);
    } catch {
      this.opts.metrics.blocks.inc({ outcome: 'malformed' });
      return json(res, 400, { error: 'malformed' });
    }
    const { ledger } = this.opts;
    const r = ledger.accept(blocks);
    if (r.accepted > 0) this.opts.metrics.blocks.inc({ outcome: 'accepted' }, r.accepted);
    if (!r.refused) return json(res, 200, { accepted: r.accepted, height: r.height, hash: r.hash });
    if (r.refused.reason === 'gap') return json(res, 409, { error: 'gap', height: r.height, accepted: r.accepted });
    this.opts.metrics.blocks.inc({ outcome: 'refused' });
    this.opts.log.warn('block refused', { reason: r.refused.reason, block: r.refused.height, from: keyPrefix(auth.principal.key) });
    json(res, 422, { error: r.refused.reason, block: r.refused.height, height: r.height, accepted: r.accepted });
  }

  private async enrol(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const auth = this.authenticate(req) ?? { status: 401 as const, reason: 'no-token' as const };
    if ('reason' in auth) return refuse(res, this.opts.metrics, auth);
    if (auth.principal.role !== 'clinic') return json(res, 403, { error: 'not-a-clinic' });
    const body = await readBody(req, 1024);
    if (body === null) return json(res, 413, { error: 'too-large' }, true);
    let doc: { codeHash?: unknown; expiresAt?: unknown };
    try {
      doc = JSON.parse(Buffer.from(body).toString('utf8')) as typeof doc;
    } catch {
      return json(res, 400, { error: 'malformed' });
    }
    try {
      const e = this.opts.enrolments.register(String(doc.codeHash ?? ''), auth.principal.key, Number(doc.expiresAt));
      json(res, 201, { codeHash: e.codeHash, expiresAt: e.expiresAt });
    } catch (err) {
      if (!(err instanceof EnrolmentError)) throw err;
      json(res, err.reason === 'duplicate' ? 409 : err.reason === 'too-many' ? 429 : 400, { error: err.reason });
    }
  }

  /**
   * Development only (finding 8): the development consortium (no genesis configured) on a loopback listener
   * with no public URL, and a request straight from this machine (no proxy headers, a loopback Host, from the
   * relay's own origin). Otherwise the endpoint does not exist, or is forbidden to this request.
   */
  private devIdentity(req: IncomingMessage, res: ServerResponse, clinicId: string | null): void {
    const dir = this.opts.devDir;
    if (dir === null || clinicId === null) return json(res, 404, { error: 'not-found' });
    if (!isDirectLocalRequest(req)) return json(res, 403, { error: 'forbidden' });
    const key = readDevKey(dir, clinicId);
    if (!key) return json(res, 404, { error: 'not-found' });
    json(res, 200, { id: key.id, name: key.name, publicKey: key.publicKey, seed: key.seed });
  }
}

function refuse(res: ServerResponse, metrics: RelayMetrics, auth: Extract<AuthResult, { reason: string }>): void {
  metrics.reject(auth.reason);
  json(res, auth.status, { error: auth.reason });
}

/**
 * Reads a request body up to `max` bytes; null if it is larger (the rest is read and dropped, never held, and
 * the answer closes the connection).
 */
function readBody(req: IncomingMessage, max: number): Promise<Uint8Array | null> {
  return new Promise((resolve) => {
    const declared = Number(req.headers['content-length'] ?? NaN);
    const chunks: Buffer[] = [];
    let size = 0;
    let done = Number.isFinite(declared) && declared > max;
    if (done) resolve(null);
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > max) {
        done = true;
        chunks.length = 0;
        resolve(null);
      } else chunks.push(chunk);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      resolve(new Uint8Array(Buffer.concat(chunks)));
    });
    req.on('error', () => {
      if (done) return;
      done = true;
      resolve(null);
    });
  });
}

export function json(res: ServerResponse, status: number, body: unknown, closeConnection = false): void {
  const text = JSON.stringify(body);
  const headers: Record<string, string | number> = { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(text) };
  if (closeConnection) headers.Connection = 'close';
  res.writeHead(status, headers);
  res.end(text);
}
