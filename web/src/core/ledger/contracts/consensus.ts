// The validator set as the ledger decides it: the `consensus` leaf, and which validators certify which block.
//
// A committed change of the validator set at block c takes effect at the next checkpoint,
// at = ceil(c / K) * K (a change in a block that is itself a multiple of K takes effect at that block),
// recorded as `next`. The validators that certify block h are those of the leaf as of block
// B = floor((h-1)/K) * K, reading `next` when next.at <= B, so every replica switches at the same sequence
// number. The leaf folds `next` into the current set at the first transaction after next.at (any later
// point gives the same answer for every h, which is why this lazy step is safe).
import { fromHex } from '../../util/index.ts';
import type { StateCore } from './state-core.ts';

export interface ValidatorEntry {
  org: string;
  /** Hex Ed25519 public key: the organisation's node key (its first admin key). */
  key: string;
}

export interface ConsensusLeaf {
  epoch: number;
  validators: ValidatorEntry[];
  /** The height from which `validators` certify blocks (0 for genesis). */
  since: number;
  next: { validators: ValidatorEntry[]; at: number } | null;
}

/** What the consensus host needs to run the replica of the right epoch. */
export interface ValidatorSchedule {
  readonly epoch: number;
  readonly validators: Uint8Array[];
  readonly since: number;
  readonly next: { readonly validators: Uint8Array[]; readonly at: number } | null;
}

export const CONSENSUS_KEY = 'consensus';
/** { checkpointInterval }: fixed at genesis. */
export const PARAMS_KEY = 'params';

export interface ParamsLeaf {
  checkpointInterval: number;
}

export function consensusLeaf(s: StateCore): ConsensusLeaf {
  const c = s.get<ConsensusLeaf>(CONSENSUS_KEY);
  if (c === undefined) throw new Error('contracts state has no consensus leaf');
  return c;
}

function checkpointInterval(s: StateCore): number {
  return s.get<ParamsLeaf>(PARAMS_KEY)!.checkpointInterval;
}

/** The validator set the latest committed change leads to (next if one is pending). */
export function latestValidators(s: StateCore): ValidatorEntry[] {
  const c = consensusLeaf(s);
  return (c.next ?? c).validators;
}

/** Folds a pending change into the current set once its block has passed (before applying block `height`'s transactions). */
export function rollEpoch(s: StateCore, height: number): void {
  const c = consensusLeaf(s);
  if (c.next !== null && c.next.at < height) s.put(CONSENSUS_KEY, { epoch: c.epoch + 1, validators: c.next.validators, since: c.next.at, next: null } satisfies ConsensusLeaf);
}

/** Schedules `validators` as the set from the next checkpoint after block `height`. */
export function scheduleValidators(s: StateCore, validators: ValidatorEntry[], height: number): void {
  const k = checkpointInterval(s);
  const c = consensusLeaf(s);
  s.put(CONSENSUS_KEY, { ...c, next: { validators, at: Math.ceil(height / k) * k } } satisfies ConsensusLeaf);
}

/** The validators (as the state now stands, having executed block height-1 or later) that certify block `height`. */
export function validatorsForHeight(s: StateCore, height: number): ValidatorEntry[] {
  const k = checkpointInterval(s);
  const b = Math.floor((height - 1) / k) * k;
  const c = consensusLeaf(s);
  return c.next !== null && c.next.at <= b ? c.next.validators : c.validators;
}

export function scheduleOf(s: StateCore): ValidatorSchedule {
  const c = consensusLeaf(s);
  const keys = (v: ValidatorEntry[]): Uint8Array[] => v.map((x) => fromHex(x.key, 32));
  return { epoch: c.epoch, validators: keys(c.validators), since: c.since, next: c.next === null ? null : { validators: keys(c.next.validators), at: c.next.at } };
}
