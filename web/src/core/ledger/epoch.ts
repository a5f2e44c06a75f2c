// Epochs: who certifies which block. The contracts keep one `consensus` leaf, { epoch, validators, since, next };
// a committed change of the validator set at block c sets next = { validators, at: ceil(c / K) * K }. The
// validators that certify block h are those of the leaf as of block B = floor((h - 1) / K) * K (block 0 is
// genesis), reading `next` once next.at <= B. So every replica switches at the same sequence number E = next.at,
// a checkpoint, and an epoch is named by an id that binds its number, the chain, its first block and its
// validators: every PBFT signature and block attestation of the epoch is domain-separated by that id.

import { sha256 } from '../../../../wasm/index.ts';
import { Writer, signingBytes } from '../codec/index.ts';
import { ReasonError, equalBytes } from '../util/index.ts';

const EPOCH_ID_TAG = 'hygeia/epoch/v1';

/** What the application says about its validators (LedgerApp.validatorSchedule; the contracts' `consensus` leaf). */
export interface ValidatorSchedule {
  readonly epoch: number;
  /** Ed25519 public keys, in validator order (genesis order, then order of admission). */
  readonly validators: readonly Uint8Array[];
  /** The block after which this set certifies (0 for genesis). */
  readonly since: number;
  /** A committed change: the set that certifies the blocks after `at` (a multiple of K). */
  readonly next: { readonly validators: readonly Uint8Array[]; readonly at: number } | null;
}

/** One epoch: the validators that certify blocks since+1, since+2, … until the next epoch's since. */
export interface Epoch {
  readonly number: number;
  readonly id: Uint8Array;
  /** The last block of the previous epoch (0 for epoch 0); the epoch's replicas start after it. */
  readonly since: number;
  readonly validators: readonly Uint8Array[];
}

export class EpochError extends ReasonError<'bad-schedule' | 'bad-interval' | 'not-sequential'> {
  override readonly name = 'EpochError';
}

/** sha256(signingBytes('hygeia/epoch/v1', uint(epoch) ‖ fixed32(genesisHash) ‖ uint(startSeq) ‖ list(keys))). */
export function epochId(epoch: number, genesisHash: Uint8Array, startSeq: number, validators: readonly Uint8Array[]): Uint8Array {
  if (genesisHash.length !== 32) throw new EpochError('bad-schedule', 'the genesis hash is 32 bytes');
  if (validators.length < 1 || validators.some((k) => k.length !== 32)) {
    throw new EpochError('bad-schedule', 'a validator set is one or more 32-byte keys');
  }
  const w = new Writer(64 + 33 * validators.length);
  w.uint(epoch);
  w.fixed(genesisHash);
  w.uint(startSeq);
  w.list(validators, (x, k) => x.fixed(k));
  return sha256(signingBytes(EPOCH_ID_TAG, w.finish()));
}

/** Epoch 0: the genesis validators, from block 1. */
export function genesisEpoch(validators: readonly Uint8Array[], genesisHash: Uint8Array): Epoch {
  return { number: 0, id: epochId(0, genesisHash, 0, validators), since: 0, validators: validators.map((k) => k.slice()) };
}

/** B: the block whose state names the validators of block `height`. */
export function certifyingBlock(height: number, K: number): number {
  if (!Number.isSafeInteger(K) || K < 1) throw new EpochError('bad-interval', 'the checkpoint interval is a positive integer');
  return Math.floor((height - 1) / K) * K;
}

/** The set in force as of block `asOf` according to a schedule read at that block: `next` once next.at <= asOf. */
export function effectiveSchedule(s: ValidatorSchedule, asOf: number): { epoch: number; validators: readonly Uint8Array[]; since: number } {
  if (s.next && s.next.at <= asOf) return { epoch: s.epoch + 1, validators: s.next.validators, since: s.next.at };
  return { epoch: s.epoch, validators: s.validators, since: s.since };
}

/**
 * The validators that certify block `height`, given the schedule as of block B = floor((height-1)/K)*K. The
 * caller must pass the schedule read after block B (for B = 0, the genesis schedule).
 */
export function validatorsForHeight(height: number, K: number, scheduleAsOfB: ValidatorSchedule): readonly Uint8Array[] {
  return effectiveSchedule(scheduleAsOfB, certifyingBlock(height, K)).validators;
}

/** The epoch that certifies block `height` (its id computed), given the schedule as of its certifying block. */
export function epochForHeight(height: number, K: number, scheduleAsOfB: ValidatorSchedule, genesisHash: Uint8Array): Epoch {
  const e = effectiveSchedule(scheduleAsOfB, certifyingBlock(height, K));
  return { number: e.epoch, since: e.since, validators: e.validators, id: epochId(e.epoch, genesisHash, e.since, e.validators) };
}

/** Checks a schedule's shape (the app's word is deterministic, but a bad one must not crash the host). */
export function checkSchedule(s: ValidatorSchedule, K: number): void {
  const keys = (v: readonly Uint8Array[]): boolean => v.length >= 1 && v.length <= 64 && v.every((k) => k instanceof Uint8Array && k.length === 32);
  if (!Number.isSafeInteger(s.epoch) || s.epoch < 0 || !Number.isSafeInteger(s.since) || s.since < 0 || !keys(s.validators)) {
    throw new EpochError('bad-schedule', 'a schedule names an epoch, its first block and 1 to 64 32-byte keys');
  }
  if (s.since % K !== 0) throw new EpochError('bad-schedule', 'an epoch starts at a multiple of the checkpoint interval');
  if (s.next && (!keys(s.next.validators) || !Number.isSafeInteger(s.next.at) || s.next.at % K !== 0 || s.next.at <= s.since)) {
    throw new EpochError('bad-schedule', 'a scheduled change takes effect at a later multiple of the checkpoint interval');
  }
}

/**
 * The epochs a node has seen, oldest first: epoch 0 from genesis, then one per change it observed in the
 * state it executed (or was proven). `observe` takes the schedule after every block that is a multiple of K
 * and says when an epoch begins there.
 */
export class EpochHistory {
  private readonly epochs: Epoch[];

  constructor(
    first: Epoch,
    readonly K: number,
    readonly genesisHash: Uint8Array,
  ) {
    if (!Number.isSafeInteger(K) || K < 1) throw new EpochError('bad-interval', 'the checkpoint interval is a positive integer');
    this.epochs = [first];
  }

  get current(): Epoch {
    return this.epochs[this.epochs.length - 1]!;
  }

  all(): readonly Epoch[] {
    return this.epochs;
  }

  /**
   * The schedule as of block `height` (a multiple of K): returns the epoch that starts at `height` if the
   * schedule makes one (its effective epoch is newer than the current one), else null.
   */
  observe(height: number, schedule: ValidatorSchedule): Epoch | null {
    if (height % this.K !== 0) return null;
    checkSchedule(schedule, this.K);
    const e = effectiveSchedule(schedule, height);
    const cur = this.current;
    if (e.epoch <= cur.number) return null;
    if (e.epoch !== cur.number + 1 || e.since <= cur.since || e.since > height) {
      throw new EpochError('not-sequential', `epoch ${e.epoch} since ${e.since} does not follow epoch ${cur.number} since ${cur.since}`);
    }
    const next: Epoch = { number: e.epoch, since: e.since, validators: e.validators.map((k) => k.slice()), id: epochId(e.epoch, this.genesisHash, e.since, e.validators) };
    this.epochs.push(next);
    return next;
  }

  /** Adds an epoch proven elsewhere (a stored or transferred state), replacing nothing already known. */
  adopt(epoch: Epoch): void {
    const cur = this.current;
    if (epoch.number <= cur.number) return;
    if (epoch.since <= cur.since) throw new EpochError('not-sequential', 'a later epoch starts after the current one');
    this.epochs.push(epoch);
  }

  /** The epoch that certifies block `height`, as far as this history knows (the newest one whose since < height). */
  epochOf(height: number): Epoch {
    for (let i = this.epochs.length - 1; i > 0; i--) if (this.epochs[i]!.since < height) return this.epochs[i]!;
    return this.epochs[0]!;
  }

  /** The epoch with this number, if known. */
  byNumber(n: number): Epoch | undefined {
    return this.epochs.find((e) => e.number === n);
  }

  /** Whether `key` is a validator of `epoch`; its index, or -1. */
  static indexOf(epoch: Epoch, key: Uint8Array): number {
    return epoch.validators.findIndex((k) => equalBytes(k, key));
  }
}
