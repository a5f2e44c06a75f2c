// The audit trail of one patient, reconstructed from the ledger alone: the blocks are replayed from
// genesis through a fresh replica (so every decision is recomputed, not taken on trust), and every consent
// change, access decision, release and break-glass review concerning the patient is listed in ledger
// order with what it needs to be checked against its block: the header, the transaction and its Merkle path.
import type { Block, BlockHeader } from '../block.ts';
import { blockHash, txProof } from '../block.ts';
import { verifyTxProof } from '../verify.ts';
import { decodeTx, type TxKind } from './tx.ts';
import { LedgerReplica, type LedgerReplicaOptions } from './replica.ts';
import type { GenesisOrg } from './contracts.ts';
import type { AccessDecision } from './access.ts';
import { equalBytes, toHex } from '../../util/index.ts';

export interface AuditEntry {
  readonly height: number;
  readonly index: number;
  readonly time: number;
  readonly kind: TxKind;
  /** The consent or request the entry is about. */
  readonly subject: string;
  /** For an access request: the decision as the contracts made it (its auditEvent is the FHIR AuditEvent). */
  readonly decision?: AccessDecision;
  readonly signer: string;
  readonly header: BlockHeader;
  readonly blockHash: string;
  readonly tx: Uint8Array;
  readonly path: Uint8Array[];
}

const AUDITED: readonly TxKind[] = ['grantConsent', 'revokeConsent', 'requestAccess', 'recordRelease', 'reviewBreakGlass'];

/** `opts` as for LedgerReplica: over PBFT blocks, the validator keys and the host's `clientPayload`. */
export function auditTrail(blocks: readonly Block[], orgs: readonly GenesisOrg[], patient: string, opts: LedgerReplicaOptions = {}): AuditEntry[] {
  const replica = new LedgerReplica(orgs, opts);
  const out: AuditEntry[] = [];
  replica.sync(blocks, ({ block, index, result }) => {
    if (!result.ok) return;
    const { tx } = decodeTx(replica.payloadOf(block.txs[index]!)!);
    if (!AUDITED.includes(tx.kind)) return;
    let subject: string;
    let decision: AccessDecision | undefined;
    const app = replica.app;
    switch (tx.kind) {
      case 'grantConsent':
        if (tx.payload.patient !== patient) return;
        subject = tx.payload.consentId;
        break;
      case 'revokeConsent':
        if (app.consent(tx.payload.consentId)?.patient !== patient) return;
        subject = tx.payload.consentId;
        break;
      case 'requestAccess':
        if (tx.payload.patient !== patient) return;
        subject = tx.payload.requestId;
        decision = structuredClone(app.decision(subject));
        break;
      case 'recordRelease':
      case 'reviewBreakGlass':
        if (app.decision(tx.payload.requestId)?.patient !== patient) return;
        subject = tx.payload.requestId;
        break;
      default:
        return;
    }
    out.push({
      height: block.header.height,
      index,
      time: block.header.time,
      kind: tx.kind,
      subject,
      ...(decision === undefined ? {} : { decision }),
      signer: toHex(tx.signer),
      header: block.header,
      blockHash: toHex(blockHash(block.header)),
      tx: block.txs[index]!,
      path: txProof(block, index).path,
    });
  });
  return out;
}

/** True iff the entry's transaction is in the block its header describes, and that header hashes to `expectedBlockHash`. */
export function verifyAuditEntry(entry: AuditEntry, expectedBlockHash: Uint8Array): boolean {
  if (!equalBytes(blockHash(entry.header), expectedBlockHash)) return false;
  return verifyTxProof(entry.header, entry.tx, { height: entry.height, index: entry.index, path: entry.path });
}
