// A clinic's own copy of the contracts' state, built only from blocks it checked: each block must extend
// the chain it already holds, its transactions must match the block's root, and re-executing them must
// give the block's state root. What a clinic decides (a release, an audit trail) it decides from this.
import type { ApplyResult } from '../app.ts';
import { blockHash, genesisHash, txRootOfHashes, txHash, type Block } from '../block.ts';
import { HygeiaContracts, type GenesisOrg } from './contracts.ts';
import { equalBytes } from '../../util/index.ts';

export class LedgerReplicaError extends Error {
  override readonly name = 'LedgerReplicaError';
  constructor(
    readonly reason: 'broken-chain' | 'bad-tx-root' | 'state-mismatch',
    message: string,
  ) {
    super(message);
  }
}

export interface ExecutedTx {
  readonly block: Block;
  readonly index: number;
  readonly result: ApplyResult;
}

export interface LedgerReplicaOptions {
  /** The keys the chain's genesis hash is made of: PBFT's validator keys; default the orgs' admin keys (the in-memory ledger). */
  readonly validators?: readonly Uint8Array[];
  /**
   * The contract transaction inside a block transaction, or null if there is none (then it is rejected, as
   * the consensus host rejects it). PBFT blocks hold signed client requests: pass the host's `clientPayload`.
   */
  readonly payloadOf?: (blockTx: Uint8Array) => Uint8Array | null;
}

export class LedgerReplica {
  readonly app: HygeiaContracts;
  private tip: Uint8Array;
  private height = 0;
  private time = 0;
  readonly payloadOf: (blockTx: Uint8Array) => Uint8Array | null;

  constructor(orgs: readonly GenesisOrg[], opts: LedgerReplicaOptions = {}) {
    this.app = new HygeiaContracts(orgs);
    this.tip = genesisHash(opts.validators ?? orgs.map((o) => o.adminKey));
    this.payloadOf = opts.payloadOf ?? ((tx) => tx);
  }

  get syncedHeight(): number {
    return this.height;
  }

  /** Applies the blocks above its height, checking each; calls `onTx` for every executed transaction. */
  sync(blocks: readonly Block[], onTx?: (e: ExecutedTx) => void): void {
    for (const b of blocks) {
      const h = b.header;
      if (h.height <= this.height) continue;
      if (h.height !== this.height + 1 || !equalBytes(h.prevHash, this.tip)) throw new LedgerReplicaError('broken-chain', `block ${h.height} does not extend this replica's chain`);
      if (h.txCount !== b.txs.length || !equalBytes(txRootOfHashes(b.txs.map(txHash)), h.txRoot)) throw new LedgerReplicaError('bad-tx-root', `block ${h.height} transactions do not match its root`);
      const time = Math.max(h.time, this.time);
      b.txs.forEach((tx, index) => {
        const payload = this.payloadOf(tx);
        const result: ApplyResult = payload ? this.app.apply(payload, { height: h.height, index, time }) : { ok: false, reason: 'undecodable' };
        onTx?.({ block: b, index, result });
      });
      if (!equalBytes(this.app.stateRoot(), h.stateRoot)) throw new LedgerReplicaError('state-mismatch', `block ${h.height} state root differs from re-execution`);
      this.tip = blockHash(h);
      this.height = h.height;
      this.time = time;
    }
  }
}
