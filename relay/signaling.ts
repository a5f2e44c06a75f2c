// The y-webrtc signaling protocol with limits, independent of sockets so it can be tested without any.
// Messages are JSON objects: { type: 'subscribe' | 'unsubscribe', topics: string[] }, { type: 'publish',
// topic, data } (relayed to every subscriber of the topic, the sender included, with `clients` set to the
// number of local subscribers, exactly as y-webrtc's bin/server.js does), { type: 'ping' } -> { type: 'pong' }.
// Unknown types are ignored, as the reference does. Anything else closes that one connection with a code
// from CloseCode; nothing a client sends can throw out of receive().

import { CloseCode, TokenBucket, type RelayLimits } from './limits.ts';
import type { Logger } from './log.ts';
import { keyPrefix } from './log.ts';
import type { RejectionReason, RelayMetrics } from './metrics.ts';

/** The part of a WebSocket the hub needs. */
export interface SignalingSocket {
  send(data: string): void;
  close(code: number, reason: string): void;
  readonly bufferedAmount: number;
}

/** Shares topics with other relays (Redis pub/sub). The hub calls it; the backplane calls deliverRemote. */
export interface Backplane {
  subscribe(topic: string): void;
  unsubscribe(topic: string): void;
  publish(topic: string, message: string): void;
}

export interface Member {
  /** Lowercase hex Ed25519 public key. */
  readonly publicKey: string;
  readonly name: string;
}

export interface SignalingConnection {
  readonly socket: SignalingSocket;
  readonly member: Member;
  /** Milliseconds since the epoch after which the connection's token is no longer valid. */
  readonly expiresAt: number;
  readonly topics: Set<string>;
  readonly bucket: TokenBucket;
  closed: boolean;
}

export interface SignalingHubOptions {
  readonly limits: RelayLimits;
  readonly metrics: RelayMetrics;
  readonly log: Logger;
  /** Monotonic milliseconds (rate limits). */
  readonly monotonic?: () => number;
  /** Wall-clock milliseconds since the epoch (token expiry). */
  readonly wallClock?: () => number;
}

const PONG = JSON.stringify({ type: 'pong' });

export class SignalingHub {
  private readonly topics = new Map<string, Set<SignalingConnection>>();
  private readonly perMember = new Map<string, number>();
  private readonly conns = new Set<SignalingConnection>();
  private readonly monotonic: () => number;
  private readonly wallClock: () => number;
  private backplane: Backplane | null = null;

  constructor(private readonly opts: SignalingHubOptions) {
    this.monotonic = opts.monotonic ?? (() => performance.now());
    this.wallClock = opts.wallClock ?? (() => Date.now());
  }

  setBackplane(backplane: Backplane | null): void {
    this.backplane = backplane;
    if (backplane) for (const t of this.topics.keys()) backplane.subscribe(t);
  }

  get connectionCount(): number {
    return this.conns.size;
  }

  get topicCount(): number {
    return this.topics.size;
  }

  /** Open connections held by one member key. */
  connectionsOf(publicKey: string): number {
    return this.perMember.get(publicKey) ?? 0;
  }

  /** Subscribers of a topic on this relay (0 if none). */
  subscribers(topic: string): number {
    return this.topics.get(topic)?.size ?? 0;
  }

  open(socket: SignalingSocket, member: Member, expiresAt: number): SignalingConnection {
    const { limits } = this.opts;
    const conn: SignalingConnection = {
      socket,
      member,
      expiresAt,
      topics: new Set(),
      bucket: new TokenBucket(limits.messagesPerSecond, limits.messageBurst, this.monotonic()),
      closed: false,
    };
    this.conns.add(conn);
    this.perMember.set(member.publicKey, this.connectionsOf(member.publicKey) + 1);
    this.opts.metrics.connections.set(this.conns.size);
    return conn;
  }

  /** The socket closed (for any reason): forget the connection. Idempotent. */
  closed(conn: SignalingConnection): void {
    if (!this.conns.delete(conn)) return;
    conn.closed = true;
    for (const t of conn.topics) this.leave(conn, t);
    conn.topics.clear();
    const n = this.connectionsOf(conn.member.publicKey) - 1;
    if (n > 0) this.perMember.set(conn.member.publicKey, n);
    else this.perMember.delete(conn.member.publicKey);
    this.opts.metrics.connections.set(this.conns.size);
  }

  /** Closes one connection for a broken rule; it stops receiving at once. */
  kick(conn: SignalingConnection, code: number, reason: RejectionReason): void {
    if (conn.closed) return;
    this.opts.metrics.reject(reason);
    this.opts.log.info('connection closed by relay', { reason, code, member: conn.member.name, key: keyPrefix(conn.member.publicKey) });
    this.closed(conn);
    try {
      conn.socket.close(code, reason);
    } catch {
      // The socket is already gone; nothing else to release.
    }
  }

  /** Handles one frame from a client. Never throws. */
  receive(conn: SignalingConnection, frame: string | Buffer | ArrayBuffer | Buffer[]): void {
    if (conn.closed) return;
    if (!conn.bucket.take(this.monotonic())) return this.kick(conn, CloseCode.RateLimited, 'rate-limited');
    let msg: unknown;
    try {
      msg = JSON.parse(frameText(frame));
    } catch {
      return this.kick(conn, CloseCode.Malformed, 'malformed');
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return this.kick(conn, CloseCode.Malformed, 'malformed');
    const m = msg as Record<string, unknown>;
    const type = m.type;
    if (typeof type !== 'string') return this.kick(conn, CloseCode.Malformed, 'malformed');
    switch (type) {
      case 'subscribe': {
        const topics = this.topicList(conn, m.topics);
        if (!topics) return;
        for (const t of topics) {
          if (conn.topics.has(t)) continue;
          if (conn.topics.size >= this.opts.limits.maxTopicsPerConnection) {
            return this.kick(conn, CloseCode.TooManyTopics, 'too-many-topics');
          }
          conn.topics.add(t);
          this.join(conn, t);
        }
        this.opts.metrics.messages.inc({ type });
        return;
      }
      case 'unsubscribe': {
        const topics = this.topicList(conn, m.topics);
        if (!topics) return;
        for (const t of topics) if (conn.topics.delete(t)) this.leave(conn, t);
        this.opts.metrics.messages.inc({ type });
        return;
      }
      case 'publish': {
        const topic = m.topic;
        if (typeof topic !== 'string' || topic.length === 0) return this.kick(conn, CloseCode.Malformed, 'malformed');
        if (topic.length > this.opts.limits.maxTopicLength) return this.kick(conn, CloseCode.TooManyTopics, 'too-many-topics');
        this.opts.metrics.messages.inc({ type });
        const receivers = this.topics.get(topic);
        let local: string | null = null;
        let remote: string | null = null;
        try {
          // Stringifying can throw on pathological nesting that JSON.parse accepted.
          if (receivers) local = JSON.stringify({ ...m, clients: receivers.size });
          if (this.backplane) remote = JSON.stringify(m);
        } catch {
          return this.kick(conn, CloseCode.Malformed, 'malformed');
        }
        if (receivers && local !== null) this.deliver(receivers, local, 'local');
        if (this.backplane && remote !== null) this.backplane.publish(topic, remote);
        return;
      }
      case 'ping':
        this.opts.metrics.messages.inc({ type });
        this.sendTo(conn, PONG);
        return;
      default:
        this.opts.metrics.messages.inc({ type: 'unknown' });
        return;
    }
  }

  /** A publish that arrived from another relay through the backplane. */
  deliverRemote(topic: string, message: string): void {
    const receivers = this.topics.get(topic);
    if (!receivers) return;
    let m: Record<string, unknown>;
    try {
      m = JSON.parse(message) as Record<string, unknown>;
    } catch {
      this.opts.metrics.backplaneErrors.inc();
      return;
    }
    m.clients = receivers.size;
    let data: string;
    try {
      data = JSON.stringify(m);
    } catch {
      this.opts.metrics.backplaneErrors.inc();
      return;
    }
    this.deliver(receivers, data, 'backplane');
  }

  /** Closes connections whose token expired; returns how many. */
  sweepExpired(): number {
    const now = this.wallClock();
    let n = 0;
    for (const c of [...this.conns]) {
      if (c.expiresAt + this.opts.limits.clockSkewMs < now) {
        this.kick(c, CloseCode.TokenExpired, 'expired-token');
        n++;
      }
    }
    return n;
  }

  /** Closes every connection (shutdown). */
  closeAll(code: number, reason: string): void {
    for (const c of [...this.conns]) {
      this.closed(c);
      try {
        c.socket.close(code, reason);
      } catch {
        // already gone
      }
    }
  }

  private topicList(conn: SignalingConnection, raw: unknown): string[] | null {
    if (raw === undefined) return [];
    if (!Array.isArray(raw)) {
      this.kick(conn, CloseCode.Malformed, 'malformed');
      return null;
    }
    for (const t of raw) {
      if (typeof t !== 'string' || t.length === 0) {
        this.kick(conn, CloseCode.Malformed, 'malformed');
        return null;
      }
      if (t.length > this.opts.limits.maxTopicLength) {
        this.kick(conn, CloseCode.TooManyTopics, 'too-many-topics');
        return null;
      }
    }
    if (raw.length > this.opts.limits.maxTopicsPerConnection) {
      this.kick(conn, CloseCode.TooManyTopics, 'too-many-topics');
      return null;
    }
    return raw as string[];
  }

  private join(conn: SignalingConnection, topic: string): void {
    let subs = this.topics.get(topic);
    if (!subs) {
      subs = new Set();
      this.topics.set(topic, subs);
      this.opts.metrics.topics.set(this.topics.size);
      this.backplane?.subscribe(topic);
    }
    subs.add(conn);
  }

  private leave(conn: SignalingConnection, topic: string): void {
    const subs = this.topics.get(topic);
    if (!subs) return;
    subs.delete(conn);
    if (subs.size === 0) {
      this.topics.delete(topic);
      this.opts.metrics.topics.set(this.topics.size);
      this.backplane?.unsubscribe(topic);
    }
  }

  private deliver(receivers: Set<SignalingConnection>, data: string, origin: 'local' | 'backplane'): void {
    let n = 0;
    for (const r of receivers) if (this.sendTo(r, data)) n++;
    if (n > 0) this.opts.metrics.deliveries.inc({ origin }, n);
  }

  private sendTo(conn: SignalingConnection, data: string): boolean {
    if (conn.closed) return false;
    if (conn.socket.bufferedAmount > this.opts.limits.maxBufferedBytes) {
      this.kick(conn, CloseCode.SlowConsumer, 'slow-consumer');
      return false;
    }
    try {
      conn.socket.send(data);
      return true;
    } catch {
      this.kick(conn, CloseCode.GoingAway, 'slow-consumer');
      return false;
    }
  }
}

function frameText(frame: string | Buffer | ArrayBuffer | Buffer[]): string {
  if (typeof frame === 'string') return frame;
  if (Array.isArray(frame)) return Buffer.concat(frame).toString('utf8');
  if (frame instanceof ArrayBuffer) return Buffer.from(frame).toString('utf8');
  return frame.toString('utf8');
}
