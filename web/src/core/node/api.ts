/// <reference types="fhir" />
// The node's public API: what the screens call and what `window.hygeia` exposes to end-to-end tests. The clinic
// tablet runs a `ClinicNode` (a consortium validator), the patient's phone a `PatientClient` (a light client).
// Everything here is plain data (structured-cloneable), so the node can live in a worker behind comlink.
// Members named by the issues are kept exactly; the rest are for the screens.

import type { FlRoundView } from '../fl/index.ts';
import type { PatientChartData, PatientListEntry, ReceivedRecords } from '../records/index.ts';

export type NodeRole = 'clinic' | 'patient';

/** The ledger as this node sees it. `headHash` is hex; `validators` are the validator clinics' names. */
export interface LedgerSummary {
  readonly height: number;
  readonly headHash: string;
  readonly view: number;
  readonly validators: string[];
}

/** A plain-words state for the screens' status line. */
export type NodeStatus =
  | 'locked' // waiting for the staff passphrase / the patient's unlock
  | 'starting'
  | 'not-member' // this tablet's key is not (yet) a member on the ledger: admission pending
  | 'syncing' // catching up with the ledger
  | 'ready'
  | 'offline' // no relay: the last known state is shown
  | 'failed';

export interface NodeSnapshotBase {
  readonly role: NodeRole;
  /** Clinic: the clinic's name on the ledger (`clinic-N` in development). Patient: the name the clinic linked. */
  readonly name: string;
  /** Names of the peers connected now (clinic names; phones are `patient:<first 8 hex of key>`). */
  readonly peers: string[];
  readonly ledger: LedgerSummary;
  readonly status: NodeStatus;
  /** Hex Ed25519 public key of this device. */
  readonly publicKey: string;
  readonly relay: 'idle' | 'connecting' | 'connected' | 'disconnected';
  /** A plain-words reason when status is 'failed' or a recent operation failed (never a stack trace). */
  readonly problem: string | null;
}

export interface ClinicSnapshot extends NodeSnapshotBase {
  readonly role: 'clinic';
  readonly orgId: string;
  readonly validator: boolean;
  /** The current primary's clinic name, when known. */
  readonly primary: string | null;
  readonly epoch: number;
  /** Highest height whose attestation certificate this node holds. */
  readonly attestedHeight: number;
  /** Transactions submitted by this node and not yet committed. */
  readonly pendingTransactions: number;
  /** Imports a closed page interrupted (nothing of them was kept). */
  readonly interruptedImports: InterruptedImport[];
  /** Unreviewed security alerts raised by this node. */
  readonly openAlerts: number;
}

export interface PatientSnapshot extends NodeSnapshotBase {
  readonly role: 'patient';
  readonly links: PatientLink[];
  /** A consult a clinic has started and is waiting for this phone to join. */
  readonly consultInvite: { consultId: string; clinic: string; startedAt: number } | null;
}

// ---- records ------------------------------------------------------------------------------------------------

export interface ImportProgress {
  readonly phase: 'validating' | 'encrypting' | 'storing' | 'anchoring';
  readonly done: number;
  readonly total: number;
}

export interface ImportRejection {
  /** Position of the entry in the bundle, or -1 for the whole bundle. */
  readonly index: number;
  readonly resourceType: string;
  /** Plain-words reason (never the resource's content). */
  readonly reason: string;
}

export interface ImportResult {
  readonly imported: Record<string, number>;
  readonly rejected: ImportRejection[];
  /** Anchors committed on the ledger for this import (0 until committed when `waitForAnchors` is false). */
  readonly anchored?: number;
  readonly patients?: string[];
}

export interface InterruptedImport {
  readonly startedAt: number;
  readonly entries: number;
  readonly label: string;
}

export interface PatientQuery {
  /** Matches name (any part), birth date (YYYY, YYYY-MM or YYYY-MM-DD) or an identifier value. */
  readonly text?: string;
  readonly limit?: number;
}

/** A patient in the clinic's list (`counts`: resources held per type); the record store's entry. */
export type PatientSummary = PatientListEntry;

/** A patient's chart: the record store's data for it. */
export type PatientChart = PatientChartData;

// ---- ledger views -------------------------------------------------------------------------------------------

export type PurposeOfUse = string; // HL7 PurposeOfUse: TREAT, ETREAT, HPAYMT, HOPERAT, HRESCH, PUBHLTH …

export interface GrantedConsent {
  readonly consentId: string;
  /** The patient's pseudonym on the ledger (the holder's keyed hash). */
  readonly patient: string;
  /** The holding clinic's name. */
  readonly holder: string;
  readonly purpose: PurposeOfUse;
  readonly resourceTypes: string[];
}

export interface ConsentView extends GrantedConsent {
  readonly grantee: string;
  readonly start: number;
  readonly end: number;
  readonly revoked: boolean;
  readonly grantedAt: number;
  /** 'patient' or 'guardian'. */
  readonly grantedBy: string;
}

export interface AccessRequest {
  /** The holding clinic's name. */
  readonly holder: string;
  /** The patient's pseudonym as the holder's consents name it. */
  readonly patient: string;
  readonly purpose: PurposeOfUse;
  readonly resourceTypes: string[];
  /** Break-glass: needs `reason`; allowed only where the holder's emergency policy or an agreement allows it. */
  readonly breakGlass?: boolean;
  readonly reason?: string;
}

export interface AccessResult {
  readonly decision: 'permit' | 'deny';
  readonly reason: string;
  /** Resources received from the holder and verified against its committed anchors (0 when denied). */
  readonly resources: number;
  readonly requestId: string;
  readonly grantedTypes?: string[];
}

export interface AccessView {
  readonly requestId: string;
  readonly time: number;
  readonly requester: string;
  readonly holder: string;
  readonly patient: string;
  readonly purpose: PurposeOfUse;
  readonly requestedTypes: string[];
  readonly grantedTypes: string[];
  readonly decision: 'permit' | 'deny';
  readonly reason: string;
  readonly breakGlass: boolean;
  /** '' (not reviewed), 'justified' or 'unjustified'. */
  readonly reviewed: string;
  readonly released: number;
  readonly height: number;
}

export type { ReceivedRecords };

export interface AgreementView {
  readonly agreementId: string;
  readonly partner: string;
  readonly purposes: PurposeOfUse[];
  readonly end: number;
  readonly state: 'proposed-by-us' | 'awaiting-our-signature' | 'active' | 'ended' | 'expired';
  /** Whether it allows break-glass access to the other clinic's patients. */
  readonly emergency: boolean;
}

export interface BlockView {
  readonly height: number;
  readonly hash: string;
  readonly time: number;
  readonly txCount: number;
  /** Commit certificate checked here against the validators of its epoch. */
  readonly certified: boolean;
  /** Attestation certificate (covers the state root) held and checked here. */
  readonly attested: boolean;
}

export interface ValidatorView {
  readonly name: string;
  readonly publicKey: string;
  readonly trust: number;
  readonly primary: boolean;
  readonly connected: boolean;
}

export interface MembershipProposalView {
  readonly org: string;
  readonly kind: 'admit' | 'remove';
  readonly validator: boolean;
  readonly publicKey: string;
  readonly approvals: string[];
  readonly needed: number;
}

export interface ConsortiumView {
  readonly validators: ValidatorView[];
  readonly members: { name: string; validator: boolean }[];
  readonly view: number;
  readonly epoch: number;
  readonly height: number;
  readonly recentBlocks: BlockView[];
  readonly proposals: MembershipProposalView[];
  readonly relay: NodeSnapshotBase['relay'];
  readonly peers: { name: string; connected: boolean }[];
}

// ---- the AI security layer (package H refines these shapes) ------------------------------------------------

export interface AlertView {
  readonly id: string;
  readonly time: number;
  readonly subject: string;
  readonly detector: 'access' | 'network' | 'update';
  readonly score: number;
  /** Which feature, how far from normal, against which baseline, in plain words. */
  readonly reasons: { feature: string; value: number; baseline: number; deviation: number; text: string }[];
  readonly reported: boolean;
}

export interface TrustPoint {
  readonly height: number;
  readonly scores: Record<string, number>;
}

export interface RoundOptions {
  /** '' or 'records-new-diagnosis' (the task this clinic's records feed). */
  readonly task: string;
  readonly model: 'logreg' | 'mlp' | 'conv1d';
  /** One of the contracts' FL_RULES: 'fedavg', 'clipped', 'trimmed' (default), 'median', 'krum' ('dp-mean' with dpEpsilon). */
  readonly rule: string;
  readonly rounds: number;
  readonly dpEpsilon?: number;
}

/** A round as the screens show it: the federated service's view of it (the same fields, explained there), and
 * the task's settings and history. */
export interface RoundView extends Pick<
  FlRoundView,
  'roundId' | 'task' | 'round' | 'state' | 'participants' | 'flagged' | 'accuracy' | 'loss' | 'localAccuracy' | 'aggregateDigest' | 'declined' | 'epsilon'
> {
  readonly model: RoundOptions['model'];
  readonly rule: string;
  readonly totalRounds: number;
  /** Per finished round: the global model's accuracy and loss, and this clinic's local-only model's accuracy. */
  readonly history: { round: number; accuracy: number; loss: number; localAccuracy: number }[];
}

// ---- consults and wearables -----------------------------------------------------------------------------

export interface ConsultView {
  readonly consultId: string;
  readonly patient: string;
  readonly clinic: string;
  readonly startedAt: number;
  readonly endedAt: number | null;
  readonly mode: 'video' | 'audio' | 'chat';
  readonly encounterId: string | null;
}

export interface ConsultState {
  readonly phase: 'connecting' | 'live' | 'ended' | 'failed';
  readonly mode: 'video' | 'audio' | 'chat';
  /** Why the mode is lower than asked (a weak link, no camera), in plain words. */
  readonly modeReason: string | null;
  readonly remote: MediaStream | null;
  readonly messages: { from: string; text: string; time: number }[];
}

/** A live consult (main thread only: a MediaStream cannot cross to a worker). */
export interface ConsultSession {
  readonly consultId: string;
  state(): ConsultState;
  subscribe(fn: (s: ConsultState) => void): () => void;
  sendChat(text: string): void;
  /** Ends the consult; the clinic records it as an Encounter (class virtual) anchored on the ledger. */
  end(): Promise<{ encounterId: string | null }>;
}

export interface HeartRateReading {
  readonly time: number;
  readonly bpm: number;
}

// ---- the two roles ------------------------------------------------------------------------------------------

export interface ClinicApi {
  snapshot(): ClinicSnapshot;
  subscribe(fn: (s: ClinicSnapshot) => void): () => void;

  importBundle(bundle: unknown, opts?: { onProgress?: (p: ImportProgress) => void }): Promise<ImportResult>;
  patients(query?: PatientQuery): Promise<PatientSummary[]>;
  patientChart(patientId: string): Promise<PatientChart>;
  /** A one-time code (text; the screen draws it as a QR code too) that links a phone to this patient. */
  enrolPatient(patientId: string, opts?: { guardian?: boolean }): Promise<{ code: string; expiresAt: number }>;
  erasePatient(patientId: string): Promise<void>;
  /** The consents and access decisions on the ledger about one of this clinic's patients. */
  patientLedger(patientId: string): Promise<{ consents: ConsentView[]; accesses: AccessView[] }>;
  erasureRequests(): Promise<{ patientId: string; name: string; requestedAt: number }[]>;
  /** Record commitments a clinic (this one by default; by name) has anchored on the committed ledger. */
  anchoredRecords(holder?: string): Promise<number>;

  consentsGranted(): Promise<GrantedConsent[]>;
  requestAccess(req: AccessRequest): Promise<AccessResult>;
  received(): Promise<ReceivedRecords[]>;
  accessLog(): Promise<AccessView[]>;
  reviewQueue(): Promise<AccessView[]>;
  reviewBreakGlass(requestId: string, verdict: 'justified' | 'unjustified'): Promise<void>;

  agreements(): Promise<AgreementView[]>;
  proposeAgreement(a: { partner: string; purposes: PurposeOfUse[]; end: number; emergency?: boolean }): Promise<{ agreementId: string }>;
  signAgreement(agreementId: string): Promise<void>;
  endAgreement(agreementId: string): Promise<void>;

  consortium(): Promise<ConsortiumView>;
  proposeMember(m: { name: string; publicKey: string; validator: boolean }): Promise<void>;
  approveMember(org: string): Promise<void>;
  proposeRemoval(org: string): Promise<void>;
  approveRemoval(org: string): Promise<void>;

  alerts(): Promise<AlertView[]>;
  trustHistory(): Promise<TrustPoint[]>;
  startRound(opts: RoundOptions): Promise<RoundView>;
  joinRound(roundId: string): Promise<RoundView>;
  rounds(): Promise<RoundView[]>;

  /** Refused with NodeError('rejected') unless the patient's treatment consent to this clinic is live. */
  startConsult(patientId: string, opts: { media: MediaStream | null }): Promise<ConsultSession>;
  consults(): Promise<ConsultView[]>;
  recordHeartRate(patientId: string, readings: HeartRateReading[]): Promise<{ stored: number }>;
}

export interface PatientLink {
  readonly clinic: string;
  /** The patient's pseudonym at that clinic (what consents and the audit trail name). */
  readonly pseudonym: string;
  readonly displayName: string;
  readonly role: 'patient' | 'guardian';
  readonly linkedAt: number;
}

export interface AuditEntryView {
  readonly time: number;
  /** The requesting clinic's name. */
  readonly actor: string;
  readonly purpose: PurposeOfUse;
  readonly decision: 'permit' | 'deny';
  /** True only when this phone checked the entry itself: attested header, state proof, completeness. */
  readonly verified: boolean;
  readonly requestId: string;
  readonly holder: string;
  readonly resourceTypes: string[];
  readonly breakGlass: boolean;
  readonly reason: string;
  readonly released: number;
}

export interface PatientApi {
  snapshot(): PatientSnapshot;
  subscribe(fn: (s: PatientSnapshot) => void): () => void;
  link(code: string): Promise<PatientLink>;
  grantConsent(c: { grantee: string; purpose: PurposeOfUse; resourceTypes: string[]; end: number; start?: number; clinic?: string }): Promise<{ consentId: string }>;
  revokeConsent(consentId: string): Promise<void>;
  consents(): Promise<ConsentView[]>;
  auditTrail(): Promise<{ entries: AuditEntryView[] }>;
  myRecords(): Promise<{ clinic: string; resources: fhir4.Resource[] }[]>;
  requestErasure(clinic?: string): Promise<void>;
  joinConsult(consultId: string, opts: { media: MediaStream | null }): Promise<ConsultSession>;
  declineConsult(consultId: string): Promise<void>;
  consults(): Promise<ConsultView[]>;
}

/** A typed failure the screens show in plain words. */
export class NodeError extends Error {
  override readonly name = 'NodeError';
  constructor(
    readonly code: 'locked' | 'wrong-passphrase' | 'not-member' | 'not-linked' | 'bad-code' | 'rejected' | 'timeout' | 'offline' | 'not-found' | 'invalid' | 'busy',
    message: string,
  ) {
    super(message);
  }
}
