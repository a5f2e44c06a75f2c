// Patients' consents: a patient (or guardian) key grants an organisation, or one of its practitioners, the
// reading of some resource types for a purpose and a period, and revokes it. A consent is about the
// patient's records at the clinic that registered the granting key (its holder): that clinic, and no other
// member, decides who may speak for the patient.
import { ID, RESOURCE_TYPE, need, type Rule, type StateCore } from './state-core.ts';
import { memberOf } from './membership.ts';
import { logPatientEvent, patientEvents } from './patients.ts';

export interface ConsentRecord {
  consentId: string;
  patient: string;
  /** The organisation holding the patient's records: the one that registered the granting key. */
  holder: string;
  granteeOrg: string;
  granteePractitioner: string;
  purpose: string;
  resourceTypes: string[];
  start: number;
  end: number;
  grantedAt: number;
  /** The granting key (hex). */
  grantedBy: string;
  revoked: boolean;
  revokedAt: number;
}

export const PURPOSE = /^[A-Z][A-Z0-9]{1,15}$/;

export const consentOf = (s: StateCore, id: string): ConsentRecord | undefined => s.get<ConsentRecord>(`consent/${id}`);

/** Every consent granted for the patient, in grant order (found through the patient's log, not by a scan). */
export function consentsOfPatient(s: StateCore, pseudonym: string): ConsentRecord[] {
  return patientEvents(s, pseudonym)
    .filter((e) => e.kind === 'grantConsent')
    .map((e) => consentOf(s, e.ref)!);
}

/** In force at `time`: not revoked and within its period. */
export const consentLive = (c: ConsentRecord, time: number): boolean => !c.revoked && c.start <= time && time < c.end;

const grantConsent: Rule<'grantConsent'> = (tx, c) => {
  const { s, signer, signerHex, time } = c;
  const p = tx.payload;
  need(signer.role === 'patient' || signer.role === 'guardian', 'wrong-role');
  need(signer.subject === p.patient, 'wrong-patient');
  need(ID.test(p.consentId) && PURPOSE.test(p.purpose) && (p.granteePractitioner === '' || ID.test(p.granteePractitioner)), 'malformed');
  need(p.resourceTypes.length > 0 && p.resourceTypes.every((t) => RESOURCE_TYPE.test(t)), 'malformed');
  need(consentOf(s, p.consentId) === undefined, 'duplicate');
  need(memberOf(s, p.granteeOrg) !== undefined, 'unknown-org');
  need(p.start < p.end, 'bad-period');
  s.put(`consent/${p.consentId}`, {
    ...p,
    holder: signer.org,
    resourceTypes: [...new Set(p.resourceTypes)].sort(),
    grantedAt: time,
    grantedBy: signerHex,
    revoked: false,
    revokedAt: 0,
  } satisfies ConsentRecord);
  logPatientEvent(s, p.patient, 'grantConsent', p.consentId, c);
};

const revokeConsent: Rule<'revokeConsent'> = (tx, c) => {
  const { s, signer, time } = c;
  const consent = consentOf(s, tx.payload.consentId);
  need(consent !== undefined, 'unknown-consent');
  need(signer.role === 'patient' || signer.role === 'guardian', 'wrong-role');
  need(signer.subject === consent.patient && signer.org === consent.holder, 'wrong-patient');
  need(!consent.revoked, 'already-done');
  s.put(`consent/${consent.consentId}`, { ...consent, revoked: true, revokedAt: time });
  logPatientEvent(s, consent.patient, 'revokeConsent', consent.consentId, c);
};

export const consentRules = { grantConsent, revokeConsent };
