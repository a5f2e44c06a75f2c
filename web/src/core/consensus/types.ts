// The shapes the consensus host shares with whoever composes it (the clinic node, the simulator, benches).

import type { ReplicaAction, ReplicaEvent } from '../../../../wasm/index.ts';
import type { ApplyResult, Block, BlockRejectReason, Epoch } from '../ledger/index.ts';
import type { AttestationRejectReason } from './attestations.ts';
import type { PeerId } from '../net/index.ts';

/** Time and timers: `systemClock` in real use, the simulator's VirtualClock in tests. */
export interface Clock {
  now(): number;
  /** Runs fn after delayMs; the returned function cancels it. */
  schedule(delayMs: number, fn: () => void): () => void;
  /**
   * Runs fn once the work already queued (messages that arrived while a timer was due) has had its turn, or
   * after AFTER_QUEUED_MAX_MS at the latest. A virtual clock, whose events are all in its own order, has none.
   */
  afterQueued?(fn: () => void): void;
}

const AFTER_QUEUED_MAX_MS = 250;

type PostTask = (fn: () => void, opts: { priority: 'background' }) => Promise<void>;

export const systemClock: Clock = {
  now: () => Date.now(),
  schedule(delayMs, fn) {
    const t = setTimeout(fn, delayMs);
    return () => clearTimeout(t);
  },
  afterQueued(fn) {
    let done = false;
    const once = (): void => {
      if (done) return;
      done = true;
      clearTimeout(late);
      fn();
    };
    const late = setTimeout(once, AFTER_QUEUED_MAX_MS);
    const postTask = (globalThis as { scheduler?: { postTask?: PostTask } }).scheduler?.postTask;
    // Background priority runs after the page's pending tasks (network messages among them); Node has no
    // scheduler, and its next turn of the event loop reads pending I/O before timers run.
    if (postTask) void postTask.call((globalThis as { scheduler?: unknown }).scheduler, once, { priority: 'background' });
    else setTimeout(once, 0);
  },
};

/** What the host needs of a replica (the wasm Replica class satisfies it). */
export interface ReplicaLike {
  step(event: ReplicaEvent): ReplicaAction[];
  readonly view: number;
  readonly primary: number;
  readonly lastExecuted: number;
  /** In a view change (perhaps alone); a replica that does not say is taken to be in the normal case. */
  readonly changingView?: boolean;
  dispose(): void;
}

/**
 * Where a replica starts: the host creates one per epoch in which this node is a validator, and again when a
 * node restarts. `replicaStartOptions(start)` (replica-start.ts) maps it onto the replica's options.
 */
export interface ReplicaStart {
  /** The epoch: its id is the domain of every signature in it; replica index = position in its validators. */
  readonly epoch: Epoch;
  /** This node's index in epoch.validators. */
  readonly self: number;
  /** The state digest at epoch.since: the hash of that block (32 zero bytes at genesis). */
  readonly startDigest: Uint8Array;
  /** The replica state at epoch.since, certified by the previous epoch's checkpoint (absent at genesis). */
  readonly replicaState?: Uint8Array;
  /** A restart inside the epoch: this node's own last stable checkpoint above epoch.since, as it stored it. */
  readonly resumeFrom?: { readonly seq: number; readonly stateDigest: Uint8Array; readonly replicaState: Uint8Array; readonly certificate: Uint8Array };
}

export type CreateReplica = (start: ReplicaStart) => ReplicaLike;

export interface TimerPolicy {
  /** How long the primary waits to fill a batch. */
  readonly batchMs: number;
  /** View-change timeout for attempt 0; attempt k waits base * 2^k ... */
  readonly viewChangeBaseMs: number;
  /** ... capped here. */
  readonly viewChangeMaxMs: number;
  /** How long to wait for a state-transfer reply before asking the next peer (the base of its back-off). */
  readonly stateTransferMs: number;
}

/**
 * The view-change timeout starts at 2 s: tablets that share their cores with training, imports and each other
 * took over 500 ms to commit often enough that one backup would time out alone (at 500 ms, three of five
 * four-tablet start-ups measured had such a replica; at 2 s, none of five). Such a replica then went into a view
 * change no quorum joined; since the suspicion step (wasm/assembly/pbft/suspect.ts) it only suspects the
 * primary and stays, but a timeout that fires for nothing still costs a message, and two change the view.
 * Failover after a real fault starts 1.5 s later.
 */
export const DEFAULT_TIMERS: TimerPolicy = { batchMs: 2, viewChangeBaseMs: 2_000, viewChangeMaxMs: 16_000, stateTransferMs: 1_000 };

/** Turns a transaction (the request payload) into what the app applies; the default is the client request's payload. */
export type PayloadOf = (request: Uint8Array) => Uint8Array | null;

/** The result of a transaction the replica ordered but did not execute (a client's request executed before). */
export const SKIPPED_DUPLICATE: ApplyResult = { ok: false, reason: 'skipped-duplicate' };
/** The result of a transaction whose payload does not decode. */
export const UNDECODABLE: ApplyResult = { ok: false, reason: 'undecodable' };

export type StateTransferRejectReason =
  | 'malformed' // the reply does not decode
  | 'unsolicited' // no request with this id to this peer is outstanding
  | 'missing-target' // the reply lacks the block at the target seq or its snapshot
  | 'digest-mismatch' // the target block's hash is not the proven checkpoint digest
  | 'chain-broken' // a block does not link to the next one by hash
  | 'block-invalid' // a block fails verifyBlock (certificate, roots)
  | 'state-root-mismatch' // the snapshot does not produce the block's state root
  | 'replica-refused' // the replica state sent with it does not match the checkpoint's proof
  | 'rate-limited'; // a peer asked again too soon (its request was not answered)

export type ConsensusEvent =
  /**
   * A block executed here; `results[i]` is the outcome of `block.txs[i]`. `replayed`: executed again from this
   * node's own store at start (it was committed before a restart).
   */
  | { kind: 'committed'; block: Block; hash: Uint8Array; results: readonly ApplyResult[]; replayed?: true }
  | { kind: 'rejected'; reason: string; from: number }
  | { kind: 'viewChanged'; view: number; primary: number }
  | { kind: 'checkpointStable'; seq: number }
  | { kind: 'stateInstalled'; seq: number; fetchedBlocks: number; fromPeer: PeerId | null }
  | { kind: 'stateTransferRejected'; reason: StateTransferRejectReason; from: PeerId; detail?: string }
  | { kind: 'storageError'; message: string }
  /** The blocks below an installed checkpoint are all held again, down to `down` (1: the whole chain). */
  | { kind: 'historyFilled'; down: number }
  /** The replica executed a seq that does not follow the host's height: an invariant broke. */
  | { kind: 'outOfOrder'; seq: number; height: number }
  /** Resuming from the store stopped at `height` (the blocks above come from peers instead). */
  | { kind: 'resumeStopped'; height: number; reason: ResumeStopReason }
  /** The node stopped executing rather than fork (two different batches committed at one seq). */
  | { kind: 'halted'; reason: string }
  /** A new validator set certifies the blocks after `since` (`validator`: this node is one of them). */
  | { kind: 'epochChanged'; epoch: number; since: number; validators: number; validator: boolean }
  /** This node's replica for `epoch` started, from the checkpoint at `seq` (it votes from here on). */
  | { kind: 'replicaStarted'; epoch: number; seq: number }
  /** A quorum of the epoch's validators attested block `height`: its attestation certificate (stored beside it). */
  | { kind: 'attested'; height: number; hash: Uint8Array; certificate: Uint8Array }
  /** An attestation refused (counted for the security layer). */
  | { kind: 'attestationRejected'; reason: AttestationRejectReason; from: PeerId; height: number }
  /** A validator validly attested another block than ours at a height we executed: evidence. */
  | { kind: 'attestationConflict'; height: number; from: PeerId; ours: Uint8Array; theirs: Uint8Array };

export type ResumeStopReason =
  | 'snapshot-mismatch' // the stored snapshot does not produce its block's state root, or its block is missing
  | 'missing-block' // a gap in the stored chain
  | 'state-root-mismatch' // executing a stored block does not give its state root
  | BlockRejectReason; // a stored block fails verification
