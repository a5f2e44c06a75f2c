// The y-webrtc signaling protocol with limits and rules, independent of sockets so it can be tested without any.
// Messages are JSON objects: { type: 'subscribe' | 'unsubscribe', topics: string[] }, { type: 'publish', topic,
// data }, { type: 'ping' } -> { type: 'pong' }. Unknown types are ignored, as the reference server does.
//
// Rules on top of the reference (rooms.ts): a connection subscribes only where its role may go, and publishes
// only where it is subscribed. A publish's data is y-webrtc's { type, from, to? }: the first `from` a connection
// uses in a topic becomes its id there, and a message whose `from` is not the sender's own id, or whose `to` is
// no connection's id in that topic, is dropped. A message with `to` goes to that one connection; one without
// goes to every subscriber its sender may reach (in the patients' star, phones reach clinics only). As in the
// reference, the sender gets its own publish back, with `clients` set to the number of receivers.
//
// Anything malformed closes that one connection with a code from CloseCode; nothing a client sends can throw
// out of receive().

import type { Principal, Role } from './auth.ts';
import type { EnrolmentRegistry } from './enrolments.ts';
import { CloseCode, TokenBucket, type RelayLimits } from './limits.ts';
import type { Logger } from './log.ts';
import { keyPrefix } from './log.ts';
import type { RejectionReason, RelayMetrics } from './metrics.ts';
import { mayReach, maySubscribe, roomKind } from './rooms.ts';

/** The part of a WebSocket the hub needs. `send` takes UTF-8 JSON and sends it as one text frame. */
export interface SignalingSocket {
  send(utf8: Uint8Array): void;
  close(code: number, reason: string): void;
  readonly bufferedAmount: number;
}

/**
 * Shares topics with other relays (Redis pub/sub). The hub calls it; the backplane calls deliverRemote with
 * what another relay published (the sender's role travels with it, so star rules hold across relays).
 */
export interface Backplane {
  subscribe(topic: string): void;
  unsubscribe(topic: string): void;
  publish(topic: string, message: string): void;
}

export interface SignalingConnection {
  readonly socket: SignalingSocket;
  readonly principal: Principal;
  /** Ms since the epoch when the connection must close (an enrolment's end); Infinity for members. */
  readonly expiresAt: number;
  readonly topics: Set<string>;
  /** Its y-webrtc peer id in each topic it published in. */
  readonly ids: Map<string, string>;
  readonly bucket: TokenBucket;
  closed: boolean;
}

export interface SignalingHubOptions {
  readonly limits: RelayLimits;
  readonly metrics: RelayMetrics;
  readonly log: Logger;
  readonly enrolments: EnrolmentRegistry;
  /** Monotonic milliseconds (rate limits). */
  readonly monotonic?: () => number;
  /** Wall-clock milliseconds since the epoch (enrolment expiry). */
  readonly wallClock?: () => number;
}

export type DroppedReason = 'spoofed-from' | 'unknown-to' | 'not-permitted';

const PONG = Buffer.from(JSON.stringify({ type: 'pong' }));
const MAX_PEER_ID_LENGTH = 64;

/** One topic's subscribers and the y-webrtc ids claimed in it. */
interface Topic {
  readonly subscribers: Set<SignalingConnection>;
  readonly owners: Map<string, SignalingConnection>;
}

export class SignalingHub {
  private readonly topics = new Map<string, Topic>();
  private readonly perMember = new Map<string, number>();
  private readonly conns = new Set<SignalingConnection>();
  private readonly monotonic: () => number;
  private readonly wallClock: () => number;
  private backplane: Backplane | null = null;
  /** The hot counters, their labels resolved once (prom-client hashes labels on every call otherwise). */
  private readonly counted: { publish: { inc(): void }; local: { inc(n: number): void }; backplane: { inc(n: number): void } };

  constructor(private readonly opts: SignalingHubOptions) {
    this.monotonic = opts.monotonic ?? (() => performance.now());
    this.wallClock = opts.wallClock ?? (() => Date.now());
    const { metrics } = opts;
    this.counted = {
      publish: metrics.messages.labels({ type: 'publish' }),
      local: metrics.deliveries.labels({ origin: 'local' }),
      backplane: metrics.deliveries.labels({ origin: 'backplane' }),
    };
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

  /** Open connections held by one key. */
  connectionsOf(publicKey: string): number {
    return this.perMember.get(publicKey) ?? 0;
  }

  /** Subscribers of a topic on this relay (0 if none). */
  subscribers(topic: string): number {
    return this.topics.get(topic)?.subscribers.size ?? 0;
  }

  open(socket: SignalingSocket, principal: Principal, expiresAt = Number.POSITIVE_INFINITY): SignalingConnection {
    const { limits } = this.opts;
    const conn: SignalingConnection = {
      socket,
      principal,
      expiresAt,
      topics: new Set(),
      ids: new Map(),
      bucket: new TokenBucket(limits.messagesPerSecond, limits.messageBurst, this.monotonic()),
      closed: false,
    };
    this.conns.add(conn);
    this.perMember.set(principal.key, this.connectionsOf(principal.key) + 1);
    this.opts.metrics.connections.set(this.conns.size);
    return conn;
  }

  /** The socket closed (for any reason): forget the connection. Idempotent. */
  closed(conn: SignalingConnection): void {
    if (!this.conns.delete(conn)) return;
    conn.closed = true;
    for (const t of conn.topics) this.leave(conn, t);
    conn.topics.clear();
    const n = this.connectionsOf(conn.principal.key) - 1;
    if (n > 0) this.perMember.set(conn.principal.key, n);
    else this.perMember.delete(conn.principal.key);
    this.opts.metrics.connections.set(this.conns.size);
  }

  /** Closes one connection for a broken rule; it stops receiving at once. */
  kick(conn: SignalingConnection, code: number, reason: RejectionReason): void {
    if (conn.closed) return;
    this.opts.metrics.reject(reason);
    this.opts.log.info('connection closed by relay', { reason, code, role: conn.principal.role, key: keyPrefix(conn.principal.key) });
    this.closed(conn);
    try {
      conn.socket.close(code, reason);
    } catch {
      // The socket is already gone; nothing else to release.
    }
  }

  /**
   * The ledger changed: closes every connection whose key no longer has the role it connected with (removed,
   * revoked, or an enrolling phone now registered, which reconnects as a patient). Returns how many.
   */
  revalidate(roleOf: (key: string) => Role | null): number {
    let n = 0;
    for (const c of [...this.conns]) {
      const now = roleOf(c.principal.key);
      const still = c.principal.role === 'enrolling' ? now === null : now === c.principal.role;
      if (!still) {
        this.kick(c, CloseCode.Forbidden, 'membership-revoked');
        n++;
      }
    }
    return n;
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
          if (!maySubscribe(conn.principal, t, this.opts.enrolments)) return this.kick(conn, CloseCode.Forbidden, 'forbidden-topic');
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
      case 'publish':
        return this.publish(conn, m);
      case 'ping':
        this.opts.metrics.messages.inc({ type });
        this.sendTo(conn, PONG);
        return;
      default:
        this.opts.metrics.messages.inc({ type: 'unknown' });
        return;
    }
  }

  /** A publish that arrived from another relay through the backplane: `{ r: sender's role, m: message }`. */
  deliverRemote(topicName: string, message: string): void {
    const topic = this.topics.get(topicName);
    const kind = roomKind(topicName);
    if (!topic || !kind) return;
    let envelope: { r?: unknown; m?: unknown };
    try {
      envelope = JSON.parse(message) as typeof envelope;
    } catch {
      this.opts.metrics.backplaneErrors.inc();
      return;
    }
    const role = envelope.r;
    const m = envelope.m as Record<string, unknown> | undefined;
    const data = m?.data as Record<string, unknown> | undefined;
    if ((role !== 'clinic' && role !== 'patient' && role !== 'enrolling') || !m || typeof data !== 'object' || data === null) {
      this.opts.metrics.backplaneErrors.inc();
      return;
    }
    const receivers = this.receiversOf(topic, kind, role, data.to, null);
    if (typeof receivers === 'string' || receivers.length === 0) return;
    if (!this.deliver(receivers, m, 'backplane')) this.opts.metrics.backplaneErrors.inc();
  }

  /** Closes connections whose enrolment ended; returns how many. */
  sweepExpired(): number {
    const now = this.wallClock();
    let n = 0;
    for (const c of [...this.conns]) {
      if (c.expiresAt < now) {
        this.kick(c, CloseCode.TokenExpired, 'enrolment-expired');
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

  private publish(conn: SignalingConnection, m: Record<string, unknown>): void {
    const topicName = m.topic;
    if (typeof topicName !== 'string' || topicName.length === 0) return this.kick(conn, CloseCode.Malformed, 'malformed');
    if (topicName.length > this.opts.limits.maxTopicLength) return this.kick(conn, CloseCode.TooManyTopics, 'too-many-topics');
    if (!conn.topics.has(topicName)) return this.kick(conn, CloseCode.Forbidden, 'forbidden-topic');
    const data = m.data as Record<string, unknown> | undefined;
    if (typeof data !== 'object' || data === null || Array.isArray(data)) return this.kick(conn, CloseCode.Malformed, 'malformed');
    const from = data.from;
    const to = data.to;
    if (typeof from !== 'string' || from.length === 0 || from.length > MAX_PEER_ID_LENGTH || (to !== undefined && typeof to !== 'string')) {
      return this.kick(conn, CloseCode.Malformed, 'malformed');
    }
    this.counted.publish.inc();
    const topic = this.topics.get(topicName)!;
    const kind = roomKind(topicName)!;
    // The sender's id in this topic: the first `from` it uses, unless another connection holds that id.
    const own = conn.ids.get(topicName);
    if (own === undefined) {
      if (topic.owners.has(from)) return this.dropped('spoofed-from');
      conn.ids.set(topicName, from);
      topic.owners.set(from, conn);
    } else if (own !== from) return this.dropped('spoofed-from');
    const route = this.receiversOf(topic, kind, conn.principal.role, to, conn);
    if (route === 'not-permitted') return this.dropped(route);
    // An addressee unknown here may be another relay's connection: only the backplane can tell.
    if (route === 'unknown-to' && !this.backplane) return this.dropped(route);
    if (this.backplane) {
      let remote: string;
      try {
        remote = JSON.stringify({ r: conn.principal.role, m: { type: 'publish', topic: topicName, data } });
      } catch {
        return this.kick(conn, CloseCode.Malformed, 'malformed');
      }
      this.backplane.publish(topicName, remote);
    }
    const receivers = route === 'unknown-to' ? [] : route;
    receivers.push(conn); // the reference server's echo
    if (!this.deliver(receivers, { type: 'publish', topic: topicName, data }, 'local')) this.kick(conn, CloseCode.Malformed, 'malformed');
  }

  /**
   * Who a message from `sender` (a role) in a topic reaches here: the one owner of `to`, or every subscriber
   * the room lets it reach; never the sending connection itself. An empty list is fine (nobody else is here).
   */
  private receiversOf(topic: Topic, kind: 'members' | 'star', sender: Role, to: unknown, self: SignalingConnection | null): SignalingConnection[] | 'unknown-to' | 'not-permitted' {
    if (typeof to === 'string') {
      const target = topic.owners.get(to);
      if (!target) return 'unknown-to';
      if (target === self || !mayReach(kind, sender, target.principal.role)) return 'not-permitted';
      return [target];
    }
    const out: SignalingConnection[] = [];
    for (const r of topic.subscribers) if (r !== self && mayReach(kind, sender, r.principal.role)) out.push(r);
    return out;
  }

  private dropped(reason: DroppedReason): void {
    this.opts.metrics.dropped.inc({ reason });
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

  private join(conn: SignalingConnection, name: string): void {
    let topic = this.topics.get(name);
    if (!topic) {
      topic = { subscribers: new Set(), owners: new Map() };
      this.topics.set(name, topic);
      this.opts.metrics.topics.set(this.topics.size);
      this.backplane?.subscribe(name);
    }
    topic.subscribers.add(conn);
  }

  private leave(conn: SignalingConnection, name: string): void {
    const topic = this.topics.get(name);
    if (!topic) return;
    topic.subscribers.delete(conn);
    const id = conn.ids.get(name);
    if (id !== undefined) {
      conn.ids.delete(name);
      if (topic.owners.get(id) === conn) topic.owners.delete(id);
    }
    if (topic.subscribers.size === 0) {
      this.topics.delete(name);
      this.opts.metrics.topics.set(this.topics.size);
      this.backplane?.unsubscribe(name);
    }
  }

  /**
   * Sends one publish to each receiver, `clients` set to how many there are (as the reference does), encoded
   * once for all of them (the reference encodes it again for each). False if the message cannot be encoded
   * again (nesting JSON.parse took but JSON.stringify does not).
   */
  private deliver(receivers: SignalingConnection[], m: Record<string, unknown>, origin: 'local' | 'backplane'): boolean {
    let data: Buffer;
    try {
      m.clients = receivers.length;
      data = Buffer.from(JSON.stringify(m));
    } catch {
      return false;
    }
    let n = 0;
    for (const r of receivers) if (this.sendTo(r, data)) n++;
    if (n > 0) this.counted[origin].inc(n);
    return true;
  }

  private sendTo(conn: SignalingConnection, data: Uint8Array): boolean {
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
