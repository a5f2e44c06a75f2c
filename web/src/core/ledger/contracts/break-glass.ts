// Break-glass: emergency access without the patient's consent, bounded and answerable.
//
// A clinician may break the glass at a holder only where the holder's emergency policy names the
// clinician's organisation, or an active agreement between the two is marked `emergency`. Every permit
// counts against two limits over the last 24 hours of block time: per clinician, and per patient (the
// holder's policy sets them; an agreement alone gets the defaults below). Only the holder's auditors review
// a break-glass permit; an "unjustified" verdict revokes the permit at once and leaves evidence against the
// requesting organisation (`evidence/<org>/<requestId>`, which the trust layer counts), and the review is
// an event of the patient's completeness log, so the patient's phone shows it.
import { ORG_ID, need, type Rule, type StateCore } from './state-core.ts';
import { memberOf } from './membership.ts';
import { emergencyAgreement } from './agreements.ts';
import { logPatientEvent } from './patients.ts';
import { namedDecision, type AccessDecision } from './access.ts';

export const BREAK_GLASS_PURPOSE = 'ETREAT';
/** Why a clinician broke the glass: coded, so no free text (and no patient data) reaches the ledger. */
export const EMERGENCY_REASONS = ['unconscious', 'life-threatening', 'unable-to-consent', 'urgent-treatment', 'other'] as const;
const DAY_MS = 24 * 60 * 60 * 1000;
/** Limits where an emergency agreement allows break-glass and the holder set no policy. */
const DEFAULT_EMERGENCY_LIMITS = { maxPerClinicianPerDay: 3, maxPerPatientPerDay: 2 } as const;
const MAX_LIMIT = 1000;

export interface EmergencyPolicy {
  org: string;
  /** Organisations whose clinicians may break the glass at `org` (its own included if listed). */
  orgs: string[];
  maxPerClinicianPerDay: number;
  maxPerPatientPerDay: number;
  setAt: number;
}

/** Evidence of an unjustified break-glass access, against the requesting organisation. */
export interface EvidenceRecord {
  kind: 'unjustified-break-glass';
  org: string;
  requestId: string;
  /** The requesting clinician's key (hex) and practitioner id. */
  requester: string;
  practitioner: string;
  holderOrg: string;
  patient: string;
  /** The auditor's key (hex) and the review's block time. */
  reviewer: string;
  time: number;
  height: number;
}

interface RateRecord {
  /** Block times of recent break-glass permits, within the last DAY_MS. */
  times: number[];
}

export const emergencyPolicyOf = (s: StateCore, org: string): EmergencyPolicy | undefined => s.get<EmergencyPolicy>(`policy/${org}`);

const clinicianRateKey = (org: string, who: string): string => `bg-rate/clinician/${org}:${who}`;
const patientRateKey = (holder: string, patient: string): string => `bg-rate/patient/${holder}:${patient}`;

function recent(s: StateCore, key: string, time: number): number[] {
  return (s.get<RateRecord>(key)?.times ?? []).filter((t) => t > time - DAY_MS);
}

export type BreakGlassDenial = 'break-glass-purpose' | 'break-glass-not-allowed' | 'break-glass-clinician-limit' | 'break-glass-patient-limit';

/** Whether this break-glass request may be permitted now; on a permit, counts it against both limits. */
export function breakGlassAllowed(
  s: StateCore,
  r: { requesterOrg: string; holderOrg: string; practitioner: string; requester: string; patient: string; purpose: string },
  time: number,
): BreakGlassDenial | null {
  if (r.purpose !== BREAK_GLASS_PURPOSE) return 'break-glass-purpose';
  const policy = emergencyPolicyOf(s, r.holderOrg);
  const byPolicy = policy?.orgs.includes(r.requesterOrg) === true;
  const byAgreement = r.requesterOrg !== r.holderOrg && emergencyAgreement(s, r.requesterOrg, r.holderOrg, time) !== undefined;
  if (!byPolicy && !byAgreement) return 'break-glass-not-allowed';
  const limits = policy ?? DEFAULT_EMERGENCY_LIMITS;
  const ck = clinicianRateKey(r.requesterOrg, r.practitioner === '' ? r.requester : r.practitioner);
  const pk = patientRateKey(r.holderOrg, r.patient);
  const byClinician = recent(s, ck, time);
  const byPatient = recent(s, pk, time);
  if (byClinician.length >= limits.maxPerClinicianPerDay) return 'break-glass-clinician-limit';
  if (byPatient.length >= limits.maxPerPatientPerDay) return 'break-glass-patient-limit';
  s.put(ck, { times: [...byClinician, time] } satisfies RateRecord);
  s.put(pk, { times: [...byPatient, time] } satisfies RateRecord);
  return null;
}

const setEmergencyPolicy: Rule<'setEmergencyPolicy'> = (tx, { s, signer, time }) => {
  const p = tx.payload;
  need(signer.role === 'admin', 'wrong-role');
  need(p.orgs.every((o) => ORG_ID.test(o)) && p.maxPerClinicianPerDay <= MAX_LIMIT && p.maxPerPatientPerDay <= MAX_LIMIT, 'malformed');
  need(
    p.orgs.every((o) => memberOf(s, o) !== undefined),
    'unknown-org',
  );
  s.put(`policy/${signer.org}`, {
    org: signer.org,
    orgs: [...new Set(p.orgs)].sort(),
    maxPerClinicianPerDay: p.maxPerClinicianPerDay,
    maxPerPatientPerDay: p.maxPerPatientPerDay,
    setAt: time,
  } satisfies EmergencyPolicy);
};

const reviewBreakGlass: Rule<'reviewBreakGlass'> = (tx, c) => {
  const { s, signer, signerHex, time, height } = c;
  const p = tx.payload;
  const d = namedDecision(s, p.requestId);
  need(signer.role === 'auditor', 'wrong-role');
  need(signer.org === d.holderOrg, 'not-holder');
  need(d.breakGlass && d.decision === 'permit', 'not-granted');
  need(d.reviewed === '', 'already-done');
  need(p.verdict === 'justified' || p.verdict === 'unjustified', 'malformed');
  if (p.verdict === 'justified') s.put(`access/${d.requestId}`, { ...d, reviewed: 'justified' } satisfies AccessDecision);
  else {
    s.put(`access/${d.requestId}`, { ...d, reviewed: 'unjustified', revoked: true, expiresAt: Math.min(d.expiresAt, time) } satisfies AccessDecision);
    s.put(`evidence/${d.requesterOrg}/${d.requestId}`, {
      kind: 'unjustified-break-glass',
      org: d.requesterOrg,
      requestId: d.requestId,
      requester: d.requester,
      practitioner: d.practitioner,
      holderOrg: d.holderOrg,
      patient: d.patient,
      reviewer: signerHex,
      time,
      height,
    } satisfies EvidenceRecord);
  }
  logPatientEvent(s, d.patient, 'reviewBreakGlass', d.requestId, c);
};

export const breakGlassRules = { setEmergencyPolicy, reviewBreakGlass };
