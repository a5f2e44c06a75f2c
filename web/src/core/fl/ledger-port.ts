// The small port through which the AI layer uses the node's ledger. The clinic node implements it over its
// ConsensusNode (PBFT) and its contracts; the FL command and the tests implement it over a simulated
// consortium (sim-consortium.ts), with a MemoryLedger or with real ConsensusNode replicas.
import type { ApplyResult } from '../ledger/app.ts';
import type { HygeiaContracts } from '../ledger/contracts/index.ts';

export interface CommittedHead {
  readonly height: number;
  /** The block's agreed time (ms): the only clock the contracts read. */
  readonly time: number;
}

export interface CommittedBlock extends CommittedHead {
  /** The transactions the contracts applied (their signed bytes, accepted or refused), in block order. */
  readonly txs: readonly Uint8Array[];
}

export interface LedgerPort {
  /**
   * Submits a signed transaction to consensus and resolves with the contracts' verdict once it is committed.
   * Rejects with a LedgerPortError when it cannot be committed (timeout, node stopped).
   */
  submit(tx: Uint8Array): Promise<ApplyResult>;
  /** Called after every committed block has been applied to the contracts; returns the unsubscribe function. */
  onCommitted(fn: (block: CommittedBlock) => void): () => void;
  /** Read access to the committed contract state (never write through it). */
  contracts(): HygeiaContracts;
  /** Height and agreed time of the last committed block (height 0, time 0 before the first). */
  head(): CommittedHead;
  /** The node's clock (ms): what transaction expiries (notAfter) count from. */
  now(): number;
}

export class LedgerPortError extends Error {
  override readonly name = 'LedgerPortError';
  constructor(
    readonly code: 'timeout' | 'stopped',
    message: string,
  ) {
    super(message);
  }
}

/** Submits and turns a contract refusal into a typed error (for flows that cannot continue without the tx). */
export async function submitOrThrow(port: LedgerPort, tx: Uint8Array, what: string): Promise<void> {
  const res = await port.submit(tx);
  if (!res.ok) throw new LedgerRefusal(what, res.reason);
}

export class LedgerRefusal extends Error {
  override readonly name = 'LedgerRefusal';
  constructor(
    readonly what: string,
    readonly reason: string,
  ) {
    super(`the ledger refused ${what}: ${reason}`);
  }
}
