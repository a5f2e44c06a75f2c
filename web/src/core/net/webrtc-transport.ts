// Transport over real WebRTC: y-webrtc finds peers through the relay (stock signaling protocol, a member token
// in the URL) and sets up the RTCPeerConnections; our messages travel on a data channel of their own,
// negotiated out of band on every connection (never through the Yjs document y-webrtc syncs, which has no
// Byzantine safety). A peer becomes visible only after the signed identity handshake (handshake.ts); one that
// fails it, or stays silent too long, is dropped and not re-admitted for a while.
//
// Reconnection: lib0's signaling client reconnects to the relay on its own, and reads its URL afresh each time,
// so we keep the URL's token fresh. A restarted peer announces itself again and a new connection replaces the
// old one under the same identity.

import * as Y from 'yjs';
import { WebrtcProvider } from 'y-webrtc';
import { ed25519PublicKey } from './sign.ts';
import { toHex } from '../util/index.ts';
import { Handshake, sdpFingerprint, type HandshakeFailure } from './handshake.ts';
import { createRelayToken, withToken } from './relay-token.ts';
import type { MessageHandler, PeerHandler, PeerId, PeerState, Transport } from './transport.ts';

/** The id of our negotiated channel; y-webrtc's own channel takes the low ids. */
export const APP_CHANNEL_ID = 1000;
const APP_CHANNEL_LABEL = 'hygeia/net/v1';

export type RelayState = 'connecting' | 'connected' | 'disconnected';

export class WebRtcTransportError extends Error {
  override readonly name = 'WebRtcTransportError';
  constructor(
    readonly code: 'oversize' | 'closed' | 'bad-options',
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
  /** The topic every node of the consortium joins. */
  readonly room: string;
  /** Lifetime of each relay token (default ten minutes); a fresh one is minted well before it expires. */
  readonly tokenLifetimeMs?: number;
  /** Which peers may talk to us (default: any key that completes the handshake, i.e. any member the relay let in). */
  readonly isMember?: (peer: PeerId) => boolean;
  readonly handshakeTimeoutMs?: number;
  /** How long a WebRTC connection may take to open before it is abandoned and retried (default 10 s). */
  readonly connectTimeoutMs?: number;
  /** Largest message accepted or sent (Chromium's SCTP limit is 256 KiB). */
  readonly maxMessageBytes?: number;
  /** ICE servers (default none: host candidates, enough on one LAN or machine). */
  readonly iceServers?: RTCIceServer[];
  /** How long a peer that failed the handshake stays banned. */
  readonly banMs?: number;
  /** Called when a peer is dropped (for logs and the security layer); never given message contents. */
  readonly onDrop?: (reason: HandshakeFailure, peer: PeerId | null) => void;
}

interface YPeer {
  _pc: RTCPeerConnection;
  connected: boolean;
  destroyed: boolean;
  on(event: string, fn: (...args: unknown[]) => void): void;
  once(event: string, fn: (...args: unknown[]) => void): void;
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
  on(event: string, fn: (...args: unknown[]) => void): void;
  off(event: string, fn: (...args: unknown[]) => void): void;
}

/** One WebRTC connection (one y-webrtc peer id) and its handshake. */
interface Link {
  readonly yPeerId: string;
  readonly conn: YConn;
  readonly channel: RTCDataChannel;
  handshake: Handshake | null;
  peer: PeerId | null;
  helloTimer: ReturnType<typeof setInterval> | null;
  deadline: ReturnType<typeof setTimeout> | null;
  closed: boolean;
}

/**
 * y-webrtc keeps one signaling connection per URL string, shared by every room in the page. Two transports of
 * one identity must therefore pass the same string, or each would get its own connection to the same relay and
 * every signal would arrive twice (which breaks the peer connections). The string is only a key: the shared
 * connection's `url` is what it dials, and each transport keeps that fresh.
 */
const signalingKeys = new Map<string, string>();
function signalingKey(self: PeerId, relayUrl: string, mint: () => string): string {
  const k = `${self} ${relayUrl}`;
  let url = signalingKeys.get(k);
  if (url === undefined) {
    url = mint();
    signalingKeys.set(k, url);
  }
  return url;
}

export class WebRtcTransport implements Transport {
  readonly self: PeerId;
  private readonly publicKey: Uint8Array;
  private readonly doc = new Y.Doc();
  private readonly provider: WebrtcProvider;
  private readonly links = new Map<string, Link>(); // by y-webrtc peer id
  private readonly byPeer = new Map<PeerId, Link>(); // authenticated, current
  private readonly banned = new Map<string, number>(); // y-webrtc peer id -> until
  private readonly messageHandlers = new Set<MessageHandler>();
  private readonly peerHandlers = new Set<PeerHandler>();
  private readonly relayHandlers = new Set<(state: RelayState) => void>();
  private readonly maxMessageBytes: number;
  private readonly scan: ReturnType<typeof setInterval>;
  private readonly refresh: ReturnType<typeof setInterval>;
  private relay: RelayState = 'connecting';
  private closed = false;
  private detachSignaling: () => void = () => {};
  /** The string y-webrtc keys our signaling connection by (see signalingKey). */
  private readonly key: string;

  constructor(private readonly opts: WebRtcTransportOptions) {
    if (opts.secretKey.length !== 32) throw new WebRtcTransportError('bad-options', 'the secret key must be 32 bytes');
    this.publicKey = ed25519PublicKey(opts.secretKey);
    this.self = toHex(this.publicKey);
    this.maxMessageBytes = opts.maxMessageBytes ?? 256 * 1024 - 16;
    this.provider = new WebrtcProvider(opts.room, this.doc, {
      signaling: [(this.key = signalingKey(this.self, opts.relayUrl, () => this.signalingUrl()))],
      // Same-origin tabs would otherwise talk over BroadcastChannel and never open a WebRTC connection.
      filterBcConns: false,
      maxConns: 256,
      peerOpts: { config: { iceServers: opts.iceServers ?? [] } },
    } as ConstructorParameters<typeof WebrtcProvider>[2]);
    this.provider.on('peers', () => this.discover());
    const sc = this.signalingConn();
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
    const lifetime = opts.tokenLifetimeMs ?? 10 * 60_000;
    this.refresh = setInterval(() => {
      sc.url = this.signalingUrl();
    }, Math.max(1000, lifetime / 4));
  }

  send(to: PeerId, bytes: Uint8Array): void {
    this.checkSize(bytes);
    const link = this.byPeer.get(to);
    if (!link) return;
    this.transmit(link, Handshake.data(bytes));
  }

  broadcast(bytes: Uint8Array): void {
    this.checkSize(bytes);
    const frame = Handshake.data(bytes);
    for (const link of this.byPeer.values()) this.transmit(link, frame);
  }

  onMessage(handler: MessageHandler): () => void {
    this.messageHandlers.add(handler);
    return () => this.messageHandlers.delete(handler);
  }

  onPeer(handler: PeerHandler): () => void {
    this.peerHandlers.add(handler);
    return () => this.peerHandlers.delete(handler);
  }

  /** Signaling connection changes (the UI shows them). */
  onRelay(handler: (state: RelayState) => void): () => void {
    this.relayHandlers.add(handler);
    return () => this.relayHandlers.delete(handler);
  }

  get relayState(): RelayState {
    return this.relay;
  }

  peers(): PeerId[] {
    return [...this.byPeer.keys()].sort();
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
    const sc = this.signalingConn();
    const fresh = sc.url;
    sc.url = this.key;
    this.provider.disconnect();
    if (sc.providers.size > 0) sc.url = fresh;
    else signalingKeys.delete(`${this.self} ${this.opts.relayUrl}`);
    this.provider.destroy();
    this.doc.destroy();
    this.messageHandlers.clear();
    this.peerHandlers.clear();
    this.relayHandlers.clear();
  }

  private signalingUrl(): string {
    const lifetime = this.opts.tokenLifetimeMs ?? 10 * 60_000;
    const token = createRelayToken({ secretKey: this.opts.secretKey, relayUrl: this.opts.relayUrl, expiresAt: Date.now() + lifetime });
    return withToken(this.opts.relayUrl, token);
  }

  private signalingConn(): YSignalingConn {
    const sc = (this.provider as unknown as { signalingConns: YSignalingConn[] }).signalingConns[0];
    if (!sc) throw new WebRtcTransportError('bad-options', 'y-webrtc did not open a signaling connection');
    return sc;
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
    const room = (this.provider as unknown as { room: { webrtcConns: Map<string, YConn> } | null }).room;
    if (!room) return;
    const now = Date.now();
    for (const [yPeerId, conn] of room.webrtcConns) {
      if (this.links.has(yPeerId) && this.links.get(yPeerId)!.conn === conn) continue;
      const bannedUntil = this.banned.get(yPeerId);
      if (bannedUntil !== undefined && bannedUntil > now) {
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
    const link: Link = { yPeerId, conn, channel, handshake: null, peer: null, helloTimer: null, deadline: null, closed: false };
    this.links.set(yPeerId, link);
    // y-webrtc never re-sends a lost offer or answer (a relay restarting mid-set-up, a Redis subscription not yet
    // in place): give up on a connection that does not open, and y-webrtc announces again and retries.
    link.deadline = setTimeout(() => {
      if (channel.readyState !== 'open') this.closeLink(link, false);
    }, this.opts.connectTimeoutMs ?? 10_000);
    const start = (): void => {
      if (link.closed || link.handshake) return;
      if (link.deadline) clearTimeout(link.deadline);
      const nonce = new Uint8Array(32);
      crypto.getRandomValues(nonce);
      link.handshake = new Handshake({
        identity: { secretKey: this.opts.secretKey, publicKey: this.publicKey },
        localFingerprint: sdpFingerprint(pc.localDescription?.sdp),
        remoteFingerprint: sdpFingerprint(pc.remoteDescription?.sdp),
        isMember: (p) => (this.opts.isMember ? this.opts.isMember(p) : true),
        nonce,
        maxMessageBytes: this.maxMessageBytes,
      });
      const hello = link.handshake.helloFrame();
      this.transmit(link, hello);
      // Our first HELLO can arrive before the peer created its side of the negotiated channel: repeat it.
      link.helloTimer = setInterval(() => {
        if (link.handshake?.peer) {
          if (link.helloTimer) clearInterval(link.helloTimer);
          link.helloTimer = null;
        } else this.transmit(link, hello);
      }, 500);
      link.deadline = setTimeout(() => {
        if (!link.handshake?.peer) this.drop(link, 'timeout');
      }, this.opts.handshakeTimeoutMs ?? 15_000);
    };
    channel.onopen = start;
    if (channel.readyState === 'open') start();
    channel.onmessage = (ev: MessageEvent) => {
      if (link.closed || !link.handshake) return;
      const data = ev.data;
      if (!(data instanceof ArrayBuffer)) return this.drop(link, 'malformed');
      this.onFrame(link, new Uint8Array(data));
    };
    channel.onclose = () => this.closeLink(link, false);
    conn.peer.on('close', () => this.closeLink(link, false));
  }

  private onFrame(link: Link, frame: Uint8Array): void {
    for (const out of link.handshake!.receive(frame)) {
      switch (out.kind) {
        case 'send':
          this.transmit(link, out.frame);
          break;
        case 'fail':
          this.drop(link, out.reason);
          return;
        case 'authenticated':
          this.admit(link, out.peer);
          break;
        case 'deliver':
          if (this.byPeer.get(out.peer) !== link) break; // superseded by a newer connection
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

  private admit(link: Link, peer: PeerId): void {
    if (link.deadline) clearTimeout(link.deadline);
    link.deadline = null;
    link.peer = peer;
    const previous = this.byPeer.get(peer);
    this.byPeer.set(peer, link);
    if (previous && previous !== link) {
      // The same member on a newer connection (it restarted): keep one, stay 'connected'.
      this.closeLink(previous, true);
      return;
    }
    this.emitPeer(peer, 'connected');
  }

  private drop(link: Link, reason: HandshakeFailure): void {
    this.banned.set(link.yPeerId, Date.now() + (this.opts.banMs ?? 60_000));
    this.opts.onDrop?.(reason, link.peer ?? null);
    this.closeLink(link, false);
  }

  private closeLink(link: Link, superseded: boolean): void {
    if (link.closed) return;
    link.closed = true;
    if (link.helloTimer) clearInterval(link.helloTimer);
    if (link.deadline) clearTimeout(link.deadline);
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
    if (link.peer && this.byPeer.get(link.peer) === link) {
      this.byPeer.delete(link.peer);
      if (!superseded && !this.closed) this.emitPeer(link.peer, 'disconnected');
    }
  }

  private transmit(link: Link, frame: Uint8Array): void {
    if (link.closed || link.channel.readyState !== 'open') return;
    try {
      link.channel.send(frame as Uint8Array<ArrayBuffer>);
    } catch {
      this.closeLink(link, false);
    }
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
