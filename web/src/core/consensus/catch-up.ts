// Catching up: when and from whom the host follows the chain (fetches blocks above its tip and executes them
// itself, state-transfer.ts) rather than waiting for its replica. A node follows when
// - it runs no replica in the current epoch (not a validator, or still joining: the host asks directly);
// - it is behind an epoch change: a peer showed PBFT traffic of a later epoch (`behindEpoch`);
// - its replica missed blocks within the epoch: peers attested a block above our tip and the replica has not
//   executed it one back-off step later (`watchBehind`); the node then follows the attested chain until the
//   replica executes a block live again (`catchingUp`);
// - a peer just connected (`probe`): an idle consortium commits nothing that would tell a node it is behind, so
//   it asks that peer once for the blocks above its tip.
// Evidence is kept until it is met: while peers have attested a height above our tip, a follow that did not
// reach it (a peer that did not answer, or refused us for its rate limit) is tried again, step k of the back-off
// later, up to MAX_RETRIES times. On an idle ledger no other message would ever come to tell the node again.
import type { PeerId } from '../net/index.ts';
import type { Backoff } from './backoff.ts';
import type { Clock } from './types.ts';

/** What catching up needs from the node that owns it. */
export interface CatchUpHost {
  readonly clock: Clock;
  /** The view-change back-off: step 0 is how long a replica may take to execute a block peers attested. */
  readonly backoff: Backoff;
  /** Starts (or keeps) following, asking these peers first (state-transfer.ts: StateTransfer.follow). */
  follow(peers: readonly PeerId[]): void;
  tipHeight(): number;
  hasReplica(): boolean;
  /** Closed or halted: nothing to catch up with any more. */
  stopped(): boolean;
}

/** Follows tried again for one piece of evidence before waiting for new evidence. */
export const MAX_RETRIES = 8;

export class CatchUp {
  /** A peer showed a later epoch than the one running here: this node is behind an epoch change. */
  private lagging = false;
  /**
   * Behind within our epoch while our replica runs (it missed blocks): the host follows the attested chain
   * until the replica executes a block live again. Separate from `lagging`, which is about epoch changes.
   */
  private catchingUp = false;
  /** A peer just connected: ask it once for blocks above our tip (see probe). */
  private probing = false;
  /** A check pending on a height peers attested above our tip (see watchBehind). */
  private behindCheck: { height: number; peers: Set<PeerId> } | null = null;
  /** The highest height peers attested above our tip, by whom, and the follows tried for it so far. */
  private evidence: { height: number; peers: Set<PeerId>; retries: number; pending: boolean } | null = null;

  constructor(private readonly host: CatchUpHost) {}

  /** Whether the node should be following the chain now (state transfer asks before each request). */
  wantsToFollow(): boolean {
    return !this.host.stopped() && (!this.host.hasReplica() || this.lagging || this.catchingUp || this.probing);
  }

  /** Behind an epoch change (a later epoch's traffic arrived): set until the node enters a new epoch. */
  get behindEpoch(): boolean {
    return this.lagging;
  }

  /** A later epoch's traffic from `from`: follow the chain up to its switch (once). */
  laterEpochSeen(from: PeerId): void {
    if (this.lagging) return;
    this.lagging = true;
    this.host.follow([from]);
  }

  /** A new epoch runs here: whatever we lagged behind is reached. */
  enteredEpoch(): void {
    this.lagging = false;
  }

  /** Our replica executed a block live: it is not behind (any more). */
  replicaLive(): void {
    this.catchingUp = false;
  }

  /** A followed block was executed while our replica runs: the app is ahead of it until it catches up. */
  followedPastReplica(): void {
    if (this.host.hasReplica()) this.catchingUp = true;
  }

  /** `from` attested block `height` above our tip. */
  peerAhead(from: PeerId, height: number): void {
    this.note(from, height);
    if (!this.host.hasReplica() || this.lagging || this.catchingUp) {
      this.host.follow([from]);
      this.recheck();
    } else this.watchBehind(from, height);
  }

  private note(from: PeerId, height: number): void {
    if (!this.evidence || height > this.evidence.height) this.evidence = { height, peers: new Set([from]), retries: 0, pending: false };
    else if (height === this.evidence.height) this.evidence.peers.add(from);
  }

  /**
   * One back-off step after a follow: if the attested height is still above our tip, follow again (the replica
   * has still not executed it, so the node catches up by the chain). At most one recheck is pending.
   */
  private recheck(): void {
    const e = this.evidence;
    if (!e || e.pending) return;
    e.pending = true;
    this.host.clock.schedule(this.host.backoff.delay(e.retries + 1), () => {
      e.pending = false;
      if (this.evidence !== e) return; // newer evidence arrived meanwhile: it is checked on its own schedule
      if (this.host.stopped() || this.host.tipHeight() >= e.height || e.retries >= MAX_RETRIES) {
        this.evidence = null;
        return;
      }
      e.retries++;
      if (this.host.hasReplica() && !this.lagging) this.catchingUp = true;
      this.host.follow([...e.peers]);
      this.recheck();
    });
  }

  /**
   * A peer connected (this tablet reopened, or a link came back): ask it for the blocks above our tip. An idle
   * consortium commits nothing that would tell a node it is behind; the answer does, and what it brings is
   * executed as followed blocks (attested, verified).
   */
  probe(peer: PeerId): void {
    if (this.host.stopped()) return;
    this.probing = true;
    this.host.follow([peer]);
    this.probing = false;
  }

  /**
   * Peers attested a block above our tip while our replica runs. Normally our replica executes it moments
   * later; if it has not after a view-change period, it missed the block (say, it sits in a view of its own
   * that no quorum joins): the node follows the attested chain (its replica catches up at the others' next
   * stable checkpoint, by state transfer).
   */
  private watchBehind(from: PeerId, height: number): void {
    if (this.behindCheck) {
      this.behindCheck.peers.add(from);
      return;
    }
    const check = { height, peers: new Set([from]) };
    this.behindCheck = check;
    this.host.clock.schedule(this.host.backoff.delay(0), () => {
      if (this.behindCheck !== check) return;
      this.behindCheck = null;
      if (this.host.stopped() || this.host.tipHeight() >= check.height || this.lagging || this.catchingUp || !this.host.hasReplica()) return;
      this.catchingUp = true;
      this.host.follow([...check.peers]);
      this.recheck();
    });
  }
}
