// The audit trail of one patient, reconstructed from the ledger alone: the blocks are replayed from genesis
// through a fresh replica (which checks every block's commit certificate against the validators of its
// height and recomputes every decision), and every event of the patient's completeness log (consents,
// access decisions, releases, break-glass reviews, erasure, self-access) is listed in ledger order with what
// it needs to be checked against its block: the header, the transaction and its Merkle path.
//
// Completeness: verifyAuditCompleteness recomputes the patient's log head over the entries, so entries
// checked against a `patient/<pseudonym>` leaf proven against an attested state root (stateProof,
// verifyStateProof) are known to be all of them, in order.
import type { Block, BlockHeader } from '../block.ts';
import { blockHash, txProof } from '../block.ts';
import { verifyTxProof } from '../verify.ts';
import { decodeTx, txId, type TxKind } from './tx.ts';
import { LedgerReplica, type LedgerReplicaOptions } from './replica.ts';
import type { ContractsGenesis } from './contracts.ts';
import type { AccessDecision } from './access.ts';
import { patientLogHeadOf, type PatientLeaf } from './patients.ts';
import { equalBytes, fromHex, toHex } from '../../util/index.ts';

export interface AuditEntry {
  /** Position in the patient's completeness log, from 0. */
  readonly n: number;
  readonly height: number;
  readonly index: number;
  readonly time: number;
  readonly kind: TxKind;
  /** The consent, request or erasure the entry is about. */
  readonly subject: string;
  /** For an access request: the decision as the contracts hold it now. */
  readonly decision?: AccessDecision;
  readonly signer: string;
  readonly header: BlockHeader;
  readonly blockHash: string;
  /** The block's transaction (for PBFT blocks, the client request carrying the contract transaction). */
  readonly tx: Uint8Array;
  readonly path: Uint8Array[];
}

/** `opts` as for LedgerReplica: over PBFT blocks, the host's `clientPayload`. Throws LedgerReplicaError on a bad block. */
export function auditTrail(blocks: readonly Block[], genesis: ContractsGenesis, patient: string, opts: LedgerReplicaOptions = {}): AuditEntry[] {
  const replica = new LedgerReplica(genesis, opts);
  replica.sync(blocks);
  const byHeight = new Map(blocks.map((b) => [b.header.height, b]));
  return replica.app.patientLog(patient).events.map((e) => {
    const block = byHeight.get(e.height)!;
    const tx = block.txs[e.index]!;
    const decision = e.kind === 'requestAccess' ? replica.app.decision(e.ref) : undefined;
    return {
      n: e.n,
      height: e.height,
      index: e.index,
      time: block.header.time,
      kind: e.kind,
      subject: e.ref,
      ...(decision === undefined ? {} : { decision: structuredClone(decision) }),
      signer: toHex(decodeTx(replica.payloadOf(tx)!).tx.signer),
      header: block.header,
      blockHash: toHex(blockHash(block.header)),
      tx,
      path: txProof(block, e.index).path,
    };
  });
}

/** True iff the entry's transaction is in the block its header describes, and that header hashes to `expectedBlockHash`. */
export function verifyAuditEntry(entry: AuditEntry, expectedBlockHash: Uint8Array): boolean {
  if (!equalBytes(blockHash(entry.header), expectedBlockHash)) return false;
  return verifyTxProof(entry.header, entry.tx, { height: entry.height, index: entry.index, path: entry.path });
}

/**
 * True iff `entries` are exactly the events the patient's log leaf counts, in order: their number is the
 * leaf's count and the log head recomputed from their own transactions (kind and id, read from the bytes,
 * not from the entry's labels) is the leaf's head. `payloadOf` as for the replica.
 */
export function verifyAuditCompleteness(
  leaf: Pick<PatientLeaf, 'count' | 'head'>,
  entries: readonly Pick<AuditEntry, 'kind' | 'tx'>[],
  payloadOf: (blockTx: Uint8Array) => Uint8Array | null = (tx) => tx,
): boolean {
  if (entries.length !== leaf.count) return false;
  try {
    const events = entries.map((e) => {
      const payload = payloadOf(e.tx);
      if (payload === null) throw new TypeError('no contract transaction');
      const kind = decodeTx(payload).tx.kind;
      if (kind !== e.kind) throw new TypeError('entry kind differs from its transaction');
      return { kind, txId: txId(payload) };
    });
    return equalBytes(patientLogHeadOf(events), fromHex(leaf.head, 32));
  } catch {
    return false;
  }
}
