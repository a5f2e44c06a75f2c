// Transport over real WebRTC: y-webrtc finds peers through the relay (stock signaling protocol, a member token
// in the URL) and sets up the RTCPeerConnections; our messages travel on a data channel of their own,
// negotiated out of band on every connection (never through the Yjs document y-webrtc syncs, which has no
// Byzantine safety). A peer becomes visible only after the signed identity handshake (handshake.ts), bound to
// the DTLS certificates the browser negotiated (dtls-binding.ts). Messages of any size up to a bound are
// fragmented and reassembled (framing.ts) and leave through a per-link queue with backpressure (send-queue.ts).
//
// One member, one link: a second connection that authenticates as a member we already hold a link to does not
// replace it silently. The old link is probed; if it answers, the newcomer is dropped as a duplicate, and only
// if it stays silent (the peer restarted) does the new link take its place.
//
// Membership is the node's to decide (isMember, default: nobody). A peer not yet a member is held, not refused,
// and refreshMembership() completes its handshake the moment the node learns it was admitted; a peer that is
// no longer a member is dropped at once.
//
// Reconnection: lib0's signaling client reconnects to the relay on its own, and reads its URL afresh each time,
// so we keep the URL's token fresh.

import * as Y from 'yjs';
import { WebrtcProvider } from 'y-webrtc';
import { ed25519PublicKey } from '../../../../wasm/index.ts';
import { equalBytes, toHex, subscribe } from '../util/index.ts';
import { dtlsBinding, negotiatedFingerprints } from './dtls-binding.ts';
import { DEFAULT_CHUNK_BYTES, DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_REASSEMBLY_BUDGET_BYTES, ReassemblyBudget, encodeMessage } from './framing.ts';
import { Handshake, type DropReason, type HandshakeOutput } from './handshake.ts';
import { LinkMedia, linkQuality, type LinkQuality, type TrackHandler } from './link-media.ts';
import { RELAY_TOKEN_SCOPE, createRelayToken, withToken } from './relay-token.ts';
import { SendQueue } from './send-queue.ts';
import type { MessageHandler, PeerHandler, PeerId, PeerState, Transport } from './transport.ts';

/** The id of our negotiated channel; y-webrtc's own channel takes the low ids. */
export const APP_CHANNEL_ID = 1000;
const APP_CHANNEL_LABEL = 'hygeia/net/v1';

export type RelayState = 'connecting' | 'connected' | 'disconnected';

export class WebRtcTransportError extends Error {
  override readonly name = 'WebRtcTransportError';
  constructor(
    readonly code: 'oversize' | 'closed' | 'bad-options' | 'no-link',
    message: string,
  ) {
    super(message);
  }
}

export interface WebRtcTransportOptions {
  /** This node's 32-byte Ed25519 secret key. */
  readonly secretKey: Uint8Array;
  /** The relay's signaling URL, ws:// or wss://. */
  readonly relayUrl: string;
  /** The topic this transport's peers meet in. */
  readonly room: string;
  /**
   * The scope of this transport's relay tokens: '' (default) for a member or registered patient, or
   * `enrol:<sha256(code) hex>` (enrolmentScope) for a phone that is not registered yet and holds a one-time
   * code. A scoped transport has a signaling connection of its own, which carries only its own room.
   */
  readonly scope?: string;
  /** Lifetime of each relay token (default five minutes); a fresh one is minted well before it expires. */
  readonly tokenLifetimeMs?: number;
  /** Which peers may talk to us. Default: none (membership comes from the ledger, never from the relay). */
  readonly isMember?: (peer: PeerId) => boolean;
  /** How long a peer has to send its HELLO and PROOF once the channel is open (default 15 s). */
  readonly handshakeTimeoutMs?: number;
  /** How long a peer that said HELLO may wait to become a member before the link is given up (default 60 s). */
  readonly membershipWaitMs?: number;
  /** How long a WebRTC connection may take to open before it is abandoned and retried (default 10 s). */
  readonly connectTimeoutMs?: number;
  /** How long a member's current link has to answer a probe before a newer link replaces it (default 3 s). */
  readonly probeMs?: number;
  /** Largest message sent or accepted, fragmented on the wire (default 32 MiB). */
  readonly maxMessageBytes?: number;
  /** Payload bytes per fragment (default 64 KiB). */
  readonly chunkBytes?: number;
  /** What partial incoming messages of all peers may hold together (default 64 MiB). */
  readonly reassemblyBudgetBytes?: number;
  /** Bytes that may wait to be sent to one peer; a message beyond it is not sent (default 64 MiB). */
  readonly maxQueuedBytes?: number;
  /** ICE servers (default none: host candidates, enough on one LAN or machine). */
  readonly iceServers?: RTCIceServer[];
  /** 'relay' sends everything through TURN (default 'all'). */
  readonly iceTransportPolicy?: RTCIceTransportPolicy;
  /** How long a connection that broke the protocol stays banned. */
  readonly banMs?: number;
  /** Called when a peer's link is dropped (for logs and the security layer); never given message contents. */
  readonly onDrop?: (reason: DropReason, peer: PeerId | null) => void;
}

interface YPeer {
  _pc: RTCPeerConnection;
  connected: boolean;
  destroyed: boolean;
  on(event: string, fn: (...args: never[]) => void): void;
  removeListener(event: string, fn: (...args: never[]) => void): void;
  addTrack(track: MediaStreamTrack, stream: MediaStream): void;
  removeTrack(track: MediaStreamTrack, stream: MediaStream): void;
}
interface YConn {
  peer: YPeer;
  remotePeerId: string;
  destroy(): void;
}
interface YSignalingConn {
  url: string;
  providers: Set<unknown>;
  connected: boolean;
  connecting: boolean;
  send(message: unknown): void;
  on(event: string, fn: (...args: unknown[]) => void): void;
  off(event: string, fn: (...args: unknown[]) => void): void;
}
interface YRoom {
  peerId: string;
  webrtcConns: Map<string, YConn>;
}

type LinkState = 'connecting' | 'binding' | 'handshaking' | 'contending' | 'admitted' | 'closed';

/** One WebRTC connection (one y-webrtc peer id) and its handshake. */
interface Link {
  readonly yPeerId: string;
  readonly conn: YConn;
  readonly channel: RTCDataChannel;
  readonly queue: SendQueue;
  state: LinkState;
  handshake: Handshake | null;
  /** Frames that arrived before the handshake existed (it starts after an asynchronous stats read). */
  early: Uint8Array[];
  peer: PeerId | null;
  helloTimer: ReturnType<typeof setInterval> | null;
  deadline: ReturnType<typeof setTimeout> | null;
  /** A probe of this (current) link: the 8 bytes its PONG must echo, and what to do when it does. */
  probe: { data: Uint8Array; answered: () => void } | null;
  media: LinkMedia | null;
}

/** Failures that show a peer broke the protocol: its connection is banned for a while, not just closed. */
const BANNABLE = new Set<DropReason>([
  'malformed',
  'unexpected',
  'nonce-changed',
  'self',
  'bad-signature',
  'oversize',
  'fragment-sequence',
  'reassembly-budget',
  'dtls-unbound',
  'dtls-mismatch',
  'duplicate',
]);

const MAX_EARLY_FRAMES = 8;

/**
 * y-webrtc keeps one signaling connection per URL string. Two transports of one identity and scope must
 * therefore pass the same string, or each would get its own connection to the same relay and every signal
 * would arrive twice (which breaks the peer connections). The string is only a key: the shared connection's
 * `url` is what it dials, and each transport keeps that fresh. Another scope is another connection: the relay
 * admits a token of one scope to its own rooms only.
 */
const signalingKeys = new Map<string, string>();
const signalingKeyOf = (self: PeerId, scope: string, relayUrl: string): string => `${self} ${scope} ${relayUrl}`;
function signalingKey(k: string, mint: () => string): string {
  let url = signalingKeys.get(k);
  if (url === undefined) {
    url = mint();
    signalingKeys.set(k, url);
  }
  return url;
}

const ownRoomsOnly = new WeakSet<YSignalingConn>();
/**
 * y-webrtc subscribes and announces every room of the page on every signaling connection. The relay closes a
 * connection that asks for a room its token does not open (a phone's enrolment connection asking for the
 * patients' room, or the reverse), so each connection is made to carry only the rooms of its own transports.
 */
function carryOwnRoomsOnly(sc: YSignalingConn): void {
  if (ownRoomsOnly.has(sc)) return;
  ownRoomsOnly.add(sc);
  const send = sc.send.bind(sc);
  sc.send = (message: unknown): void => {
    const m = message as { type?: unknown; topic?: unknown; topics?: unknown };
    const own = new Set([...sc.providers].map((p) => (p as { roomName: string }).roomName));
    if (m.type === 'publish') {
      if (typeof m.topic === 'string' && own.has(m.topic)) send(message);
      return;
    }
    // Unsubscribes pass: y-webrtc sends them after the leaving transport is no longer among the providers.
    if (m.type === 'subscribe' && Array.isArray(m.topics)) {
      const topics = (m.topics as unknown[]).filter((t) => typeof t === 'string' && own.has(t));
      if (topics.length > 0) send({ ...m, topics });
      return;
    }
    send(message);
  };
}

export class WebRtcTransport implements Transport {
  readonly self: PeerId;
  readonly maxMessageBytes: number;
  private readonly publicKey: Uint8Array;
  private readonly doc = new Y.Doc();
  private readonly provider: WebrtcProvider;
  private readonly links = new Map<string, Link>(); // by y-webrtc peer id
  private readonly byPeer = new Map<PeerId, Link>(); // authenticated, current
  private readonly contenders = new Map<PeerId, Link>(); // a newer link waiting for the current one's probe
  private readonly banned = new Map<string, number>(); // y-webrtc peer id -> until
  private readonly refused = new Set<PeerId>(); // dropped by the node until it is a member again
  private readonly messageHandlers = new Set<MessageHandler>();
  private readonly peerHandlers = new Set<PeerHandler>();
  private readonly relayHandlers = new Set<(state: RelayState) => void>();
  private readonly trackHandlers = new Set<TrackHandler>();
  private readonly budget: ReassemblyBudget;
  private readonly chunkBytes: number;
  private readonly scan: ReturnType<typeof setInterval>;
  private readonly refresh: ReturnType<typeof setInterval>;
  private readonly sc: YSignalingConn;
  private relay: RelayState = 'connecting';
  private closed = false;
  private detachSignaling: () => void = () => {};
  /** The string y-webrtc keys our signaling connection by (see signalingKey). */
  private readonly key: string;
  /** Our relay tokens' scope. */
  readonly scope: string;
  private readonly keyOfSignaling: string;

  constructor(private readonly opts: WebRtcTransportOptions) {
    if (!(opts.secretKey instanceof Uint8Array) || opts.secretKey.length !== 32) throw new WebRtcTransportError('bad-options', 'the secret key must be 32 bytes');
    this.publicKey = ed25519PublicKey(opts.secretKey);
    this.self = toHex(this.publicKey);
    this.maxMessageBytes = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.chunkBytes = opts.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    this.budget = new ReassemblyBudget(opts.reassemblyBudgetBytes ?? DEFAULT_REASSEMBLY_BUDGET_BYTES);
    this.scope = opts.scope ?? '';
    if (!RELAY_TOKEN_SCOPE.test(this.scope)) throw new WebRtcTransportError('bad-options', "the scope must be '' or enrol:<64 hex>");
    this.keyOfSignaling = signalingKeyOf(this.self, this.scope, opts.relayUrl);
    const config: RTCConfiguration = { iceServers: opts.iceServers ?? [] };
    if (opts.iceTransportPolicy) config.iceTransportPolicy = opts.iceTransportPolicy;
    this.provider = new WebrtcProvider(opts.room, this.doc, {
      signaling: [(this.key = signalingKey(this.keyOfSignaling, () => this.signalingUrl()))],
      // Same-origin tabs would otherwise talk over BroadcastChannel and never open a WebRTC connection.
      filterBcConns: false,
      maxConns: 256,
      peerOpts: { config },
    } as ConstructorParameters<typeof WebrtcProvider>[2]);
    this.provider.on('peers', () => this.discover());
    const sc = (this.sc = this.signalingConn());
    carryOwnRoomsOnly(sc);
    // The shared connection may have been opened with a token that has since expired.
    sc.url = this.signalingUrl();
    this.relay = sc.connected ? 'connected' : 'connecting';
    const onConnect = (): void => this.setRelay('connected');
    const onDisconnect = (): void => {
      // The next attempt reads `url` again: give it a fresh token.
      sc.url = this.signalingUrl();
      this.setRelay('disconnected');
    };
    sc.on('connect', onConnect);
    sc.on('disconnect', onDisconnect);
    this.detachSignaling = () => {
      sc.off('connect', onConnect);
      sc.off('disconnect', onDisconnect);
    };
    // Peers can appear without a 'peers' event (a repeated offer on an existing entry): look every second.
    this.scan = setInterval(() => this.discover(), 1000);
    this.refresh = setInterval(
      () => {
        sc.url = this.signalingUrl();
      },
      Math.max(1000, this.tokenLifetime() / 4),
    );
  }

  send(to: PeerId, bytes: Uint8Array): void {
    this.checkSize(bytes);
    const link = this.byPeer.get(to);
    if (!link) return;
    this.enqueue(link, encodeMessage(bytes, this.chunkBytes));
  }

  broadcast(bytes: Uint8Array): void {
    this.checkSize(bytes);
    const frames = encodeMessage(bytes, this.chunkBytes);
    for (const link of [...this.byPeer.values()]) this.enqueue(link, frames);
  }

  onMessage(handler: MessageHandler): () => void {
    return subscribe(this.messageHandlers, handler);
  }

  onPeer(handler: PeerHandler): () => void {
    return subscribe(this.peerHandlers, handler);
  }

  /** Signaling connection changes (the UI shows them). */
  onRelay(handler: (state: RelayState) => void): () => void {
    return subscribe(this.relayHandlers, handler);
  }

  get relayState(): RelayState {
    return this.relay;
  }

  peers(): PeerId[] {
    return [...this.byPeer.keys()].sort();
  }

  /** Bytes waiting to be sent to a peer (0 for a peer without a link). */
  queuedBytes(peer: PeerId): number {
    return this.byPeer.get(peer)?.queue.queuedBytes ?? 0;
  }

  /**
   * Membership changed (the node learnt it from the ledger): peers held for membership that are members now
   * complete their handshake at once, and connected peers that are no longer members are dropped.
   */
  refreshMembership(): void {
    if (this.closed) return;
    const isMember = (p: PeerId) => this.isMember(p);
    for (const p of [...this.refused]) if (this.opts.isMember?.(p)) this.refused.delete(p);
    for (const [peer, link] of [...this.byPeer]) if (!isMember(peer)) this.drop(link, 'removed');
    for (const link of [...this.links.values()]) {
      if (link.state === 'handshaking' && link.handshake) this.onOutputs(link, link.handshake.recheckMembership());
    }
    // A member we gave up on earlier is met again only if someone announces: we do.
    this.announce();
  }

  /** Drops every link to `peer` now and refuses it until the node finds it a member again (refreshMembership). */
  dropPeer(peer: PeerId): void {
    this.refused.add(peer);
    for (const link of [...this.links.values()]) if (link.peer === peer || link.handshake?.claimedPeer === peer) this.drop(link, 'removed');
  }

  /** Adds a stream's tracks to the link of `peer` (the consult's camera and microphone). */
  addMedia(peer: PeerId, stream: MediaStream): { remove(): void } {
    const link = this.byPeer.get(peer);
    if (!link || link.state !== 'admitted') throw new WebRtcTransportError('no-link', 'no authenticated link to that peer');
    return this.mediaOf(link).add(stream);
  }

  /** Remote tracks arriving on authenticated links. */
  onTrack(handler: TrackHandler): () => void {
    return subscribe(this.trackHandlers, handler);
  }

  /** Round-trip time, packet loss and the candidate types of a peer's link, from getStats; null without a link. */
  async linkQuality(peer: PeerId): Promise<LinkQuality | null> {
    const link = this.byPeer.get(peer);
    if (!link) return null;
    return linkQuality(link.conn.peer._pc);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.scan);
    clearInterval(this.refresh);
    this.detachSignaling();
    for (const link of [...this.links.values()]) this.closeLink(link, false);
    const peers = [...this.byPeer.keys()];
    this.byPeer.clear();
    for (const p of peers) this.emitPeer(p, 'disconnected');
    // y-webrtc forgets a signaling connection by its current `url`: give it back the key while we leave, so the
    // last transport to leave really closes and forgets it.
    const sc = this.sc;
    const fresh = sc.url;
    sc.url = this.key;
    this.provider.disconnect();
    if (sc.providers.size > 0) sc.url = fresh;
    else signalingKeys.delete(this.keyOfSignaling);
    this.provider.destroy();
    this.doc.destroy();
    this.messageHandlers.clear();
    this.peerHandlers.clear();
    this.relayHandlers.clear();
    this.trackHandlers.clear();
  }

  private tokenLifetime(): number {
    return this.opts.tokenLifetimeMs ?? 5 * 60_000;
  }

  private signalingUrl(): string {
    const token = createRelayToken({
      secretKey: this.opts.secretKey,
      relayUrl: this.opts.relayUrl,
      expiresAt: Date.now() + this.tokenLifetime(),
      scope: this.scope,
    });
    return withToken(this.opts.relayUrl, token);
  }

  private signalingConn(): YSignalingConn {
    const sc = (this.provider as unknown as { signalingConns: YSignalingConn[] }).signalingConns[0];
    if (!sc) throw new WebRtcTransportError('bad-options', 'y-webrtc did not open a signaling connection');
    return sc;
  }

  private room(): YRoom | null {
    return (this.provider as unknown as { room: YRoom | null }).room;
  }

  /** Publishes y-webrtc's announce for our room, so peers without a connection to us open one. */
  private announce(): void {
    const room = this.room();
    if (!room || !this.sc.connected) return;
    this.sc.send({ type: 'publish', topic: this.opts.room, data: { type: 'announce', from: room.peerId } });
  }

  private isMember(peer: PeerId): boolean {
    return !this.refused.has(peer) && (this.opts.isMember?.(peer) ?? false);
  }

  private setRelay(state: RelayState): void {
    if (this.relay === state) return;
    this.relay = state;
    for (const h of this.relayHandlers) h(state);
  }

  private checkSize(bytes: Uint8Array): void {
    if (this.closed) throw new WebRtcTransportError('closed', 'the transport is closed');
    if (bytes.length > this.maxMessageBytes) {
      throw new WebRtcTransportError('oversize', `message of ${bytes.length} bytes exceeds ${this.maxMessageBytes}`);
    }
  }

  /** Attaches to every y-webrtc connection we have not seen yet. */
  private discover(): void {
    if (this.closed) return;
    const room = this.room();
    if (!room) return;
    const now = Date.now();
    for (const [id, until] of this.banned) if (until <= now) this.banned.delete(id);
    for (const [yPeerId, conn] of room.webrtcConns) {
      if (this.links.get(yPeerId)?.conn === conn) continue;
      if (this.banned.has(yPeerId)) {
        conn.destroy();
        continue;
      }
      const old = this.links.get(yPeerId);
      if (old) this.closeLink(old, false);
      this.attach(yPeerId, conn);
    }
  }

  private attach(yPeerId: string, conn: YConn): void {
    const pc = conn.peer._pc;
    let channel: RTCDataChannel;
    try {
      channel = pc.createDataChannel(APP_CHANNEL_LABEL, { negotiated: true, id: APP_CHANNEL_ID, ordered: true });
    } catch {
      return; // the connection is already closing; the next scan sees its replacement
    }
    channel.binaryType = 'arraybuffer';
    const queue = new SendQueue(
      {
        get bufferedAmount() {
          return channel.bufferedAmount;
        },
        send: (frame) => channel.send(frame as Uint8Array<ArrayBuffer>),
      },
      { maxQueuedBytes: this.opts.maxQueuedBytes },
    );
    channel.bufferedAmountLowThreshold = queue.highWaterBytes / 2;
    const link: Link = {
      yPeerId,
      conn,
      channel,
      queue,
      state: 'connecting',
      handshake: null,
      early: [],
      peer: null,
      helloTimer: null,
      deadline: null,
      probe: null,
      media: null,
    };
    this.links.set(yPeerId, link);
    // y-webrtc never re-sends a lost offer or answer (a relay restarting mid-set-up, a Redis subscription not yet
    // in place): give up on a connection that does not open, and y-webrtc announces again and retries.
    link.deadline = setTimeout(() => {
      if (channel.readyState !== 'open') this.closeLink(link, false);
    }, this.opts.connectTimeoutMs ?? 10_000);
    channel.onopen = () => void this.start(link);
    if (channel.readyState === 'open') void this.start(link);
    channel.onmessage = (ev: MessageEvent) => {
      if (link.state === 'closed') return;
      const data = ev.data;
      if (!(data instanceof ArrayBuffer)) return this.drop(link, 'malformed');
      const frame = new Uint8Array(data);
      if (!link.handshake) {
        if (link.early.length >= MAX_EARLY_FRAMES) return this.drop(link, 'unexpected');
        link.early.push(frame);
        return;
      }
      this.onOutputs(link, link.handshake.receive(frame));
    };
    channel.onbufferedamountlow = () => this.pump(link);
    channel.onclose = () => this.closeLink(link, false);
    conn.peer.on('close', () => this.closeLink(link, false));
  }

  /** The channel is open (so DTLS is up): bind to the negotiated certificates and say HELLO. */
  private async start(link: Link): Promise<void> {
    if (link.state !== 'connecting') return;
    link.state = 'binding';
    if (link.deadline) clearTimeout(link.deadline);
    const pc = link.conn.peer._pc;
    let negotiated: { local: string; remote: string } | null = null;
    try {
      negotiated = negotiatedFingerprints(await pc.getStats());
    } catch {
      // No stats (the connection closed meanwhile): the strict SDP reading decides, or closeLink already ran.
    }
    if (link.state !== 'binding') return;
    const binding = dtlsBinding(negotiated, pc.localDescription?.sdp, pc.remoteDescription?.sdp);
    if ('fail' in binding) return this.drop(link, binding.fail);
    const nonce = new Uint8Array(32);
    crypto.getRandomValues(nonce);
    link.handshake = new Handshake({
      identity: { secretKey: this.opts.secretKey, publicKey: this.publicKey },
      localFingerprint: binding.local,
      remoteFingerprint: binding.remote,
      isMember: (p) => this.isMember(p),
      nonce,
      maxMessageBytes: this.maxMessageBytes,
      reassemblyBudget: this.budget,
    });
    link.state = 'handshaking';
    const hello = link.handshake.helloFrame();
    this.control(link, hello);
    // Our first HELLO can arrive before the peer created its side of the negotiated channel: repeat it.
    link.helloTimer = setInterval(() => {
      if (link.handshake?.peer) {
        if (link.helloTimer) clearInterval(link.helloTimer);
        link.helloTimer = null;
      } else this.control(link, hello);
    }, 500);
    this.setDeadline(link, this.opts.handshakeTimeoutMs ?? 15_000, 'timeout');
    const early = link.early;
    link.early = [];
    for (const f of early) {
      if (link.state !== 'handshaking') break;
      this.onOutputs(link, link.handshake.receive(f));
    }
  }

  private setDeadline(link: Link, ms: number, reason: DropReason): void {
    if (link.deadline) clearTimeout(link.deadline);
    link.deadline = setTimeout(() => {
      if (link.state === 'handshaking' || link.state === 'binding') this.drop(link, reason);
    }, ms);
  }

  private onOutputs(link: Link, outputs: HandshakeOutput[]): void {
    for (const out of outputs) {
      if (link.state === 'closed') return;
      switch (out.kind) {
        case 'send':
          this.control(link, out.frame);
          break;
        case 'fail':
          this.drop(link, out.reason);
          return;
        case 'awaiting-membership':
          // Held: the node may learn from the ledger that this key was admitted (refreshMembership).
          this.setDeadline(link, this.opts.membershipWaitMs ?? 60_000, 'not-member');
          break;
        case 'authenticated':
          this.authenticated(link, out.peer);
          break;
        case 'pong':
          if (link.probe && equalBytes(link.probe.data, out.data)) {
            const { answered } = link.probe;
            link.probe = null;
            answered();
          }
          break;
        case 'deliver':
          if (this.byPeer.get(out.peer) !== link) break; // not (or no longer) the member's current link
          for (const h of this.messageHandlers) {
            try {
              h(out.peer, out.bytes);
            } catch {
              // A handler's failure is the handler's; keep delivering to the others.
            }
          }
          break;
      }
    }
  }

  private authenticated(link: Link, peer: PeerId): void {
    if (link.deadline) clearTimeout(link.deadline);
    link.deadline = null;
    link.peer = peer;
    const current = this.byPeer.get(peer);
    if (!current || current.state === 'closed') return this.admit(link, peer);
    if (this.contenders.has(peer)) return this.drop(link, 'duplicate');
    // Never replace a verified link silently: the current one must fail a liveness probe first.
    link.state = 'contending';
    this.contenders.set(peer, link);
    const data = new Uint8Array(8);
    crypto.getRandomValues(data);
    current.probe = { data, answered: () => this.contenderLost(peer, link) };
    this.control(current, Handshake.ping(data));
    link.deadline = setTimeout(() => {
      if (this.contenders.get(peer) !== link) return;
      // The current link did not answer: the peer restarted, and its old connection is dead.
      this.closeLink(current, true);
      this.contenders.delete(peer);
      this.admit(link, peer);
    }, this.opts.probeMs ?? 3000);
  }

  private contenderLost(peer: PeerId, contender: Link): void {
    if (this.contenders.get(peer) !== contender) return;
    this.contenders.delete(peer);
    this.drop(contender, 'duplicate');
  }

  private admit(link: Link, peer: PeerId): void {
    const replacing = this.byPeer.has(peer);
    link.state = 'admitted';
    this.byPeer.set(peer, link);
    link.media = null;
    link.conn.peer.on('track', (track: MediaStreamTrack, stream: MediaStream) => {
      if (this.byPeer.get(peer) !== link) return;
      for (const h of this.trackHandlers) {
        try {
          h(peer, track, stream);
        } catch {
          // see deliver
        }
      }
    });
    if (!replacing) this.emitPeer(peer, 'connected');
  }

  private drop(link: Link, reason: DropReason): void {
    if (link.state === 'closed') return;
    if (BANNABLE.has(reason)) this.banned.set(link.yPeerId, Date.now() + (this.opts.banMs ?? 60_000));
    this.opts.onDrop?.(reason, link.peer ?? link.handshake?.claimedPeer ?? null);
    this.closeLink(link, false);
  }

  private closeLink(link: Link, superseded: boolean): void {
    if (link.state === 'closed') return;
    link.state = 'closed';
    if (link.helloTimer) clearInterval(link.helloTimer);
    if (link.deadline) clearTimeout(link.deadline);
    link.handshake?.dispose();
    link.queue.clear();
    link.media?.dispose();
    if (this.links.get(link.yPeerId) === link) this.links.delete(link.yPeerId);
    try {
      link.channel.close();
    } catch {
      // already closed
    }
    try {
      link.conn.destroy();
    } catch {
      // already destroyed
    }
    const peer = link.peer;
    if (!peer) return;
    if (this.contenders.get(peer) === link) this.contenders.delete(peer);
    if (this.byPeer.get(peer) !== link) return;
    this.byPeer.delete(peer);
    const contender = this.contenders.get(peer);
    if (contender && !this.closed) {
      // The current link went away while a newer one waited: the newer one takes over, still 'connected'.
      this.contenders.delete(peer);
      if (contender.deadline) clearTimeout(contender.deadline);
      this.admit(contender, peer);
      return;
    }
    if (!superseded && !this.closed) this.emitPeer(peer, 'disconnected');
  }

  /** Handshake and liveness frames: straight to the channel, ahead of queued messages. */
  private control(link: Link, frame: Uint8Array): void {
    if (link.state === 'closed' || link.channel.readyState !== 'open') return;
    try {
      link.channel.send(frame as Uint8Array<ArrayBuffer>);
    } catch {
      this.closeLink(link, false);
    }
  }

  private enqueue(link: Link, frames: Uint8Array[]): void {
    if (link.state !== 'admitted' || link.channel.readyState !== 'open') return;
    try {
      link.queue.enqueue(frames);
    } catch {
      this.closeLink(link, false);
    }
  }

  private pump(link: Link): void {
    if (link.state === 'closed') return;
    try {
      link.queue.pump();
    } catch {
      this.closeLink(link, false);
    }
  }

  private mediaOf(link: Link): LinkMedia {
    link.media ??= new LinkMedia(link.conn.peer);
    return link.media;
  }

  private emitPeer(peer: PeerId, state: PeerState): void {
    for (const h of this.peerHandlers) {
      try {
        h(peer, state);
      } catch {
        // see deliver
      }
    }
  }
}
