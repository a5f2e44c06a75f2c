// A clinic's (or the relay's) own copy of the contracts' state, built only from blocks it checked: each
// block's commit certificate must hold against the validators of its height (the epoch rule, computed from
// this replica's own state, never from whoever served the blocks), it must extend the chain already held,
// its transactions must match its roots, and re-executing them must give its state root. So a server of
// blocks can withhold them but not forge, reorder or omit any inside the chain it serves.
import type { ApplyResult } from '../app.ts';
import { blockHash, genesisHash, type Block, type BlockHeader } from '../block.ts';
import { epochForHeight } from '../epoch.ts';
import { verifyBlock, type BlockRejectReason, type CertificateVerifier } from '../verify.ts';
import { HygeiaContracts, type ContractsGenesis } from './contracts.ts';
import { ReasonError, equalBytes } from '../../util/index.ts';

export type LedgerReplicaRefusal =
  | 'broken-chain' // does not extend this replica's chain (height, previous hash, genesis)
  | 'bad-block' // its transactions, time or skip list do not match its header
  | 'bad-certificate' // no valid commit certificate from a quorum of that height's validators
  | 'state-mismatch'; // re-execution gives another state root

export class LedgerReplicaError extends ReasonError<LedgerReplicaRefusal> {
  override readonly name = 'LedgerReplicaError';
  constructor(
    reason: LedgerReplicaRefusal,
    /** The block's height and the check that failed. */
    readonly height: number,
    readonly detail: BlockRejectReason | 'state-root',
  ) {
    super(reason, `block ${height} refused: ${reason} (${detail})`);
  }
}

export interface ExecutedTx {
  readonly block: Block;
  readonly index: number;
  /** The contract transaction (the block transaction's payload), or null when there is none. */
  readonly tx: Uint8Array | null;
  readonly result: ApplyResult;
}

export interface LedgerReplicaOptions {
  /**
   * The contract transaction inside a block transaction, or null if there is none (then it is rejected, as
   * the consensus host rejects it). PBFT blocks hold signed client requests: pass the host's `clientPayload`.
   */
  readonly payloadOf?: (blockTx: Uint8Array) => Uint8Array | null;
  /** Verifies a commit certificate; default the replica's own (wasm core). */
  readonly verifyCertificate?: CertificateVerifier;
}

function refusal(reason: BlockRejectReason): LedgerReplicaRefusal {
  if (reason.startsWith('certificate-')) return 'bad-certificate';
  if (reason === 'genesis-mismatch' || reason === 'height-mismatch' || reason === 'prev-hash-mismatch') return 'broken-chain';
  return 'bad-block';
}

export class LedgerReplica {
  readonly app: HygeiaContracts;
  private tip: BlockHeader | null = null;
  readonly payloadOf: (blockTx: Uint8Array) => Uint8Array | null;
  /** The chain's identity: the hash of the genesis validators (block 1's prevHash, part of every epoch id). */
  readonly genesisHash: Uint8Array;

  constructor(
    private readonly genesis: ContractsGenesis,
    private readonly opts: LedgerReplicaOptions = {},
  ) {
    this.app = new HygeiaContracts(genesis);
    this.payloadOf = opts.payloadOf ?? ((tx) => tx);
    this.genesisHash = genesisHash(this.app.validatorSchedule().validators);
  }

  /**
   * A replica resumed from its own earlier verified state: the contracts' snapshot after block `head`. The
   * snapshot must give head's state root (else LedgerReplicaError 'state-mismatch'); the next block must
   * extend `head`. Only for state this replica verified itself (a stored file), never for a peer's word.
   */
  static resume(genesis: ContractsGenesis, snapshot: Uint8Array, head: BlockHeader, opts: LedgerReplicaOptions = {}): LedgerReplica {
    const r = new LedgerReplica(genesis, opts);
    try {
      r.app.restore(snapshot);
    } catch {
      throw new LedgerReplicaError('state-mismatch', head.height, 'state-root');
    }
    if (!equalBytes(r.app.stateRoot(), head.stateRoot)) throw new LedgerReplicaError('state-mismatch', head.height, 'state-root');
    r.tip = head;
    return r;
  }

  get syncedHeight(): number {
    return this.tip?.height ?? 0;
  }

  /** The hash of the last block applied (undefined before the first). */
  get tipHash(): Uint8Array | undefined {
    return this.tip === null ? undefined : blockHash(this.tip);
  }

  /**
   * Applies the blocks above its height, in order, checking each; then calls `onTx` for every transaction
   * the block executed. Throws LedgerReplicaError at the first block that fails a check: the blocks before it
   * stay applied, and the refused block leaves no trace in the state.
   */
  sync(blocks: readonly Block[], onTx?: (e: ExecutedTx) => void): void {
    for (const b of blocks) {
      const h = b.header;
      if (h.height <= this.syncedHeight) continue;
      if (h.height !== this.syncedHeight + 1) throw new LedgerReplicaError('broken-chain', h.height, 'height-mismatch');
      // The schedule as this replica's own state says after block h-1 gives the same epoch as at h's
      // certifying block (a later change only takes effect at a later checkpoint).
      const epoch = epochForHeight(h.height, this.genesis.checkpointInterval, this.app.validatorSchedule(), this.genesisHash);
      const check = verifyBlock(b, epoch.validators, {
        epochId: epoch.id,
        genesisHash: this.genesisHash,
        ...(this.tip ? { prev: this.tip } : {}),
        ...(this.opts.verifyCertificate ? { verifyCertificate: this.opts.verifyCertificate } : {}),
      });
      if (!check.ok) throw new LedgerReplicaError(refusal(check.reason), h.height, check.reason);
      this.app.beginBlock();
      const skipped = new Set(h.skipped);
      const executed: ExecutedTx[] = [];
      b.txs.forEach((blockTx, index) => {
        if (skipped.has(index)) return;
        const tx = this.payloadOf(blockTx);
        const result: ApplyResult = tx ? this.app.apply(tx, { height: h.height, index, time: h.time }) : { ok: false, reason: 'undecodable' };
        executed.push({ block: b, index, tx, result });
      });
      if (!equalBytes(this.app.stateRoot(), h.stateRoot)) {
        this.app.abandonBlock();
        throw new LedgerReplicaError('state-mismatch', h.height, 'state-root');
      }
      this.app.endBlock();
      this.tip = h;
      for (const e of executed) onTx?.(e);
    }
  }
}
