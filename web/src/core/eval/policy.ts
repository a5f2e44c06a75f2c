// The baselines' access decision, the same rule the contracts apply (`decide` in ledger/contracts/access.ts): an
// unrevoked consent of the patient for the requesting organisation and purpose, in force now, grants the
// requested types it names; break-glass is granted when the policy admits the requester. What differs
// between architectures is not this rule but who can write the consents and the policy, and who is believed.
export interface Consent {
  readonly id: string;
  readonly patient: string;
  readonly granteeOrg: string;
  readonly purpose: string;
  readonly resourceTypes: readonly string[];
  readonly start: number;
  readonly end: number;
  readonly revoked: boolean;
}

export interface AccessRequestLike {
  readonly patient: string;
  readonly requesterOrg: string;
  readonly purpose: string;
  readonly resourceTypes: readonly string[];
  readonly breakGlass: boolean;
}

export interface Decision {
  readonly decision: 'permit' | 'deny';
  readonly grantedTypes: readonly string[];
  readonly reason: string;
}

export function decide(req: AccessRequestLike, consents: readonly Consent[], now: number, breakGlassAllowed: boolean): Decision {
  if (req.breakGlass)
    return breakGlassAllowed
      ? { decision: 'permit', grantedTypes: req.resourceTypes, reason: 'break-glass' }
      : { decision: 'deny', grantedTypes: [], reason: 'break-glass-not-allowed' };
  const mine = consents.filter((c) => c.patient === req.patient && c.granteeOrg === req.requesterOrg);
  if (mine.length === 0) return { decision: 'deny', grantedTypes: [], reason: 'no-consent' };
  const live = mine.filter((c) => !c.revoked);
  if (live.length === 0) return { decision: 'deny', grantedTypes: [], reason: 'consent-revoked' };
  const current = live.filter((c) => c.start <= now && now <= c.end);
  if (current.length === 0) return { decision: 'deny', grantedTypes: [], reason: 'consent-expired' };
  const forPurpose = current.filter((c) => c.purpose === req.purpose);
  if (forPurpose.length === 0) return { decision: 'deny', grantedTypes: [], reason: 'wrong-purpose' };
  const allowed = new Set(forPurpose.flatMap((c) => c.resourceTypes));
  const granted = req.resourceTypes.filter((t) => allowed.has(t));
  if (granted.length === 0) return { decision: 'deny', grantedTypes: [], reason: 'resource-type-not-consented' };
  return { decision: 'permit', grantedTypes: granted, reason: 'consent' };
}
