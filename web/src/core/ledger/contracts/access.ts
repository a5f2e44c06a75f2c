// Access to a patient's records at the clinic that holds them: a clinician's request is decided on the
// ledger (the decision is the committed record every clinic recomputes), the holder records what it
// released against a permit, and auditors review break-glass access.
import { toHex } from '../../util/index.ts';
import { RESOURCE_TYPE, need, type Rule, type StateCore } from './state-core.ts';
import type { KeyRecord } from './membership.ts';
import { orgOf } from './membership.ts';
import { agreementInForce } from './agreements.ts';
import type { ConsentRecord } from './consent.ts';
import type { Payload } from './tx.ts';

export const BREAK_GLASS_PURPOSE = 'ETREAT';
/** How long a permit stays usable for a release, at most (bounded further by the consent's end). */
export const ACCESS_TTL_MS = 60 * 60 * 1000;

export type DenyReason = 'no-agreement' | 'no-consent' | 'consent-revoked' | 'consent-expired' | 'wrong-purpose' | 'resource-type-not-consented' | 'wrong-practitioner';

export interface AccessDecision {
  requestId: string;
  requester: string;
  requesterOrg: string;
  practitioner: string;
  patient: string;
  holderOrg: string;
  requestedTypes: string[];
  grantedTypes: string[];
  purpose: string;
  breakGlass: boolean;
  decision: 'permit' | 'deny';
  reason: string;
  time: number;
  height: number;
  index: number;
  expiresAt: number;
  consentIds: string[];
  agreementId: string;
  reviewed: string;
}

export interface ReleaseRecord {
  requestId: string;
  resourceTypes: string[];
  count: number;
  digest: string;
  time: number;
}

export const decisionOf = (s: StateCore, requestId: string): AccessDecision | undefined => s.get<AccessDecision>(`access/${requestId}`);

interface Verdict {
  granted: string[];
  reason: string;
  until: number;
  consentIds: string[];
  agreementId: string;
}

/** The access rule: break-glass, or an agreement in force (across organisations) and consents in force. */
function decide(s: StateCore, p: Payload<'requestAccess'>, signer: KeyRecord, requested: string[], time: number): Verdict {
  const deny = (reason: DenyReason): Verdict => ({ granted: [], reason, until: time, consentIds: [], agreementId: '' });
  if (p.breakGlass && p.purpose === BREAK_GLASS_PURPOSE) {
    return { granted: requested, reason: 'break-glass', until: time + ACCESS_TTL_MS, consentIds: [], agreementId: '' };
  }
  let agreementId = '';
  let until = Number.MAX_SAFE_INTEGER;
  if (p.requesterOrg !== p.holderOrg) {
    const a = agreementInForce(s, p.requesterOrg, p.holderOrg, p.purpose, time);
    if (a === undefined) return deny('no-agreement');
    agreementId = a.agreementId;
    until = a.end;
  }
  const mine = s.list<ConsentRecord>('consent').filter((c) => c.patient === p.patient && c.granteeOrg === p.requesterOrg);
  if (mine.length === 0) return deny('no-consent');
  const live = mine.filter((c) => !c.revoked);
  if (live.length === 0) return deny('consent-revoked');
  const current = live.filter((c) => c.start <= time && time < c.end);
  if (current.length === 0) return deny('consent-expired');
  const forWho = current.filter((c) => c.granteePractitioner === '' || c.granteePractitioner === signer.subject);
  if (forWho.length === 0) return deny('wrong-practitioner');
  const forPurpose = forWho.filter((c) => c.purpose === p.purpose);
  if (forPurpose.length === 0) return deny('wrong-purpose');
  const granted = requested.filter((t) => forPurpose.some((c) => c.resourceTypes.includes(t)));
  if (granted.length === 0) return deny('resource-type-not-consented');
  const used = forPurpose.filter((c) => c.resourceTypes.some((t) => granted.includes(t)));
  for (const c of used) until = Math.min(until, c.end);
  return { granted, reason: granted.length === requested.length ? 'consent' : 'consent-partial', until, consentIds: used.map((c) => c.consentId), agreementId };
}

const requestAccess: Rule<'requestAccess'> = (tx, { s, signer, signerHex, time, height, index }) => {
  const p = tx.payload;
  need(signer.role === 'clinician', 'wrong-role');
  need(p.requesterOrg === signer.org, 'wrong-org');
  need(orgOf(s, p.holderOrg) !== undefined, 'unknown-org');
  need(p.requestId !== '' && decisionOf(s, p.requestId) === undefined, 'duplicate');
  need(p.resourceTypes.length > 0 && p.resourceTypes.every((t) => RESOURCE_TYPE.test(t)) && p.patient !== '', 'malformed');
  const requested = [...new Set(p.resourceTypes)].sort();
  const d = decide(s, p, signer, requested, time);
  s.put(`access/${p.requestId}`, {
    requestId: p.requestId,
    requester: signerHex,
    requesterOrg: p.requesterOrg,
    practitioner: signer.subject,
    patient: p.patient,
    holderOrg: p.holderOrg,
    requestedTypes: requested,
    grantedTypes: d.granted,
    purpose: p.purpose,
    breakGlass: p.breakGlass,
    decision: d.granted.length > 0 ? 'permit' : 'deny',
    reason: d.reason,
    time,
    height,
    index,
    expiresAt: d.granted.length > 0 ? Math.min(time + ACCESS_TTL_MS, d.until) : time,
    consentIds: d.consentIds,
    agreementId: d.agreementId,
    reviewed: '',
  } satisfies AccessDecision);
};

const reviewBreakGlass: Rule<'reviewBreakGlass'> = (tx, { s, signer }) => {
  const d = decisionOf(s, tx.payload.requestId);
  need(d !== undefined, 'unknown-request');
  need(signer.role === 'auditor', 'wrong-role');
  need(d.breakGlass && d.reviewed === '', 'already-done');
  need(tx.payload.verdict === 'justified' || tx.payload.verdict === 'unjustified', 'malformed');
  s.put(`access/${d.requestId}`, { ...d, reviewed: tx.payload.verdict });
};

const recordRelease: Rule<'recordRelease'> = (tx, { s, signer, time, height, index }) => {
  const p = tx.payload;
  const d = decisionOf(s, p.requestId);
  need(d !== undefined, 'unknown-request');
  need(signer.org === d.holderOrg && (signer.role === 'node' || signer.role === 'admin' || signer.role === 'clinician'), 'not-holder');
  need(d.decision === 'permit', 'not-granted');
  need(time <= d.expiresAt, 'expired');
  need(p.resourceTypes.every((t) => d.grantedTypes.includes(t)), 'not-granted');
  s.put(`release/${p.requestId}/${height}-${index}`, {
    requestId: p.requestId,
    resourceTypes: [...p.resourceTypes].sort(),
    count: p.count,
    digest: toHex(p.digest),
    time,
  } satisfies ReleaseRecord);
};

export const accessRules = { requestAccess, reviewBreakGlass, recordRelease };
