// Access to a patient's records at the clinic that holds them: a clinician's request is decided on the
// ledger (the decision is the committed record every clinic recomputes, and an event of the patient's
// completeness log), and the holder records what it released against a permit.
//
// A consent counts only if the key that granted it was registered by the holder (the request's holderOrg)
// for this very patient: a member cannot enrol a "patient" of its own for another clinic's pseudonym and
// consent on the patient's behalf.
import { ID, RESOURCE_TYPE, need, type Rule, type StateCore } from './state-core.ts';
import { isStaff, keyOf, memberOf, type KeyRecord } from './membership.ts';
import { agreementInForce } from './agreements.ts';
import { PURPOSE, consentLive, consentsOfPatient, type ConsentRecord } from './consent.ts';
import { isErased, logPatientEvent, patientLeafOf, released, type Released } from './patients.ts';
import { EMERGENCY_REASONS, breakGlassAllowed, type BreakGlassDenial } from './break-glass.ts';
import type { Payload } from './tx.ts';

/** How long a permit stays usable for a release, at most (bounded further by the consent's end). */
const ACCESS_TTL_MS = 60 * 60 * 1000;

export type DenyReason =
  | 'no-agreement'
  | 'no-consent'
  | 'consent-revoked'
  | 'consent-expired'
  | 'wrong-purpose'
  | 'resource-type-not-consented'
  | 'wrong-practitioner'
  | 'wrong-holder'
  | 'erased'
  | BreakGlassDenial;

export type PermitReason = 'consent' | 'consent-partial' | 'break-glass';

export interface AccessDecision {
  requestId: string;
  /** The requesting clinician's key (hex). */
  requester: string;
  requesterOrg: string;
  practitioner: string;
  patient: string;
  holderOrg: string;
  requestedTypes: string[];
  grantedTypes: string[];
  purpose: string;
  breakGlass: boolean;
  /** One of EMERGENCY_REASONS for break-glass, else ''. */
  emergencyReason: string;
  decision: 'permit' | 'deny';
  reason: PermitReason | DenyReason;
  time: number;
  height: number;
  index: number;
  expiresAt: number;
  consentIds: string[];
  agreementId: string;
  /** '' (not reviewed), 'justified' or 'unjustified' (break-glass only). */
  reviewed: '' | 'justified' | 'unjustified';
  /** An unjustified break-glass permit is revoked: nothing may be released against it any more. */
  revoked: boolean;
}

export interface ReleaseRecord extends Released {
  requestId: string;
}

export const decisionOf = (s: StateCore, requestId: string): AccessDecision | undefined => s.get<AccessDecision>(`access/${requestId}`);

/** The decision a transaction names: rejected as 'malformed' for a bad id, 'unknown-request' for none. */
export function namedDecision(s: StateCore, requestId: string): AccessDecision {
  need(ID.test(requestId), 'malformed');
  const d = decisionOf(s, requestId);
  need(d !== undefined, 'unknown-request');
  return d;
}

interface Verdict {
  granted: string[];
  reason: PermitReason | DenyReason;
  until: number;
  consentIds: string[];
  agreementId: string;
}

/** Granted by a key the holder registered for this patient (patient or guardian role). */
function fromHoldersPatientKey(s: StateCore, c: ConsentRecord, holderOrg: string, patient: string): boolean {
  const k = keyOf(s, c.grantedBy);
  return k !== undefined && (k.role === 'patient' || k.role === 'guardian') && k.org === holderOrg && k.subject === patient && c.holder === holderOrg;
}

function decide(s: StateCore, p: Payload<'requestAccess'>, signer: KeyRecord, signerHex: string, requested: string[], time: number): Verdict {
  const deny = (reason: DenyReason): Verdict => ({ granted: [], reason, until: time, consentIds: [], agreementId: '' });
  const holder = patientLeafOf(s, p.patient)?.holder ?? '';
  if (holder !== '' && holder !== p.holderOrg) return deny('wrong-holder');
  if (isErased(s, p.holderOrg, p.patient)) return deny('erased');
  if (p.breakGlass) {
    const denial = breakGlassAllowed(s, { ...p, practitioner: signer.subject, requester: signerHex }, time);
    if (denial !== null) return deny(denial);
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
  // The patient's own log names every consent ever granted for them: no scan of all consents per request.
  const mine = consentsOfPatient(s, p.patient).filter((c) => c.granteeOrg === p.requesterOrg && fromHoldersPatientKey(s, c, p.holderOrg, p.patient));
  if (mine.length === 0) return deny('no-consent');
  if (mine.every((c) => c.revoked)) return deny('consent-revoked');
  const current = mine.filter((c) => consentLive(c, time));
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

const requestAccess: Rule<'requestAccess'> = (tx, c) => {
  const { s, signer, signerHex, time, height, index } = c;
  const p = tx.payload;
  need(signer.role === 'clinician', 'wrong-role');
  need(p.requesterOrg === signer.org, 'wrong-org');
  need(ID.test(p.requestId) && ID.test(p.patient) && PURPOSE.test(p.purpose), 'malformed');
  need(p.resourceTypes.length > 0 && p.resourceTypes.every((t) => RESOURCE_TYPE.test(t)), 'malformed');
  need(p.breakGlass ? (EMERGENCY_REASONS as readonly string[]).includes(p.emergencyReason) : p.emergencyReason === '', 'malformed');
  need(memberOf(s, p.holderOrg) !== undefined, 'unknown-org');
  need(decisionOf(s, p.requestId) === undefined, 'duplicate');
  const requested = [...new Set(p.resourceTypes)].sort();
  const d = decide(s, p, signer, signerHex, requested, time);
  const permit = d.granted.length > 0;
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
    emergencyReason: p.emergencyReason,
    decision: permit ? 'permit' : 'deny',
    reason: d.reason,
    time,
    height,
    index,
    expiresAt: permit ? Math.min(time + ACCESS_TTL_MS, d.until) : time,
    consentIds: d.consentIds,
    agreementId: d.agreementId,
    reviewed: '',
    revoked: false,
  } satisfies AccessDecision);
  logPatientEvent(s, p.patient, 'requestAccess', p.requestId, c);
};

const recordRelease: Rule<'recordRelease'> = (tx, c) => {
  const { s, signer, time, height, index } = c;
  const p = tx.payload;
  const d = namedDecision(s, p.requestId);
  need(signer.org === d.holderOrg && isStaff(signer.role), 'not-holder');
  need(d.decision === 'permit', 'not-granted');
  need(!d.revoked, 'permit-revoked');
  need(time <= d.expiresAt, 'expired');
  need(
    p.resourceTypes.every((t) => d.grantedTypes.includes(t)),
    'not-granted',
  );
  s.put(`release/${p.requestId}/${height}-${index}`, { requestId: p.requestId, ...released(p, c) } satisfies ReleaseRecord);
  logPatientEvent(s, d.patient, 'recordRelease', p.requestId, c);
};

export const accessRules = { requestAccess, recordRelease };
