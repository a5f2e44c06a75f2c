// Patients' consents: a patient (or guardian) key grants an organisation, or one of its practitioners, the
// reading of some resource types for a purpose and a period, and revokes it.
import { RESOURCE_TYPE, need, type Rule, type StateCore } from './state-core.ts';
import { orgOf } from './membership.ts';

export interface ConsentRecord {
  consentId: string;
  patient: string;
  granteeOrg: string;
  granteePractitioner: string;
  purpose: string;
  resourceTypes: string[];
  start: number;
  end: number;
  grantedAt: number;
  grantedBy: string;
  revoked: boolean;
}

export const consentOf = (s: StateCore, id: string): ConsentRecord | undefined => s.get<ConsentRecord>(`consent/${id}`);

const grantConsent: Rule<'grantConsent'> = (tx, { s, signer, signerHex, time }) => {
  const p = tx.payload;
  need(signer.role === 'patient' || signer.role === 'guardian', 'wrong-role');
  need(signer.subject === p.patient, 'wrong-patient');
  need(p.consentId !== '' && consentOf(s, p.consentId) === undefined, 'duplicate');
  need(orgOf(s, p.granteeOrg) !== undefined, 'unknown-org');
  need(p.start < p.end, 'bad-period');
  need(p.resourceTypes.length > 0 && p.resourceTypes.every((t) => RESOURCE_TYPE.test(t)) && p.purpose !== '', 'malformed');
  s.put(`consent/${p.consentId}`, { ...p, resourceTypes: [...new Set(p.resourceTypes)].sort(), grantedAt: time, grantedBy: signerHex, revoked: false } satisfies ConsentRecord);
};

const revokeConsent: Rule<'revokeConsent'> = (tx, { s, signer }) => {
  const c = consentOf(s, tx.payload.consentId);
  need(c !== undefined, 'unknown-consent');
  need(signer.role === 'patient' || signer.role === 'guardian', 'wrong-role');
  need(signer.subject === c.patient, 'wrong-patient');
  need(!c.revoked, 'already-done');
  s.put(`consent/${c.consentId}`, { ...c, revoked: true });
};

export const consentRules = { grantConsent, revokeConsent };
