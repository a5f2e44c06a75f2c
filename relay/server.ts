// One relay: HTTP (static PWA, /healthz, /metrics, the API of api.ts) and WebSocket signaling on the same port,
// every upgrade authenticated by a single-use token before a socket exists. Membership is the ledger's, as
// the relay verified it (ledger.ts): when a verified block changes who is in, connections that lost their
// place are closed at once. /metrics can live on a separate listener (for a private network or a sidecar).

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { initCore } from '../wasm/index.ts';
import { relayOrigin } from '../web/src/core/net/relay-token.ts';
import type { Genesis } from '../web/src/core/node/genesis.ts';
import { RelayApi, json } from './api.ts';
import { RelayAuth, type Principal } from './auth.ts';
import type { RedisBackplane } from './backplane.ts';
import { EnrolmentRegistry } from './enrolments.ts';
import { HostAllowList, isLoopbackHost } from './http-guard.ts';
import type { IceServer, TurnSecret } from './ice.ts';
import type { RelayLedger } from './ledger.ts';
import { CloseCode, DEFAULT_LIMITS, type RelayLimits } from './limits.ts';
import { keyPrefix, silentLogger, type Logger } from './log.ts';
import { RelayMetrics, type RejectionReason } from './metrics.ts';
import { SignalingHub, type SignalingConnection, type SignalingSocket } from './signaling.ts';
import { SECURITY_HEADERS, StaticFiles } from './static.ts';

export interface RelayOptions {
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port?: number;
  readonly genesis: Genesis;
  /** The ledger the relay verifies (membership comes from it). */
  readonly ledger: RelayLedger;
  /** The built PWA; omit to serve no static files. */
  readonly distDir?: string;
  /** Public http(s):// or ws(s):// URLs (behind a proxy): tokens may be bound to them, their hosts are ours. */
  readonly publicUrls?: readonly string[];
  readonly redisUrl?: string;
  readonly limits?: Partial<RelayLimits>;
  readonly log?: Logger;
  /**
   * The development consortium's directory, when no genesis was configured: enables GET /dev/identity/... for
   * requests from this machine, and only while the relay listens on loopback with no public URL.
   */
  readonly devDir?: string | null;
  readonly iceServers?: readonly IceServer[];
  /** 'relay': browsers reach each other through TURN only. */
  readonly iceTransportPolicy?: 'all' | 'relay';
  readonly turn?: TurnSecret | null;
  /** Serve /metrics on this address instead of the main port. */
  readonly metricsListener?: { readonly host: string; readonly port: number } | null;
  readonly defaultMetrics?: boolean;
  /** Interval of WebSocket keep-alive pings, enrolment expiry and used-token sweeps. */
  readonly heartbeatMs?: number;
  /** How long after a ledger change its verified state is written (the writes are coalesced). */
  readonly persistDelayMs?: number;
}

export class Relay {
  readonly metrics: RelayMetrics;
  readonly hub: SignalingHub;
  readonly limits: RelayLimits;
  readonly enrolments: EnrolmentRegistry;
  readonly auth: RelayAuth;
  private readonly log: Logger;
  private readonly server: Server;
  private readonly metricsServer: Server | null;
  private readonly wss: WebSocketServer;
  private readonly sockets = new Map<WebSocket, { conn: SignalingConnection; alive: boolean }>();
  private readonly files: StaticFiles | null;
  private readonly api: RelayApi;
  private backplane: RedisBackplane | null = null;
  private origins: string[] = [];
  private hosts = new HostAllowList([]);
  private metricsHosts = new HostAllowList([]);
  private heartbeat: NodeJS.Timeout | null = null;
  private persistTimer: NodeJS.Timeout | null = null;
  private stopping: Promise<void> | null = null;
  private address: AddressInfo | null = null;
  private unwatchLedger: () => void = () => {};

  constructor(private readonly opts: RelayOptions) {
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.log = opts.log ?? silentLogger;
    this.metrics = new RelayMetrics({ defaultMetrics: opts.defaultMetrics ?? true });
    this.enrolments = new EnrolmentRegistry();
    this.auth = new RelayAuth({ membership: opts.ledger, enrolments: this.enrolments, limits: this.limits, origins: () => this.origins });
    this.hub = new SignalingHub({ limits: this.limits, metrics: this.metrics, log: this.log, enrolments: this.enrolments });
    this.files = opts.distDir ? new StaticFiles(opts.distDir) : null;
    const host = opts.host ?? '127.0.0.1';
    const devAllowed = !!opts.devDir && isLoopbackHost(host) && (opts.publicUrls?.length ?? 0) === 0;
    this.api = new RelayApi({
      auth: this.auth,
      ledger: opts.ledger,
      enrolments: this.enrolments,
      genesis: opts.genesis,
      iceServers: opts.iceServers ?? [],
      iceTransportPolicy: opts.iceTransportPolicy ?? 'all',
      turn: opts.turn ?? null,
      metrics: this.metrics,
      log: this.log,
      devDir: devAllowed ? opts.devDir! : null,
      maxBlocksBodyBytes: this.limits.maxBlocksBodyBytes,
      relayUrlFor: (req) => this.relayUrlFor(req),
    });
    this.server = createServer((req, res) => this.serve(req, res, () => this.onRequest(req, res)));
    this.server.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
    this.server.on('clientError', (_err, socket) => socket.destroy());
    this.metricsServer = opts.metricsListener ? createServer((req, res) => this.serve(req, res, () => this.onMetricsRequest(req, res))) : null;
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.limits.maxFrameBytes,
      perMessageDeflate: false,
      clientTracking: false,
    });
    this.metrics.ledgerHeight.set(opts.ledger.height);
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

  /** The metrics listener's http:// URL, when there is one (after start). */
  get metricsUrl(): string | null {
    const a = this.metricsServer?.address() as AddressInfo | null | undefined;
    return a ? `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}` : null;
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
    await listen(this.server, this.opts.port ?? 8080, host);
    this.address = this.server.address() as AddressInfo;
    const port = this.address.port;
    const publicUrls = this.opts.publicUrls ?? [];
    this.hosts = HostAllowList.forListener(host, port, publicUrls);
    if (publicUrls.length > 0) {
      this.origins = publicUrls.map((u) => relayOrigin(u.replace(/^http/, 'ws')));
    } else {
      this.origins = [...new Set(this.hosts.list.map((h) => relayOrigin(`ws://${h}`)))];
    }
    if (this.metricsServer && this.opts.metricsListener) {
      await listen(this.metricsServer, this.opts.metricsListener.port, this.opts.metricsListener.host);
      const a = this.metricsServer.address() as AddressInfo;
      this.metricsHosts = HostAllowList.forListener(this.opts.metricsListener.host, a.port);
    }
    this.unwatchLedger = this.opts.ledger.onChange(() => this.onLedgerChange());
    this.heartbeat = setInterval(() => this.beat(), this.opts.heartbeatMs ?? 30_000);
    this.heartbeat.unref();
    return this;
  }

  /** Origins a token may be bound to. */
  get tokenOrigins(): readonly string[] {
    return this.origins;
  }

  /** Graceful shutdown: refuse new work, tell clients to go away, flush the ledger, close Redis. Idempotent. */
  stop(graceMs = 3000): Promise<void> {
    this.stopping ??= (async () => {
      if (this.heartbeat) clearInterval(this.heartbeat);
      if (this.persistTimer) clearTimeout(this.persistTimer);
      this.unwatchLedger();
      this.persistLedger();
      const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      const metricsClosed = this.metricsServer ? new Promise<void>((resolve) => this.metricsServer!.close(() => resolve())) : Promise.resolve();
      this.hub.closeAll(CloseCode.GoingAway, 'relay shutting down');
      const deadline = Date.now() + graceMs;
      while (this.sockets.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      for (const ws of this.sockets.keys()) ws.terminate();
      this.server.closeAllConnections();
      this.metricsServer?.closeAllConnections();
      await Promise.all([closed, metricsClosed]);
      await this.backplane?.close();
    })();
    return this.stopping;
  }

  private onLedgerChange(): void {
    this.metrics.ledgerHeight.set(this.opts.ledger.height);
    const closed = this.hub.revalidate((key) => this.opts.ledger.roleOf(key));
    if (closed > 0) this.log.info('connections closed after a membership change', { closed, height: this.opts.ledger.height });
    if (!this.persistTimer) {
      this.persistTimer = setTimeout(() => {
        this.persistTimer = null;
        this.persistLedger();
      }, this.opts.persistDelayMs ?? 1000);
      this.persistTimer.unref();
    }
  }

  private persistLedger(): void {
    try {
      this.opts.ledger.persist();
    } catch (err) {
      this.log.error('could not write the ledger state', { error: err instanceof Error ? err.message : String(err) });
    }
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
    this.enrolments.sweep();
    this.auth.sweep();
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const refuse = (status: number, reason: RejectionReason): void => {
      this.metrics.reject(reason);
      this.log.info('upgrade refused', { status, reason });
      const body = `${reason}\n`;
      const text = { 401: 'Unauthorized', 403: 'Forbidden', 421: 'Misdirected Request', 429: 'Too Many Requests' }[status] ?? 'Service Unavailable';
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    };
    if (this.stopping) return refuse(503, 'shutting-down');
    if (!this.hosts.allows(req.headers.host)) return refuse(421, 'bad-host');
    let token: string | null;
    try {
      token = new URL(req.url ?? '/', 'http://relay').searchParams.get('token');
    } catch {
      token = null;
    }
    const auth = this.auth.authenticate(token, req.socket.remoteAddress ?? '');
    if ('reason' in auth) return refuse(auth.status, auth.reason);
    const { principal } = auth;
    if (this.hub.connectionsOf(principal.key) >= this.limits.maxConnectionsPerMember) return refuse(429, 'too-many-connections');
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onSocket(ws, principal));
  }

  private onSocket(ws: WebSocket, principal: Principal): void {
    const expiresAt = principal.codeHash !== null ? (this.enrolments.get(principal.codeHash)?.expiresAt ?? 0) : Number.POSITIVE_INFINITY;
    const conn = this.hub.open(textSocket(ws), principal, expiresAt);
    const entry = { conn, alive: true };
    this.sockets.set(ws, entry);
    this.log.debug('connected', { role: principal.role, key: keyPrefix(principal.key) });
    ws.on('pong', () => {
      entry.alive = true;
    });
    ws.on('message', (data: RawData) => this.hub.receive(conn, data));
    ws.on('error', (err: Error & { code?: string }) => {
      // ws has already closed with 1009 (too big) or 1002/1007 (protocol, bad UTF-8) and says why here.
      const reason: RejectionReason = err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 'oversize' : 'malformed';
      if (!conn.closed) {
        this.metrics.reject(reason);
        this.log.info('connection closed by relay', { reason, role: principal.role, key: keyPrefix(principal.key) });
      }
      this.hub.closed(conn);
    });
    ws.on('close', () => {
      this.hub.closed(conn);
      this.sockets.delete(ws);
    });
  }

  /** Security headers on every answer; a failing handler answers 500 without details. */
  private serve(req: IncomingMessage, res: ServerResponse, handle: () => Promise<void>): void {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    handle().catch((err: unknown) => {
      this.log.error('request failed', { error: err instanceof Error ? err.message : String(err) });
      if (!res.headersSent) json(res, 500, { error: 'internal' });
      else res.destroy();
    });
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let path: string;
    try {
      path = new URL(req.url ?? '/', 'http://relay').pathname;
    } catch {
      return json(res, 400, { error: 'bad-url' });
    }
    const apiPath = path === '/healthz' || path === '/metrics' || path.startsWith('/v1/') || path.startsWith('/dev/');
    // DNS rebinding: anything but the public static files answers only to our own Host names.
    if (apiPath && !this.hosts.allows(req.headers.host)) {
      this.metrics.reject('bad-host');
      return json(res, 421, { error: 'bad-host' });
    }
    if (path === '/healthz') return this.health(res);
    if (path === '/metrics') {
      if (this.metricsServer) return json(res, 404, { error: 'not-found' });
      return this.metricsBody(res);
    }
    if (await this.api.handle(req, res, path)) return;
    if ((req.method === 'GET' || req.method === 'HEAD') && this.files && (await this.files.serve(req, res, path))) return;
    json(res, 404, { error: 'not-found' });
  }

  private async onMetricsRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.metricsHosts.allows(req.headers.host)) return json(res, 421, { error: 'bad-host' });
    const path = new URL(req.url ?? '/', 'http://relay').pathname;
    if (path === '/metrics') return this.metricsBody(res);
    if (path === '/healthz') return this.health(res);
    json(res, 404, { error: 'not-found' });
  }

  private health(res: ServerResponse): void {
    const redis = this.backplane ? (this.backplane.ready ? 'ready' : 'down') : 'off';
    const ok = !this.stopping;
    json(res, ok ? 200 : 503, {
      status: ok ? 'ok' : 'stopping',
      connections: this.hub.connectionCount,
      topics: this.hub.topicCount,
      ledgerHeight: this.opts.ledger.height,
      redis,
    });
  }

  private async metricsBody(res: ServerResponse): Promise<void> {
    const body = await this.metrics.registry.metrics();
    res.writeHead(200, { 'Content-Type': this.metrics.registry.contentType, 'Cache-Control': 'no-store' });
    res.end(body);
  }

  /** The signaling URL a browser should use: the public URL, else this request's (checked) Host. */
  private relayUrlFor(req: IncomingMessage): string {
    const pub = this.opts.publicUrls?.[0];
    if (pub) return relayOrigin(pub.replace(/^http/, 'ws'));
    return `ws://${(req.headers.host ?? '').toLowerCase()}`;
  }
}

/** The hub's view of a ws socket: already-encoded JSON goes out as a text frame (y-webrtc reads text). */
function textSocket(ws: WebSocket): SignalingSocket {
  return {
    send: (utf8) => ws.send(utf8, { binary: false }),
    close: (code, reason) => ws.close(code, reason),
    get bufferedAmount() {
      return ws.bufferedAmount;
    },
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
