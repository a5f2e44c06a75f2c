// The ledger's contracts: membership, consent, agreements, access, anchors (see DESIGN.md "Ledger and contracts").
export { HygeiaContracts, ContractRejection, ROLES, BREAK_GLASS_PURPOSE, ACCESS_TTL_MS } from './state.ts';
export type { AccessDecision, AgreementRecord, AnchorRecord, ConsentRecord, DenyReason, GenesisOrg, KeyRecord, RejectReason, ReleaseRecord, Role } from './state.ts';
export { SCHEMAS, TX_DOMAIN, TX_VERSION, TxAuthor, TxDecodeError, decodeTx, encodeBody, encodeSigned, verifySignature } from './tx.ts';
export type { Payload, Tx, TxKind, TxSigner, DecodedTx } from './tx.ts';
export { consentFromFhir, consentToFhir, decisionToAuditEvent, ConsentMappingError } from './fhir.ts';
export { MemoryLedger, LedgerChainError, verifyInclusion } from './memory-ledger.ts';
export type { Committed } from './memory-ledger.ts';
export { LedgerReplica, ReplicaError } from './replica.ts';
export type { ReplicaOptions } from './replica.ts';
export { auditTrail, verifyAuditEntry } from './audit.ts';
export { FL_RULES, PROBATION_ROUNDS, MAX_FL_UPDATE_BYTES, MODEL_SPEC, FlReader } from './fl.ts';
export type { FlRejectReason, FlRoundRecord, FlRule, FlTaskRecord, FlUpdateRecord } from './fl.ts';
export { ReportsReader, REPORT_WINDOW_MS, MAX_REPORT_AGE_MS } from './reports.ts';
export type { CaseRecord, ReportRecord, ReportRejectReason, TrustRecord } from './reports.ts';
export type { AuditEntry } from './audit.ts';
export { releaseRecords, ReleaseError } from './release.ts';
export type { ReleaseRefusal } from './release.ts';
