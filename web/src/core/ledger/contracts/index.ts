// The ledger's contracts: membership, consent, agreements, access and break-glass, anchors, patients (see
// README.md beside this file). This is the subsystem's face: import from here.
export { HygeiaContracts, ContractsGenesisError } from './contracts.ts';
export type { ContractsGenesis, GenesisAgreement, GenesisOrg, KeyView, PatientLog, ProposalView, TxOutcome } from './contracts.ts';
export type { TxRejectReason } from './state-core.ts';
export type { KeyRecord, OrgRecord, ProposalRecord, Role } from './membership.ts';
export { CONSENSUS_KEY } from './consensus.ts';
export type { ConsensusLeaf, ValidatorEntry, ValidatorSchedule } from './consensus.ts';
export type { ConsentRecord } from './consent.ts';
export type { AgreementRecord } from './agreements.ts';
export type { AccessDecision, DenyReason, PermitReason, ReleaseRecord } from './access.ts';
export { BREAK_GLASS_PURPOSE, EMERGENCY_REASONS } from './break-glass.ts';
export type { EmergencyPolicy, EvidenceRecord } from './break-glass.ts';
export type { AnchorRecord } from './anchors.ts';
export { patientLogHead } from './patients.ts';
export type { ErasureRecord, PatientEvent, PatientLeaf, SelfAccessRecord } from './patients.ts';
export { STATE_TREE_DEPTH, StateProofDecodeError, decodeStateProofPath, encodeStateProofPath, verifyStateProof } from './state-tree.ts';
export type { StateProof, StateProofEntry, StateProofPath } from './state-tree.ts';
export {
  DEFAULT_TX_LIFETIME_MS,
  MAX_ANCHORS_PER_TX,
  MAX_TX_BYTES,
  MAX_TX_LIFETIME_MS,
  SCHEMAS,
  TX_DOMAIN,
  TX_VERSION,
  TxAuthor,
  TxDecodeError,
  decodeTx,
  encodeBody,
  encodeSigned,
  txId,
  verifySignature,
} from './tx.ts';
export type { AnchorEntry, DecodedTx, Payload, Tx, TxAuthorOptions, TxKind, TxSigner } from './tx.ts';
export { consentFromFhir, consentToFhir, decisionToAuditEvent, ConsentMappingError } from './fhir.ts';
export { MemoryLedger } from './memory-ledger.ts';
export type { Committed } from './memory-ledger.ts';
export { LedgerReplica, LedgerReplicaError } from './replica.ts';
export type { ExecutedTx, LedgerReplicaOptions, LedgerReplicaRefusal } from './replica.ts';
export { auditTrail, verifyAuditCompleteness, verifyAuditEntry } from './audit.ts';
export { FL_DECLINE_REASONS, FL_RULES, PROBATION_ROUNDS, MAX_FL_UPDATE_BYTES, MODEL_SPEC, FlReader } from './fl.ts';
export type { FlDeclineReason, FlRejectReason, FlRoundRecord, FlRule, FlTaskRecord, FlUpdateRecord } from './fl.ts';
export { ReportsReader, REPORT_WINDOW_MS, MAX_REPORT_AGE_MS } from './reports.ts';
export type { CaseRecord, ReportRecord, ReportRejectReason, TrustRecord } from './reports.ts';
export type { AuditEntry } from './audit.ts';
export { releaseRecords, ReleaseError } from './release.ts';
export type { ReleaseRefusal, ReleaseSource } from './release.ts';
