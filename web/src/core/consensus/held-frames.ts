// Replica frames for a validator this node has had no link to yet: held for a few seconds and sent when the
// first link comes. The transport is best-effort and drops what it has no link for. At a consortium's start
// every tablet submits its first transactions while its links are still forming, and the forward to the
// primary was lost: each replica then waited out its view-change timer and the consortium changed views for
// nothing (every start went to view 1, two seconds in). Holding is bounded (by frames and bytes per peer,
// oldest dropped first) and brief: after `maxAgeMs` the protocol's own timers and retransmissions have taken
// over, and a stale frame is only noise. A peer whose link dropped gets nothing held: what it missed it
// recovers the way a peer that was away does (commit proofs, checkpoints, state transfer), not from a replay
// of whatever was said meanwhile (which let a clinic rejoining after a partition execute a few stale blocks
// and then wait).
import type { PeerId } from '../net/index.ts';

export interface HeldFramesOptions {
  readonly now: () => number;
  /** Frames held per peer (default 64). */
  readonly maxFrames?: number;
  /** Bytes held per peer (default 1 MiB). */
  readonly maxBytes?: number;
  /** A frame older than this is not sent (default 3 s). */
  readonly maxAgeMs?: number;
}

interface Held {
  readonly frames: { at: number; bytes: Uint8Array }[];
  size: number;
}

export class HeldFrames {
  private readonly byPeer = new Map<PeerId, Held>();
  /** Peers the transport has had a link to: their frames are never held. */
  private readonly linkedOnce = new Set<PeerId>();
  private readonly maxFrames: number;
  private readonly maxBytes: number;
  private readonly maxAgeMs: number;

  constructor(private readonly opts: HeldFramesOptions) {
    this.maxFrames = opts.maxFrames ?? 64;
    this.maxBytes = opts.maxBytes ?? 1 << 20;
    this.maxAgeMs = opts.maxAgeMs ?? 3_000;
  }

  /**
   * Holds a frame for `peer` if this node has never had a link to it (true); false when it is to be sent now. A
   * frame larger than the whole budget is dropped (true: there is no link to send it on either).
   */
  hold(peer: PeerId, bytes: Uint8Array): boolean {
    if (this.linkedOnce.has(peer)) return false;
    if (bytes.length > this.maxBytes) return true;
    let h = this.byPeer.get(peer);
    if (!h) this.byPeer.set(peer, (h = { frames: [], size: 0 }));
    const now = this.opts.now();
    while (h.frames.length > 0 && (h.frames.length >= this.maxFrames || h.size + bytes.length > this.maxBytes || now - h.frames[0]!.at > this.maxAgeMs)) {
      h.size -= h.frames.shift()!.bytes.length;
    }
    h.frames.push({ at: now, bytes });
    h.size += bytes.length;
    return true;
  }

  /** The transport has a link to `peer`: nothing is held for it from now on, and what was held and is still fresh comes out, oldest first. */
  linked(peer: PeerId): Uint8Array[] {
    this.linkedOnce.add(peer);
    const h = this.byPeer.get(peer);
    if (!h) return [];
    this.byPeer.delete(peer);
    const since = this.opts.now() - this.maxAgeMs;
    return h.frames.filter((f) => f.at >= since).map((f) => f.bytes);
  }

  /** Frames held now, over all peers (for tests and counters). */
  get size(): number {
    let n = 0;
    for (const h of this.byPeer.values()) n += h.frames.length;
    return n;
  }

  clear(): void {
    this.byPeer.clear();
  }
}
