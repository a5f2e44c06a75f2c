// What the ledger knows per patient pseudonym: which clinic holds the patient (the only one that may
// register the patient's and guardians' keys), a completeness log of everything about the patient, the
// patient's erasure, and the holder's releases of the patient's own records to the patient's phone.
//
// The completeness log: the leaf `patient/<pseudonym>` keeps a count and a running hash over every consent
// grant and revocation, access decision, release, break-glass review, erasure step and self-access about the
// patient, in ledger order; each event is also stored (`plog/<pseudonym>/<n>`) for reads. A phone that holds
// the leaf with a state proof against an attested root recomputes the hash over the entries a clinic serves
// it (patientLogHead) and so sees any omission, addition or reordering.
import { sha256 } from '../../../../../wasm/index.ts';
import { Writer, signingBytes } from '../../codec/index.ts';
import { fromHex, toHex } from '../../util/index.ts';
import { ID, RESOURCE_TYPE, need, type Rule, type RuleContext, type StateCore } from './state-core.ts';
import { isStaff, keyOf } from './membership.ts';
import { SCHEMAS, type TxKind } from './tx.ts';

const PATIENT_LOG_DOMAIN = 'hygeia/contracts/patient-log/v1';
const ZERO = new Uint8Array(32);

export interface PatientLeaf {
  /** The organisation that holds the patient's records ('' until one registers a key for the pseudonym). */
  holder: string;
  /** Events in the log. */
  count: number;
  /** Running hash (hex) after `count` events; 64 zeros for none. */
  head: string;
}

export interface PatientEvent {
  /** Position in the log, from 0. */
  n: number;
  kind: TxKind;
  /** The consent, request or erasure the event is about. */
  ref: string;
  /** The transaction's id (hex sha256 of its signed body). */
  tx: string;
  height: number;
  index: number;
}

export interface ErasureRecord {
  patient: string;
  holder: string;
  status: 'requested' | 'confirmed';
  requestedAt: number;
  /** The patient or guardian key that asked (hex); '' when the holder erased on its own. */
  requestedBy: string;
  confirmedAt: number;
}

/** What a holder's release of records puts on the ledger, to a requester (recordRelease) or to the patient (selfAccess). */
export interface Released {
  /** The distinct resource types released, sorted. */
  resourceTypes: string[];
  count: number;
  /** The transaction's digest of the resources released, hex. */
  digest: string;
  time: number;
  height: number;
  index: number;
}

export interface SelfAccessRecord extends Released {
  patient: string;
  holder: string;
  /** The patient's or guardian's registered key the records went to (hex). */
  device: string;
}

/**
 * The log head after one more event: sha256(signingBytes(PATIENT_LOG_DOMAIN, prev ‖ uint(kind tag) ‖ txId)).
 * Pure: the phone runs it over served entries, from 32 zero bytes.
 */
export function patientLogHead(prev: Uint8Array, kind: TxKind, txId: Uint8Array): Uint8Array {
  if (prev.length !== 32 || txId.length !== 32) throw new TypeError('log heads and transaction ids are 32 bytes');
  const w = new Writer(72);
  w.fixed(prev);
  w.uint(SCHEMAS[kind].tag);
  w.fixed(txId);
  return sha256(signingBytes(PATIENT_LOG_DOMAIN, w.finish()));
}

/** The head of a log of these events in this order (what a complete trail must reproduce). */
export function patientLogHeadOf(events: readonly { kind: TxKind; txId: Uint8Array }[]): Uint8Array {
  let h: Uint8Array = ZERO;
  for (const e of events) h = patientLogHead(h, e.kind, e.txId);
  return h;
}

export const patientLeafOf = (s: StateCore, pseudonym: string): PatientLeaf | undefined => s.get<PatientLeaf>(`patient/${pseudonym}`);
export const erasureOf = (s: StateCore, holder: string, pseudonym: string): ErasureRecord | undefined => s.get<ErasureRecord>(`erasure/${holder}/${pseudonym}`);
const putErasure = (s: StateCore, e: ErasureRecord): void => s.put(`erasure/${e.holder}/${e.patient}`, e);
/** An erasure as its request opens it; by '' when the holder erases on its own (the request is then implied). */
const erasureRequest = (holder: string, patient: string, time: number, by: string): ErasureRecord => ({
  patient,
  holder,
  status: 'requested',
  requestedAt: time,
  requestedBy: by,
  confirmedAt: 0,
});

export function isErased(s: StateCore, holder: string, pseudonym: string): boolean {
  return erasureOf(s, holder, pseudonym)?.status === 'confirmed';
}

function leaf(s: StateCore, pseudonym: string): PatientLeaf {
  return patientLeafOf(s, pseudonym) ?? { holder: '', count: 0, head: toHex(ZERO) };
}

/** Makes `org` the holder of `pseudonym`, or rejects if another organisation holds it. */
export function claimPatient(s: StateCore, pseudonym: string, org: string): void {
  const l = leaf(s, pseudonym);
  need(l.holder === '' || l.holder === org, 'not-holder');
  if (l.holder !== org) s.put(`patient/${pseudonym}`, { ...l, holder: org } satisfies PatientLeaf);
}

/** Appends the transaction being applied to the patient's completeness log. */
export function logPatientEvent(s: StateCore, pseudonym: string, kind: TxKind, ref: string, c: RuleContext): void {
  const l = leaf(s, pseudonym);
  const head = patientLogHead(fromHex(l.head), kind, fromHex(c.txId));
  s.put(`plog/${pseudonym}/${l.count}`, { n: l.count, kind, ref, tx: c.txId, height: c.height, index: c.index } satisfies PatientEvent);
  s.put(`patient/${pseudonym}`, { ...l, count: l.count + 1, head: toHex(head) } satisfies PatientLeaf);
}

/** The Released fields of a release transaction being applied. */
export function released(p: { resourceTypes: readonly string[]; count: number; digest: Uint8Array }, c: RuleContext): Released {
  return { resourceTypes: [...new Set(p.resourceTypes)].sort(), count: p.count, digest: toHex(p.digest), time: c.time, height: c.height, index: c.index };
}

/** The patient's log events in order. */
export function patientEvents(s: StateCore, pseudonym: string): PatientEvent[] {
  return s.list<PatientEvent>(`plog/${pseudonym}`).sort((a, b) => a.n - b.n);
}

const requestErasure: Rule<'requestErasure'> = (tx, c) => {
  const { s, signer, signerHex, time } = c;
  const p = tx.payload;
  need(signer.role === 'patient' || signer.role === 'guardian', 'wrong-role');
  need(signer.subject === p.patient, 'wrong-patient');
  need(erasureOf(s, signer.org, p.patient) === undefined, 'already-done');
  putErasure(s, erasureRequest(signer.org, p.patient, time, signerHex));
  logPatientEvent(s, p.patient, 'requestErasure', p.patient, c);
};

/** The holder says it shredded the patient's keys: asked for or on its own (then the request is implied). */
const confirmErasure: Rule<'confirmErasure'> = (tx, c) => {
  const { s, signer, time } = c;
  const p = tx.payload;
  need(signer.role === 'admin' || signer.role === 'node', 'wrong-role');
  need(ID.test(p.patient), 'malformed');
  need((patientLeafOf(s, p.patient)?.holder ?? '') === signer.org, 'not-holder');
  const e = erasureOf(s, signer.org, p.patient);
  need(e?.status !== 'confirmed', 'already-done');
  putErasure(s, { ...(e ?? erasureRequest(signer.org, p.patient, time, '')), status: 'confirmed', confirmedAt: time });
  logPatientEvent(s, p.patient, 'confirmErasure', p.patient, c);
};

/** The holder released a patient's own records to the patient's registered phone. */
const selfAccess: Rule<'selfAccess'> = (tx, c) => {
  const { s, signer, height, index } = c;
  const p = tx.payload;
  need(isStaff(signer.role), 'wrong-role');
  need(ID.test(p.patient) && p.resourceTypes.every((t) => RESOURCE_TYPE.test(t)), 'malformed');
  need(patientLeafOf(s, p.patient)?.holder === signer.org, 'not-holder');
  const device = keyOf(s, toHex(p.device));
  need(device !== undefined && (device.role === 'patient' || device.role === 'guardian') && device.org === signer.org && device.subject === p.patient, 'unknown-device');
  need(!device.revoked, 'revoked-key');
  s.put(`self-access/${p.patient}/${height}-${index}`, {
    patient: p.patient,
    holder: signer.org,
    device: toHex(p.device),
    ...released(p, c),
  } satisfies SelfAccessRecord);
  logPatientEvent(s, p.patient, 'selfAccess', `${height}-${index}`, c);
};

export const patientRules = { requestErasure, confirmErasure, selfAccess };
