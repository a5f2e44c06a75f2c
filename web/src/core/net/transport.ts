// The one interface every consensus, ledger and learning component talks through. SimNetwork (deterministic,
// with injected faults) and WebRtcTransport (real peers) both implement it, and one conformance suite runs
// against both.

/** A peer's identity: the lowercase hex of its 32-byte Ed25519 public key. */
export type PeerId = string;

export type PeerState = 'connected' | 'disconnected';

export type MessageHandler = (from: PeerId, bytes: Uint8Array) => void;
export type PeerHandler = (peer: PeerId, state: PeerState) => void;

export interface Transport {
  /** This node's identity. */
  readonly self: PeerId;
  /**
   * Sends bytes to one peer. Best-effort: delivery is not guaranteed (protocols above retransmit). `from` on
   * the receiving side is the identity the transport authenticated, never a claim inside the bytes.
   */
  send(to: PeerId, bytes: Uint8Array): void;
  /** Sends bytes to every currently connected peer (not to itself). */
  broadcast(bytes: Uint8Array): void;
  /** Subscribes to incoming messages; returns the unsubscribe function. */
  onMessage(handler: MessageHandler): () => void;
  /** Subscribes to peer connection changes; returns the unsubscribe function. */
  onPeer(handler: PeerHandler): () => void;
  /** The peers connected now. */
  peers(): PeerId[];
  /** Leaves the network and releases resources. */
  close(): Promise<void>;
}
