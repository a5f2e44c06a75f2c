// Data-sharing agreements between two organisations: proposed by one admin, in force once the other signs
// (or from genesis), ended by either. Access across organisations needs one in force for the request's
// purpose; an agreement marked `emergency` also lets each side's clinicians break the glass at the other.
import { ID, need, type Rule, type StateCore } from './state-core.ts';
import { memberOf } from './membership.ts';
import { PURPOSE } from './consent.ts';

export interface AgreementRecord {
  agreementId: string;
  orgA: string;
  orgB: string;
  purposes: string[];
  start: number;
  end: number;
  emergency: boolean;
  signedA: boolean;
  signedB: boolean;
  ended: boolean;
}

export const agreementOf = (s: StateCore, id: string): AgreementRecord | undefined => s.get<AgreementRecord>(`agreement/${id}`);

/** Signed by both, not ended, within its period, and both parties still members. */
function agreementActive(s: StateCore, a: AgreementRecord, time: number): boolean {
  return a.signedA && a.signedB && !a.ended && a.start <= time && time < a.end && memberOf(s, a.orgA) !== undefined && memberOf(s, a.orgB) !== undefined;
}

/** The agreements between the two organisations active at `time`, lowest id first. */
function activeBetween(s: StateCore, orgX: string, orgY: string, time: number): AgreementRecord[] {
  return s.list<AgreementRecord>('agreement').filter((x) => ((x.orgA === orgX && x.orgB === orgY) || (x.orgB === orgX && x.orgA === orgY)) && agreementActive(s, x, time));
}

export function agreementInForce(s: StateCore, orgX: string, orgY: string, purpose: string, time: number): AgreementRecord | undefined {
  return activeBetween(s, orgX, orgY, time).find((x) => x.purposes.includes(purpose));
}

export function emergencyAgreement(s: StateCore, orgX: string, orgY: string, time: number): AgreementRecord | undefined {
  return activeBetween(s, orgX, orgY, time).find((x) => x.emergency);
}

const proposeAgreement: Rule<'proposeAgreement'> = (tx, { s, signer, time }) => {
  const p = tx.payload;
  need(signer.role === 'admin', 'wrong-role');
  need(p.orgA === signer.org, 'wrong-org');
  need(memberOf(s, p.orgB) !== undefined && p.orgB !== p.orgA, 'unknown-org');
  need(ID.test(p.agreementId) && p.purposes.length > 0 && p.purposes.every((x) => PURPOSE.test(x)), 'malformed');
  need(agreementOf(s, p.agreementId) === undefined, 'duplicate');
  need(p.end > time, 'bad-period');
  s.put(`agreement/${p.agreementId}`, { ...p, purposes: [...new Set(p.purposes)].sort(), start: time, signedA: true, signedB: false, ended: false } satisfies AgreementRecord);
};

const signAgreement: Rule<'signAgreement'> = (tx, { s, signer }) => {
  const a = agreementOf(s, tx.payload.agreementId);
  need(a !== undefined, 'unknown-agreement');
  need(signer.role === 'admin', 'wrong-role');
  need(signer.org === a.orgA || signer.org === a.orgB, 'not-party');
  need(!a.ended && signer.org === a.orgB && !a.signedB, 'already-done');
  s.put(`agreement/${a.agreementId}`, { ...a, signedB: true });
};

const endAgreement: Rule<'endAgreement'> = (tx, { s, signer }) => {
  const a = agreementOf(s, tx.payload.agreementId);
  need(a !== undefined, 'unknown-agreement');
  need(signer.role === 'admin', 'wrong-role');
  need(signer.org === a.orgA || signer.org === a.orgB, 'not-party');
  need(!a.ended, 'already-done');
  s.put(`agreement/${a.agreementId}`, { ...a, ended: true });
};

export const agreementRules = { proposeAgreement, signAgreement, endAgreement };
