// Data-sharing agreements between two organisations: proposed by one admin, in force once the other signs,
// ended by either. Access across organisations needs one in force for the request's purpose.
import { need, type Rule, type StateCore } from './state-core.ts';
import { orgOf } from './membership.ts';

export interface AgreementRecord {
  agreementId: string;
  orgA: string;
  orgB: string;
  purposes: string[];
  end: number;
  signedA: boolean;
  signedB: boolean;
  ended: boolean;
}

export const agreementOf = (s: StateCore, id: string): AgreementRecord | undefined => s.get<AgreementRecord>(`agreement/${id}`);

/** The agreement in force between the two organisations for `purpose` at `time` (lowest id first), if any. */
export function agreementInForce(s: StateCore, orgX: string, orgY: string, purpose: string, time: number): AgreementRecord | undefined {
  return s
    .list<AgreementRecord>('agreement')
    .find(
      (x) =>
        ((x.orgA === orgX && x.orgB === orgY) || (x.orgB === orgX && x.orgA === orgY)) &&
        x.signedA &&
        x.signedB &&
        !x.ended &&
        time < x.end &&
        x.purposes.includes(purpose),
    );
}

const proposeAgreement: Rule<'proposeAgreement'> = (tx, { s, signer, time }) => {
  const p = tx.payload;
  need(signer.role === 'admin', 'wrong-role');
  need(p.orgA === signer.org, 'wrong-org');
  need(orgOf(s, p.orgB) !== undefined && p.orgB !== p.orgA, 'unknown-org');
  need(p.agreementId !== '' && agreementOf(s, p.agreementId) === undefined, 'duplicate');
  need(p.end > time, 'bad-period');
  s.put(`agreement/${p.agreementId}`, { ...p, signedA: true, signedB: false, ended: false } satisfies AgreementRecord);
};

const signOrEnd = (tx: Parameters<Rule<'signAgreement'>>[0] | Parameters<Rule<'endAgreement'>>[0], { s, signer }: Parameters<Rule<'signAgreement'>>[1]): void => {
  const a = agreementOf(s, tx.payload.agreementId);
  need(a !== undefined, 'unknown-agreement');
  need(signer.role === 'admin', 'wrong-role');
  need(signer.org === a.orgA || signer.org === a.orgB, 'not-party');
  need(!a.ended, 'already-done');
  if (tx.kind === 'signAgreement') {
    need(signer.org === a.orgB && !a.signedB, 'already-done');
    s.put(`agreement/${a.agreementId}`, { ...a, signedB: true });
  } else s.put(`agreement/${a.agreementId}`, { ...a, ended: true });
};

export const agreementRules = { proposeAgreement, signAgreement: signOrEnd as Rule<'signAgreement'>, endAgreement: signOrEnd as Rule<'endAgreement'> };
