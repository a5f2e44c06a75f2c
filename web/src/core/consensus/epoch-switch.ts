// Epoch switching (ledger/epoch.ts): after every block that is a multiple of K the host reads the app's
// validator schedule; when it puts a new set in force at block E, the host keeps the old replica until its
// checkpoint at E is stable (its replica state is what the new replica starts from, the same at every node),
// then disposes it and creates the new epoch's replica at E (the node's enterEpoch). If that checkpoint does
// not become stable within one back-off step (this replica lags), the node switches without it and the new
// replica's state is fetched from peers. A switch never happens inside a replica step: it waits for the step
// in progress to return.
import { EpochError, type Epoch, type EpochHistory, type ValidatorSchedule } from '../ledger/index.ts';
import { equalBytes } from '../util/index.ts';
import type { Backoff } from './backoff.ts';
import type { Clock } from './types.ts';

/** Where a new replica's state comes from: a certified checkpoint at or above the epoch's start. */
export type ReplicaSource = { readonly seq: number; readonly replicaState: Uint8Array; readonly certificate: Uint8Array } | null;

/** A validator-set change this node executed the last block of (E = at), waiting to switch. */
interface PendingSwitch {
  readonly epoch: Epoch;
  readonly at: number;
  /** The old replica's checkpoint at E, once stable (its replica state starts the new replica). */
  source: ReplicaSource;
  cancelWait: (() => void) | null;
}

/** What epoch switching needs from the node that owns it. */
export interface EpochSwitchHost {
  readonly clock: Clock;
  /** The view-change back-off: step 1 is how long the old replica gets to make its checkpoint at E stable. */
  readonly backoff: Backoff;
  readonly epochs: EpochHistory;
  readonly K: number;
  /** Whether the app keeps a validator schedule (LedgerApp.validatorSchedule). */
  hasSchedule(): boolean;
  /** The app's validator schedule after the block just executed (may throw: the node halts). */
  schedule(): ValidatorSchedule;
  hasReplica(): boolean;
  /** Inside a replica step (a switch then waits for it to return). */
  stepping(): boolean;
  closed(): boolean;
  /** No new epoch at a checkpoint: a validator of the running epoch without a replica tries to join again. */
  rejoinIfNeeded(): void;
  /** Makes `epoch` the running one, its replica started from `source` (the node's enterEpoch). */
  switchTo(epoch: Epoch, source: ReplicaSource): void;
  halt(reason: string): void;
}

export class EpochSwitch {
  private pending: PendingSwitch | null = null;
  private switchDue = false;

  constructor(private readonly host: EpochSwitchHost) {}

  /** A switch is waiting: blocks above its E belong to the new epoch (and the old replica's are no blocks). */
  get waiting(): boolean {
    return this.pending !== null;
  }

  /** The old epoch ended at E and a switch is waiting: seq is above E. */
  beyondEpoch(seq: number): boolean {
    return this.pending !== null && seq > this.pending.at;
  }

  /** After block `height` (executed, replayed, followed or installed): a new epoch in force from here? */
  afterBlock(height: number): void {
    if (height % this.host.K !== 0 || !this.host.hasSchedule()) return;
    let next: Epoch | null;
    try {
      next = this.host.epochs.observe(height, this.host.schedule());
    } catch (e) {
      this.host.halt(e instanceof EpochError ? `validator schedule refused: ${e.reason}` : 'validator schedule unreadable');
      return;
    }
    if (next) this.begin(next, height);
    else this.host.rejoinIfNeeded();
  }

  /** The replica's checkpoint at `seq` is stable; `held` is our block hash there. */
  checkpointStable(seq: number, digest: Uint8Array, replicaState: Uint8Array, certificate: Uint8Array, held: Uint8Array | undefined): void {
    const p = this.pending;
    if (p && seq === p.at && equalBytes(digest, held ?? new Uint8Array())) {
      p.source = { seq, replicaState, certificate };
      this.request();
    }
  }

  /** After a replica step returned: the switch it asked for, if any. */
  afterStep(): void {
    if (this.switchDue) {
      this.switchDue = false;
      this.now();
    }
  }

  stop(): void {
    this.pending?.cancelWait?.();
  }

  /**
   * Block E executed and a new epoch is in force after it. A node running a replica keeps it until its
   * checkpoint at E is stable (so it has voted that checkpoint, and its replica state is the one every new
   * replica starts from); if that does not come soon (this replica lags), the state is fetched from peers.
   */
  private begin(epoch: Epoch, at: number): void {
    this.pending?.cancelWait?.();
    const p: PendingSwitch = { epoch, at, source: null, cancelWait: null };
    this.pending = p;
    if (!this.host.hasReplica()) {
      this.request();
      return;
    }
    p.cancelWait = this.host.clock.schedule(this.host.backoff.delay(1), () => {
      if (this.pending === p && !p.source) this.request();
    });
  }

  /** Switches now, or right after the replica step in progress (never inside one). */
  private request(): void {
    if (this.host.stepping()) this.switchDue = true;
    else this.now();
  }

  private now(): void {
    const p = this.pending;
    if (!p || this.host.closed()) return;
    this.pending = null;
    p.cancelWait?.();
    this.host.switchTo(p.epoch, p.source);
  }
}
