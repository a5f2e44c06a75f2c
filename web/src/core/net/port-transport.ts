// A Transport whose links live in another thread. Chromium keeps RTCPeerConnection and RTCDataChannel on the
// page, so a clinic node running in a worker talks through this: its sends go out as messages to the page,
// whose WebRtcTransport owns the links, and the page hands back what its links deliver, in order. `from` is
// still the identity the page's handshake authenticated; nothing here parses the bytes.
import type { MessageHandler, PeerHandler, PeerId, PeerState, Transport } from './transport.ts';

export type PortRelayState = 'connecting' | 'connected' | 'disconnected';

/** What the worker tells the page to do with one room's links. */
export type PortSend = { readonly to: PeerId | null; readonly bytes: Uint8Array };

export class PortTransportError extends Error {
  override readonly name = 'PortTransportError';
  constructor(
    readonly reason: 'oversize' | 'closed',
    message: string,
  ) {
    super(message);
  }
}

export interface PortTransportInit {
  readonly self: PeerId;
  /** The page's links already up when this side starts. */
  readonly peers: readonly PeerId[];
  readonly relay: PortRelayState;
  /** The page transport's limit, checked here so an oversized send fails where it was made. */
  readonly maxMessageBytes: number;
}

export class PortTransport implements Transport {
  readonly self: PeerId;
  readonly maxMessageBytes: number;
  private readonly linked: Set<PeerId>;
  private relay: PortRelayState;
  private readonly messageHandlers = new Set<MessageHandler>();
  private readonly peerHandlers = new Set<PeerHandler>();
  private closed = false;

  /** `out` carries a send (`to` null: a broadcast) to the page; it must copy or transfer the bytes at once. */
  constructor(
    init: PortTransportInit,
    private readonly out: (s: PortSend) => void,
  ) {
    this.self = init.self;
    this.linked = new Set(init.peers);
    this.relay = init.relay;
    this.maxMessageBytes = init.maxMessageBytes;
  }

  send(to: PeerId, bytes: Uint8Array): void {
    this.check(bytes);
    if (this.linked.has(to)) this.out({ to, bytes });
  }

  broadcast(bytes: Uint8Array): void {
    this.check(bytes);
    if (this.linked.size > 0) this.out({ to: null, bytes });
  }

  onMessage(handler: MessageHandler): () => void {
    this.messageHandlers.add(handler);
    return () => this.messageHandlers.delete(handler);
  }

  onPeer(handler: PeerHandler): () => void {
    this.peerHandlers.add(handler);
    return () => this.peerHandlers.delete(handler);
  }

  peers(): PeerId[] {
    return [...this.linked].sort();
  }

  /** The page's signaling connection, as the snapshot shows it. */
  get relayState(): PortRelayState {
    return this.relay;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.messageHandlers.clear();
    this.peerHandlers.clear();
    this.linked.clear();
  }

  // ---- what the page reports ------------------------------------------------------------------------------

  /** A message one of the page's authenticated links delivered. */
  deliver(from: PeerId, bytes: Uint8Array): void {
    if (this.closed) return;
    for (const h of [...this.messageHandlers]) h(from, bytes);
  }

  peerChanged(peer: PeerId, state: PeerState): void {
    if (this.closed) return;
    const had = this.linked.has(peer);
    if (state === 'connected') this.linked.add(peer);
    else this.linked.delete(peer);
    if (had === (state === 'connected')) return;
    for (const h of [...this.peerHandlers]) h(peer, state);
  }

  relayChanged(state: PortRelayState): void {
    this.relay = state;
  }

  private check(bytes: Uint8Array): void {
    if (this.closed) throw new PortTransportError('closed', 'this transport is closed');
    if (bytes.length > this.maxMessageBytes) throw new PortTransportError('oversize', `message of ${bytes.length} bytes exceeds ${this.maxMessageBytes}`);
  }
}
