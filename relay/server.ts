// One relay: HTTP (static PWA, /healthz, /metrics, /v1/members, the development enrolment) and WebSocket
// signaling on the same port, every upgrade authenticated by a member token before a socket exists.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { initCore } from '../wasm/index.ts';
import { RelayTokenError, relayOrigin, verifyRelayToken, type RelayTokenClaims } from '../web/src/core/net/relay-token.ts';
import type { RedisBackplane } from './backplane.ts';
import { CloseCode, DEFAULT_LIMITS, type RelayLimits } from './limits.ts';
import { keyPrefix, silentLogger, type Logger } from './log.ts';
import type { MemberRegistry } from './members.ts';
import { RelayMetrics, type RejectionReason } from './metrics.ts';
import { SignalingHub, type Member, type SignalingConnection } from './signaling.ts';
import { SECURITY_HEADERS, StaticFiles } from './static.ts';

export interface RelayOptions {
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port?: number;
  readonly members: MemberRegistry;
  /** The built PWA; omit to serve no static files. */
  readonly distDir?: string;
  /** Public ws(s):// URLs tokens may be bound to; derived from the listening address when omitted. */
  readonly publicUrls?: readonly string[];
  readonly redisUrl?: string;
  readonly limits?: Partial<RelayLimits>;
  readonly log?: Logger;
  /**
   * Development consortium only: lets a browser on this machine enrol its own key (POST /dev/enroll). Only
   * honoured while the relay listens on a loopback address.
   */
  readonly devEnroll?: boolean;
  readonly defaultMetrics?: boolean;
  /** Interval of WebSocket keep-alive pings and token-expiry sweeps. */
  readonly heartbeatMs?: number;
}

const TOKEN_ERROR_REASON: Record<string, RejectionReason> = {
  expired: 'expired-token',
  'wrong-relay': 'wrong-relay',
};

const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '[::1]'];

export function isLoopbackHost(host: string): boolean {
  return host === '127.0.0.1' || host === 'localhost' || host === '::1' || host === '[::1]' || /^127\./.test(host);
}

function isLoopbackAddress(addr: string | undefined): boolean {
  return addr === '127.0.0.1' || addr === '::1' || addr === '::ffff:127.0.0.1' || (addr?.startsWith('127.') ?? false);
}

export class Relay {
  readonly metrics: RelayMetrics;
  readonly hub: SignalingHub;
  readonly limits: RelayLimits;
  private readonly log: Logger;
  private readonly server: Server;
  private readonly wss: WebSocketServer;
  private readonly sockets = new Map<WebSocket, { conn: SignalingConnection; alive: boolean }>();
  private readonly files: StaticFiles | null;
  private backplane: RedisBackplane | null = null;
  private origins: string[] = [];
  private heartbeat: NodeJS.Timeout | null = null;
  private stopping: Promise<void> | null = null;
  private address: AddressInfo | null = null;

  constructor(private readonly opts: RelayOptions) {
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.log = opts.log ?? silentLogger;
    this.metrics = new RelayMetrics({ defaultMetrics: opts.defaultMetrics ?? true });
    this.hub = new SignalingHub({ limits: this.limits, metrics: this.metrics, log: this.log });
    this.files = opts.distDir ? new StaticFiles(opts.distDir) : null;
    this.server = createServer((req, res) => {
      this.onRequest(req, res).catch((err: unknown) => {
        this.log.error('request failed', { error: err instanceof Error ? err.message : String(err) });
        if (!res.headersSent) this.json(res, 500, { error: 'internal' });
        else res.destroy();
      });
    });
    this.server.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
    this.server.on('clientError', (_err, socket) => socket.destroy());
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.limits.maxFrameBytes,
      perMessageDeflate: false,
      clientTracking: false,
    });
  }

  /** The http:// URL it listens on (after start). */
  get url(): string {
    if (!this.address) throw new Error('the relay is not listening');
    const host = this.address.family === 'IPv6' ? `[${this.address.address}]` : this.address.address;
    return `http://${host}:${this.address.port}`;
  }

  /** The ws:// URL members put in their tokens (after start). */
  get signalingUrl(): string {
    return this.url.replace(/^http/, 'ws');
  }

  get port(): number {
    if (!this.address) throw new Error('the relay is not listening');
    return this.address.port;
  }

  async start(): Promise<this> {
    await initCore();
    if (this.opts.redisUrl) {
      // ioredis costs ~20 MiB of resident memory: load it only for a relay that scales out.
      const { RedisBackplane } = await import('./backplane.ts');
      this.backplane = new RedisBackplane(this.opts.redisUrl, this.hub, this.metrics, this.log);
      await this.backplane.connect();
      this.hub.setBackplane(this.backplane);
    }
    const host = this.opts.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.port ?? 8080, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.address = this.server.address() as AddressInfo;
    const port = this.address.port;
    if (this.opts.publicUrls && this.opts.publicUrls.length > 0) {
      this.origins = this.opts.publicUrls.map((u) => relayOrigin(u.replace(/^http/, 'ws')));
    } else {
      const hosts = isLoopbackHost(host) ? [...LOOPBACK_HOSTS, host.includes(':') ? `[${host}]` : host] : [host];
      this.origins = [...new Set(hosts.map((h) => relayOrigin(`ws://${h}:${port}`)))];
    }
    this.heartbeat = setInterval(() => this.beat(), this.opts.heartbeatMs ?? 30_000);
    this.heartbeat.unref();
    return this;
  }

  /** Origins a token may be bound to. */
  get tokenOrigins(): readonly string[] {
    return this.origins;
  }

  /** Graceful shutdown: refuse new work, tell clients to go away, flush, close Redis. Idempotent. */
  stop(graceMs = 3000): Promise<void> {
    this.stopping ??= (async () => {
      if (this.heartbeat) clearInterval(this.heartbeat);
      const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      this.hub.closeAll(CloseCode.GoingAway, 'relay shutting down');
      const deadline = Date.now() + graceMs;
      while (this.sockets.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      for (const ws of this.sockets.keys()) ws.terminate();
      this.server.closeAllConnections();
      await closed;
      await this.backplane?.close();
    })();
    return this.stopping;
  }

  private beat(): void {
    for (const [ws, entry] of this.sockets) {
      if (!entry.alive) {
        ws.terminate();
        continue;
      }
      entry.alive = false;
      try {
        ws.ping();
      } catch {
        ws.terminate();
      }
    }
    this.hub.sweepExpired();
  }

  /** Checks a token: the member it names, or why not. */
  authenticate(token: string | null): { member: Member; claims: RelayTokenClaims } | { status: number; reason: RejectionReason } {
    if (!token) return { status: 401, reason: 'no-token' };
    let claims: RelayTokenClaims;
    try {
      claims = verifyRelayToken(token, {
        origins: this.origins,
        now: Date.now(),
        maxLifetimeMs: this.limits.maxTokenLifetimeMs,
        clockSkewMs: this.limits.clockSkewMs,
      });
    } catch (err) {
      if (err instanceof RelayTokenError) return { status: 401, reason: TOKEN_ERROR_REASON[err.code] ?? 'bad-token' };
      throw err;
    }
    const member = this.opts.members.lookup(claims.publicKey);
    if (!member) return { status: 401, reason: 'not-member' };
    return { member, claims };
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const refuse = (status: number, reason: RejectionReason): void => {
      this.metrics.reject(reason);
      this.log.info('upgrade refused', { status, reason });
      const body = `${reason}\n`;
      socket.end(
        `HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : status === 429 ? 'Too Many Requests' : 'Service Unavailable'}\r\n` +
          `Connection: close\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      );
    };
    if (this.stopping) return refuse(503, 'shutting-down');
    let token: string | null;
    try {
      token = new URL(req.url ?? '/', 'http://relay').searchParams.get('token');
    } catch {
      token = null;
    }
    const auth = this.authenticate(token);
    if ('status' in auth) return refuse(auth.status, auth.reason);
    const { member, claims } = auth;
    if (this.hub.connectionsOf(member.publicKey) >= this.limits.maxConnectionsPerMember) {
      return refuse(429, 'too-many-connections');
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onSocket(ws, member, claims.expiresAt));
  }

  private onSocket(ws: WebSocket, member: Member, expiresAt: number): void {
    const conn = this.hub.open(ws, member, expiresAt);
    const entry = { conn, alive: true };
    this.sockets.set(ws, entry);
    this.log.debug('member connected', { member: member.name, key: keyPrefix(member.publicKey) });
    ws.on('pong', () => {
      entry.alive = true;
    });
    ws.on('message', (data: RawData) => this.hub.receive(conn, data));
    ws.on('error', (err: Error & { code?: string }) => {
      // ws has already closed with 1009 (too big) or 1002/1007 (protocol, bad UTF-8) and says why here.
      const reason: RejectionReason = err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 'oversize' : 'malformed';
      if (!conn.closed) {
        this.metrics.reject(reason);
        this.log.info('connection closed by relay', { reason, member: member.name, key: keyPrefix(member.publicKey) });
      }
      this.hub.closed(conn);
    });
    ws.on('close', () => {
      this.hub.closed(conn);
      this.sockets.delete(ws);
    });
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    const url = new URL(req.url ?? '/', 'http://relay');
    const path = url.pathname;
    if (path === '/healthz') {
      const redis = this.backplane ? (this.backplane.ready ? 'ready' : 'down') : 'off';
      const ok = !this.stopping;
      return this.json(res, ok ? 200 : 503, {
        status: ok ? 'ok' : 'stopping',
        connections: this.hub.connectionCount,
        topics: this.hub.topicCount,
        redis,
      });
    }
    if (path === '/metrics') {
      const body = await this.metrics.registry.metrics();
      res.writeHead(200, { 'Content-Type': this.metrics.registry.contentType, 'Cache-Control': 'no-store' });
      res.end(body);
      return;
    }
    if (path === '/v1/members') return this.members(req, res);
    if (path === '/dev/enroll') return this.enroll(req, res);
    if ((req.method === 'GET' || req.method === 'HEAD') && this.files && (await this.files.serve(req, res, path))) return;
    this.json(res, 404, { error: 'not found' });
  }

  /** The consortium's member list, to members only (a node checks its WebRTC peers against it). */
  private members(req: IncomingMessage, res: ServerResponse): void {
    const header = req.headers.authorization ?? '';
    const token = header.startsWith('Bearer ') ? header.slice(7) : null;
    const auth = this.authenticate(token);
    if ('status' in auth) {
      return this.json(res, auth.status, { error: auth.reason, devEnroll: this.devEnrollAllowed() });
    }
    this.json(res, 200, {
      you: auth.member,
      members: this.opts.members.list(),
    });
  }

  private devEnrollAllowed(): boolean {
    return this.opts.devEnroll === true && isLoopbackHost(this.opts.host ?? '127.0.0.1');
  }

  /**
   * Development consortium only. Safe on a single machine because: the relay listens on loopback only; the
   * request must come from loopback; it must carry a JSON content type and a custom header, which a page of
   * another origin cannot send without a CORS preflight this relay never grants; and its Origin must be this
   * relay's own. A consortium that sets HYGEIA_MEMBERS never has this endpoint.
   */
  private async enroll(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.devEnrollAllowed()) return this.json(res, 404, { error: 'not found' });
    if (req.method !== 'POST') return this.json(res, 405, { error: 'method not allowed' });
    const origin = req.headers.origin;
    const ownOrigins = this.origins.map((o) => o.replace(/^ws/, 'http'));
    if (
      !isLoopbackAddress(req.socket.remoteAddress) ||
      req.headers['x-hygeia-enroll'] !== '1' ||
      !(req.headers['content-type'] ?? '').startsWith('application/json') ||
      (origin !== undefined && !ownOrigins.includes(origin))
    ) {
      return this.json(res, 403, { error: 'forbidden' });
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > 4096) return this.json(res, 413, { error: 'too large' });
      chunks.push(chunk as Buffer);
    }
    let body: { publicKey?: unknown; name?: unknown };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
    } catch {
      return this.json(res, 400, { error: 'not json' });
    }
    const pk = typeof body.publicKey === 'string' ? body.publicKey.toLowerCase() : '';
    if (!/^[0-9a-f]{64}$/.test(pk)) return this.json(res, 400, { error: 'publicKey must be 64 hex characters' });
    const name = typeof body.name === 'string' && body.name.length > 0 && body.name.length <= 100 ? body.name : `dev node ${pk.slice(0, 8)}`;
    if (this.opts.members.size >= 256) return this.json(res, 409, { error: 'the development consortium is full' });
    this.opts.members.add({ publicKey: pk, name });
    this.json(res, 200, { enrolled: true, name });
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }
}

export async function startRelay(opts: RelayOptions): Promise<Relay> {
  return new Relay(opts).start();
}
