// The seam between consensus and the contracts: consensus orders and commits transactions; the application
// (the contracts) applies them deterministically and summarises its state as a Merkle root.

import type { ValidatorSchedule } from './epoch.ts';

export interface ApplyContext {
  /** Height of the block the transaction is in (1 for the first block). */
  readonly height: number;
  /** Position of the transaction in its block. */
  readonly index: number;
  /** The block's agreed time, milliseconds since the epoch: the only clock contracts may read. */
  readonly time: number;
}

export type ApplyResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

export interface LedgerApp {
  /**
   * Applies one committed transaction's canonical bytes. Deterministic, and never throws on bad input: a
   * transaction that fails verification or a contract rule is rejected with a typed reason and changes nothing.
   */
  apply(tx: Uint8Array, ctx: ApplyContext): ApplyResult;
  /** The 32-byte Merkle root of the application state now. */
  stateRoot(): Uint8Array;
  /** Canonical bytes of the whole state, for state transfer to a replica that fell behind. */
  snapshot(): Uint8Array;
  /** Replaces the state with a snapshot (after the caller checked it against a committed state root). */
  restore(snapshot: Uint8Array): void;
  /**
   * The validator set in the state now (the contracts' `consensus` leaf): the host reads it after every block
   * that is a multiple of the checkpoint interval and switches epochs by it (ledger/epoch.ts). Deterministic in
   * the committed state. An app without it keeps the genesis validators for ever.
   */
  validatorSchedule?(): ValidatorSchedule;
}
