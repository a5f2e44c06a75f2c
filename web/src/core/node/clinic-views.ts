// Contract records as the screens' views: names instead of ids, counts instead of lists. Pure functions of the
// committed state, so every screen and window.hygeia see the same thing.
import type { AccessDecision, AgreementRecord, ConsentRecord, HygeiaContracts } from '../ledger/contracts/index.ts';
import type { AccessView, AgreementView, ConsentView } from './api.ts';

export type NameOf = (org: string) => string;

export function accessView(contracts: HygeiaContracts, d: AccessDecision, name: NameOf): AccessView {
  return {
    requestId: d.requestId,
    time: d.time,
    requester: name(d.requesterOrg),
    holder: name(d.holderOrg),
    patient: d.patient,
    purpose: d.purpose,
    requestedTypes: [...d.requestedTypes],
    grantedTypes: [...d.grantedTypes],
    decision: d.decision,
    reason: d.reason,
    breakGlass: d.breakGlass,
    reviewed: d.reviewed,
    released: contracts.releases(d.requestId).reduce((n, r) => n + r.count, 0),
    height: d.height,
  };
}

export function consentView(contracts: HygeiaContracts, c: ConsentRecord, name: NameOf): ConsentView {
  const by = contracts.keysOf(c.holder).find((k) => k.key === c.grantedBy)?.role ?? 'patient';
  return consentViewOf(c, name(c.holder), name(c.granteeOrg), by);
}

/** A consent as the screens show it, given the names the viewer knows the clinics by and the granter's role. */
export function consentViewOf(c: ConsentRecord, holder: string, grantee: string, grantedBy: string): ConsentView {
  return {
    consentId: c.consentId,
    patient: c.patient,
    holder,
    grantee,
    purpose: c.purpose,
    resourceTypes: [...c.resourceTypes],
    start: c.start,
    end: c.end,
    revoked: c.revoked,
    grantedAt: c.grantedAt,
    grantedBy,
  };
}

export function agreementView(a: AgreementRecord, self: string, now: number, name: NameOf): AgreementView {
  const ours = a.orgA === self;
  const state: AgreementView['state'] = a.ended ? 'ended' : a.end <= now ? 'expired' : a.signedA && a.signedB ? 'active' : ours ? 'proposed-by-us' : 'awaiting-our-signature';
  return { agreementId: a.agreementId, partner: name(ours ? a.orgB : a.orgA), purposes: [...a.purposes], end: a.end, state, emergency: a.emergency };
}

/** Newest first: by height, then position in the block. */
export function newestFirst<T extends { height: number; index: number }>(xs: T[]): T[] {
  return xs.sort((a, b) => b.height - a.height || b.index - a.index);
}
