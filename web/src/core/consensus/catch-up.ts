// Catching up: when and from whom the host follows the chain (fetches blocks above its tip and executes them
// itself, state-transfer.ts) rather than waiting for its replica. A node follows when
// - it runs no replica in the current epoch (not a validator, or still joining: the host asks directly);
// - it is behind an epoch change: a peer showed PBFT traffic of a later epoch (`behindEpoch`);
// - its replica missed blocks within the epoch: peers attested a block above our tip and the replica has not
//   executed it one back-off step later (`behind`); the node then follows the attested chain until the
//   replica executes a block live again (`catchingUp`);
// - a peer just connected (`probe`): an idle consortium commits nothing that would tell a node it is behind, so
//   it asks that peer once for the blocks above its tip.
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
  /** Whether this node holds a quorum of (unchecked) votes for the block just above its tip. */
  votesForNext(): boolean;
  hasReplica(): boolean;
  /** Closed or halted: nothing to catch up with any more. */
  stopped(): boolean;
}

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
  /**
   * Peers attested a block above our tip while our replica runs. Normally our replica executes it moments
   * later; if it has not after a back-off step, it missed the block (say, it sits in a view of its own that no
   * quorum joins): the node follows the attested chain (its replica catches up at the others' next stable
   * checkpoint, by state transfer).
   */
  private readonly behind: StepLater;
  /**
   * A follower waits for a quorum of votes before it fetches the next block. Votes it never got (it connected
   * late, or a sender's share of the buffer was full) would leave it a block behind until the next one: after
   * a back-off step it follows anyway.
   */
  private readonly unvoted: StepLater;

  constructor(private readonly host: CatchUpHost) {
    this.behind = new StepLater(host, (height, peers) => {
      if (host.tipHeight() >= height || this.lagging || this.catchingUp || !host.hasReplica()) return;
      this.catchingUp = true;
      host.follow(peers);
    });
    this.unvoted = new StepLater(host, (height, peers) => {
      if (host.tipHeight() < height) host.follow(peers);
    });
  }

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

  /**
   * `from` attested block `height` above our tip. A node that follows fetches the next block once it holds a
   * quorum of votes for it (or is more than a block behind): the block is certified by then, and the votes it
   * holds make the certificate even when the peer answers before its own quorum formed. Fetching at the first
   * vote instead found the block uncertified and waited out a back-off step for every block.
   */
  peerAhead(from: PeerId, height: number): void {
    if (this.lagging) this.host.follow([from]);
    else if (!this.host.hasReplica() || this.catchingUp) {
      if (height > this.host.tipHeight() + 1 || this.host.votesForNext()) this.host.follow([from]);
      else this.unvoted.arm(from, height);
    } else this.behind.arm(from, height);
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
}

/**
 * One check a back-off step after the first of a run of sightings; later sightings join it (their peers, and
 * the highest height seen).
 */
class StepLater {
  private pending: { height: number; peers: Set<PeerId> } | null = null;

  constructor(
    private readonly host: CatchUpHost,
    private readonly run: (height: number, peers: PeerId[]) => void,
  ) {}

  arm(from: PeerId, height: number): void {
    if (this.pending) {
      this.pending.peers.add(from);
      this.pending.height = Math.max(this.pending.height, height);
      return;
    }
    const p = { height, peers: new Set([from]) };
    this.pending = p;
    this.host.clock.schedule(this.host.backoff.delay(0), () => {
      if (this.pending !== p) return;
      this.pending = null;
      if (!this.host.stopped()) this.run(p.height, [...p.peers]);
    });
  }
}
