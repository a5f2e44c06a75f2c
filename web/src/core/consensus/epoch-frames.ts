// PBFT frames that arrive for the next epoch before this node has switched to it (its peers executed the last
// block of the epoch a moment earlier). They are held, a bounded number per peer and in all, and handed to the
// new replica when it exists; anything else of another epoch is dropped before a replica reads it.

import type { PeerId } from '../net/index.ts';

export class NextEpochFrames {
  private epoch = -1;
  private readonly frames: { from: PeerId; message: Uint8Array }[] = [];
  private readonly perPeer = new Map<PeerId, number>();
  dropped = 0;

  constructor(
    private readonly maxPerPeer: number,
    private readonly maxTotal: number,
  ) {}

  /** Holds a frame of epoch `epoch`; returns false (and drops it) when its bound is reached. */
  hold(epoch: number, from: PeerId, message: Uint8Array): boolean {
    if (epoch !== this.epoch) {
      // Only one epoch is ever held: the one after the running one.
      this.clear();
      this.epoch = epoch;
    }
    const n = this.perPeer.get(from) ?? 0;
    if (n >= this.maxPerPeer || this.frames.length >= this.maxTotal) {
      this.dropped++;
      return false;
    }
    this.perPeer.set(from, n + 1);
    this.frames.push({ from, message });
    return true;
  }

  /** The frames held for `epoch`, in arrival order, and forgets all. */
  take(epoch: number): { from: PeerId; message: Uint8Array }[] {
    const out = epoch === this.epoch ? this.frames.slice() : [];
    this.clear();
    return out;
  }

  get size(): number {
    return this.frames.length;
  }

  private clear(): void {
    this.frames.length = 0;
    this.perPeer.clear();
    this.epoch = -1;
  }
}
