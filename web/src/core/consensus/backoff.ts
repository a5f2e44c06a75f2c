// The consensus host's one back-off policy: a wait doubles from a base with each step and stops growing at a
// cap. Every wait of the host is a step of it:
// - the replica's view-change timer: attempt k of a view change waits base · 2^k (TimerPolicy.viewChange*);
// - catching up (catch-up.ts): peers attested a block above our tip; step 0 of the view-change back-off later,
//   our replica has not executed it, so it missed it and the node follows the attested chain;
// - an epoch switch (epoch-switch.ts): the old replica gets step 1 of the view-change back-off for its
//   checkpoint at the epoch's last block to become stable before the state is fetched from peers;
// - state transfer (state-transfer.ts): each request to a peer waits step `round` of the state-transfer
//   back-off (capped at 8 × its base), peers asked in turn (PeerRotation).
import type { PeerId } from '../net/index.ts';

export class Backoff {
  constructor(
    readonly baseMs: number,
    readonly capMs: number,
  ) {}

  /** The wait at `step` (0, 1, 2, …): base · 2^step, at most the cap. */
  delay(step: number): number {
    return Math.min(this.capMs, this.baseMs * 2 ** Math.min(Math.max(0, step), 30));
  }
}

/** The back-off factor's cap for fetches: at most 8 × the base timeout between two requests to one peer. */
export const MAX_FETCH_BACKOFF_FACTOR = 8;

/**
 * The back-off policy applied to a fetch: peers are asked in turn, each with a timeout of base × 2^round
 * (round = full passes over the peers so far, factor capped at 8); after a bad answer the next peer is asked at
 * once, unless that begins a new round, which first waits out one timeout of the round just finished.
 */
export class PeerRotation {
  private attempt = 0;
  private readonly backoff: Backoff;
  constructor(
    readonly peers: readonly PeerId[],
    baseMs: number,
  ) {
    this.backoff = new Backoff(baseMs, baseMs * MAX_FETCH_BACKOFF_FACTOR);
  }

  get rounds(): number {
    return this.peers.length === 0 ? Infinity : Math.floor(this.attempt / this.peers.length);
  }

  /** The peer to ask now and how long to wait for its answer. */
  take(): { peer: PeerId; timeoutMs: number } {
    const round = this.rounds;
    const peer = this.peers[this.attempt % this.peers.length]!;
    this.attempt++;
    return { peer, timeoutMs: this.backoff.delay(round) };
  }

  /** After a bad answer: how long to wait before asking the next peer (0: at once). */
  pauseAfterFailure(): number {
    return this.attempt % this.peers.length === 0 ? this.backoff.delay(this.rounds - 1) : 0;
  }

  /** An answer was useful: the next request starts a fresh round. */
  succeeded(): void {
    this.attempt = 0;
  }
}
