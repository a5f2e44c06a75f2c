// The contracts: one deterministic state machine over committed, signed transactions. It reads no clock but
// the block's agreed time (ApplyContext.time), uses integer arithmetic and no randomness, and a rejected
// transaction changes nothing. State is a sorted key-value map of plain JSON values; the state root is the
// RFC 6962 Merkle root over canonical JSON [key, value] leaves, and a snapshot is that list.
import type { ApplyContext, ApplyResult, LedgerApp } from '../app.ts';
import { merkleRoot } from '../merkle.ts';
import { canonicalJson } from '../../records/canonical.ts';
import { decodeTx, verifySignature, TxDecodeError, type DecodedTx, type Payload, type Tx } from './tx.ts';
import { decisionToAuditEvent } from './fhir.ts';
import { toHex } from '../../util/index.ts';
import { FlReader, applyCloseRound, applyCommitAggregate, applyCommitUpdate, applyOpenRound, type FlRejectReason } from './fl.ts';
import { ReportsReader, applyFileReport, type DomainContext, type ReportRejectReason } from './reports.ts';

export const ROLES = ['admin', 'clinician', 'auditor', 'patient', 'guardian', 'device', 'node'] as const;
export type Role = (typeof ROLES)[number];
export const BREAK_GLASS_PURPOSE = 'ETREAT';
/** How long a permit stays usable for a release, at most (bounded further by the consent's end). */
export const ACCESS_TTL_MS = 60 * 60 * 1000;

export type RejectReason =
  | 'malformed'
  | 'forged-signature'
  | 'unknown-key'
  | 'revoked-key'
  | 'replay'
  | 'expired'
  | 'wrong-role'
  | 'wrong-org'
  | 'wrong-patient'
  | 'unknown-org'
  | 'duplicate'
  | 'bad-period'
  | 'unknown-consent'
  | 'unknown-agreement'
  | 'not-party'
  | 'already-done'
  | 'unknown-request'
  | 'not-holder'
  | 'not-granted'
  | 'stale-version'
  | FlRejectReason
  | ReportRejectReason;

export type DenyReason = 'no-agreement' | 'no-consent' | 'consent-revoked' | 'consent-expired' | 'wrong-purpose' | 'resource-type-not-consented' | 'wrong-practitioner';

export interface KeyRecord {
  org: string;
  role: Role;
  subject: string;
  revoked: boolean;
  nonce: number;
}
export interface OrgRecord {
  validator: boolean;
}
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
  auditEvent: unknown;
}
export interface ReleaseRecord {
  requestId: string;
  resourceTypes: string[];
  count: number;
  digest: string;
  time: number;
}
export interface AnchorRecord {
  org: string;
  record: string;
  version: number;
  commitment: string;
  height: number;
}

export interface GenesisOrg {
  readonly id: string;
  /** The organisation's first admin key (it registers the rest). */
  readonly adminKey: Uint8Array;
  readonly validator: boolean;
}

export class ContractRejection extends Error {
  override readonly name = 'ContractRejection';
  constructor(readonly reason: RejectReason) {
    super(reason);
  }
}

type Value = unknown;
const ORG_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
const TYPE = /^[A-Z][A-Za-z]{1,63}$/;

export class HygeiaContracts implements LedgerApp {
  private state = new Map<string, Value>();
  /** Writes of the transaction being applied; merged only if it succeeds. */
  private pending: Map<string, Value> | null = null;
  /** Federated-learning tasks and rounds (contracts/fl.ts). */
  readonly fl = new FlReader({ get: (k) => this.get(k), entries: (p) => this.entries(p) });
  /** Security reports, cases and trust scores (contracts/reports.ts). */
  readonly reports = new ReportsReader({ get: (k) => this.get(k), entries: (p) => this.entries(p) });

  constructor(readonly genesis: readonly GenesisOrg[]) {
    for (const o of genesis) {
      if (!ORG_ID.test(o.id)) throw new TypeError('organisation ids are lower-case slugs');
      this.state.set(`org/${o.id}`, { validator: o.validator } satisfies OrgRecord);
      this.state.set(`key/${toHex(o.adminKey)}`, { org: o.id, role: 'admin', subject: '', revoked: false, nonce: 0 } satisfies KeyRecord);
    }
  }

  // ---- reading state ------------------------------------------------------------------------------------

  private get<T>(k: string): T | undefined {
    if (this.pending?.has(k)) return this.pending.get(k) as T;
    return this.state.get(k) as T | undefined;
  }
  private put(k: string, v: Value): void {
    (this.pending ?? this.state).set(k, structuredClone(v));
  }
  private *entries<T>(prefix: string): Iterable<T> {
    for (const [k, v] of this.state) if (k.startsWith(prefix) && !this.pending?.has(k)) yield v as T;
    if (this.pending) for (const [k, v] of this.pending) if (k.startsWith(prefix)) yield v as T;
  }

  key(publicKey: Uint8Array): KeyRecord | undefined {
    return this.get<KeyRecord>(`key/${toHex(publicKey)}`);
  }
  org(id: string): OrgRecord | undefined {
    return this.get<OrgRecord>(`org/${id}`);
  }
  consent(id: string): ConsentRecord | undefined {
    return this.get<ConsentRecord>(`consent/${id}`);
  }
  agreement(id: string): AgreementRecord | undefined {
    return this.get<AgreementRecord>(`agreement/${id}`);
  }
  decision(requestId: string): AccessDecision | undefined {
    return this.get<AccessDecision>(`access/${requestId}`);
  }
  releases(requestId: string): ReleaseRecord[] {
    return [...this.entries<ReleaseRecord>(`release/${requestId}/`)];
  }
  anchorOf(org: string, record: string): AnchorRecord | undefined {
    return this.get<AnchorRecord>(`anchor/${org}/${record}`);
  }
  /** Break-glass decisions no auditor has reviewed yet, in request order. */
  breakGlassForReview(): AccessDecision[] {
    return [...this.entries<AccessDecision>('access/')].filter((d) => d.breakGlass && d.reviewed === '').sort((a, b) => a.height - b.height || a.index - b.index);
  }
  validatorOrgs(): string[] {
    return [...this.state.keys()].filter((k) => k.startsWith('org/') && (this.state.get(k) as OrgRecord).validator).map((k) => k.slice(4)).sort();
  }

  // ---- LedgerApp -----------------------------------------------------------------------------------------

  apply(bytes: Uint8Array, ctx: ApplyContext): ApplyResult {
    let d: DecodedTx;
    try {
      d = decodeTx(bytes);
    } catch (e) {
      if (e instanceof TxDecodeError || (e instanceof Error && e.name === 'CodecError')) return { ok: false, reason: 'malformed' };
      return { ok: false, reason: 'malformed' };
    }
    this.pending = new Map();
    try {
      this.check(d, ctx);
      const signerHex = toHex(d.tx.signer);
      const k = this.get<KeyRecord>(`key/${signerHex}`)!;
      this.put(`key/${signerHex}`, { ...k, nonce: d.tx.nonce });
      for (const [key, v] of this.pending) this.state.set(key, v);
      return { ok: true };
    } catch (e) {
      if (e instanceof ContractRejection) return { ok: false, reason: e.reason };
      throw e;
    } finally {
      this.pending = null;
    }
  }

  /** Authenticates, then runs the kind's rule (which writes to `pending` or throws a ContractRejection). */
  private check(d: DecodedTx, ctx: ApplyContext): void {
    const { tx } = d;
    const signer = this.key(tx.signer);
    if (signer === undefined) throw new ContractRejection('unknown-key');
    if (!verifySignature(d)) throw new ContractRejection('forged-signature');
    if (signer.revoked) throw new ContractRejection('revoked-key');
    if (tx.nonce <= signer.nonce) throw new ContractRejection('replay');
    if (tx.notAfter !== 0 && ctx.time > tx.notAfter) throw new ContractRejection('expired');
    if (this.org(signer.org) === undefined) throw new ContractRejection('unknown-org');
    this.rule(tx, signer, ctx);
  }

  private rule(tx: Tx, signer: KeyRecord, ctx: ApplyContext): void {
    const need = (ok: boolean, reason: RejectReason): void => {
      if (!ok) throw new ContractRejection(reason);
    };
    const signerHex = toHex(tx.signer);
    const domain = (): DomainContext => ({
      signer,
      signerHex,
      ctx,
      get: (k) => this.get(k),
      put: (k, v) => this.put(k, v),
      entries: (p) => this.entries(p),
      validatorOrgs: () => this.validatorOrgs(),
      orgExists: (id) => this.org(id) !== undefined,
      keyOrg: (hex) => this.get<KeyRecord>(`key/${hex}`)?.org,
      reject: (reason) => {
        throw new ContractRejection(reason as RejectReason);
      },
    });
    switch (tx.kind) {
      case 'flOpenRound':
        return applyOpenRound(domain(), tx.payload);
      case 'flCommitUpdate':
        return applyCommitUpdate(domain(), tx.payload);
      case 'flCloseRound':
        return applyCloseRound(domain(), tx.payload);
      case 'flCommitAggregate':
        return applyCommitAggregate(domain(), tx.payload);
      case 'fileReport':
        return applyFileReport(domain(), tx.payload);
      case 'registerKey': {
        const p = tx.payload;
        need(signer.role === 'admin', 'wrong-role');
        need(p.org === signer.org, 'wrong-org');
        need((ROLES as readonly string[]).includes(p.role), 'malformed');
        need(this.key(p.key) === undefined, 'duplicate');
        this.put(`key/${toHex(p.key)}`, { org: p.org, role: p.role as Role, subject: p.subject, revoked: false, nonce: 0 } satisfies KeyRecord);
        return;
      }
      case 'revokeKey': {
        const target = this.key(tx.payload.key);
        need(target !== undefined, 'unknown-key');
        need(toHex(tx.payload.key) === signerHex || (signer.role === 'admin' && signer.org === target!.org), 'wrong-role');
        need(!target!.revoked, 'already-done');
        this.put(`key/${toHex(tx.payload.key)}`, { ...target!, revoked: true });
        return;
      }
      case 'proposeOrg':
      case 'approveOrg': {
        need(signer.role === 'admin', 'wrong-role');
        need(this.org(signer.org)?.validator === true, 'wrong-org');
        const id = tx.payload.org;
        need(ORG_ID.test(id), 'malformed');
        need(this.org(id) === undefined, 'duplicate');
        type Proposal = { adminKey: string; validator: boolean; approvals: string[] };
        let prop = this.get<Proposal>(`proposal/${id}`);
        if (tx.kind === 'proposeOrg') {
          need(prop === undefined, 'duplicate');
          need(this.key(tx.payload.adminKey) === undefined, 'duplicate');
          prop = { adminKey: toHex(tx.payload.adminKey), validator: tx.payload.validator, approvals: [] };
        }
        need(prop !== undefined, 'unknown-org');
        need(!prop!.approvals.includes(signer.org), 'already-done');
        const approvals = [...prop!.approvals, signer.org].sort();
        const n = this.validatorOrgs().length;
        const quorum = 2 * Math.floor((n - 1) / 3) + 1;
        if (approvals.length >= quorum) {
          this.put(`org/${id}`, { validator: prop!.validator } satisfies OrgRecord);
          this.put(`key/${prop!.adminKey}`, { org: id, role: 'admin', subject: '', revoked: false, nonce: 0 } satisfies KeyRecord);
          this.put(`proposal/${id}`, { ...prop!, approvals, done: true });
        } else this.put(`proposal/${id}`, { ...prop!, approvals });
        return;
      }
      case 'grantConsent': {
        const p = tx.payload;
        need(signer.role === 'patient' || signer.role === 'guardian', 'wrong-role');
        need(signer.subject === p.patient, 'wrong-patient');
        need(p.consentId !== '' && this.consent(p.consentId) === undefined, 'duplicate');
        need(this.org(p.granteeOrg) !== undefined, 'unknown-org');
        need(p.start < p.end, 'bad-period');
        need(p.resourceTypes.length > 0 && p.resourceTypes.every((t) => TYPE.test(t)) && p.purpose !== '', 'malformed');
        this.put(`consent/${p.consentId}`, { ...p, resourceTypes: [...new Set(p.resourceTypes)].sort(), grantedAt: ctx.time, grantedBy: signerHex, revoked: false } satisfies ConsentRecord);
        return;
      }
      case 'revokeConsent': {
        const c = this.consent(tx.payload.consentId);
        need(c !== undefined, 'unknown-consent');
        need(signer.role === 'patient' || signer.role === 'guardian', 'wrong-role');
        need(signer.subject === c!.patient, 'wrong-patient');
        need(!c!.revoked, 'already-done');
        this.put(`consent/${c!.consentId}`, { ...c!, revoked: true });
        return;
      }
      case 'proposeAgreement': {
        const p = tx.payload;
        need(signer.role === 'admin', 'wrong-role');
        need(p.orgA === signer.org, 'wrong-org');
        need(this.org(p.orgB) !== undefined && p.orgB !== p.orgA, 'unknown-org');
        need(p.agreementId !== '' && this.agreement(p.agreementId) === undefined, 'duplicate');
        need(p.end > ctx.time, 'bad-period');
        this.put(`agreement/${p.agreementId}`, { ...p, signedA: true, signedB: false, ended: false } satisfies AgreementRecord);
        return;
      }
      case 'signAgreement':
      case 'endAgreement': {
        const a = this.agreement(tx.payload.agreementId);
        need(a !== undefined, 'unknown-agreement');
        need(signer.role === 'admin', 'wrong-role');
        need(signer.org === a!.orgA || signer.org === a!.orgB, 'not-party');
        need(!a!.ended, 'already-done');
        if (tx.kind === 'signAgreement') {
          need(signer.org === a!.orgB && !a!.signedB, 'already-done');
          this.put(`agreement/${a!.agreementId}`, { ...a!, signedB: true });
        } else this.put(`agreement/${a!.agreementId}`, { ...a!, ended: true });
        return;
      }
      case 'requestAccess': {
        const p = tx.payload;
        need(signer.role === 'clinician', 'wrong-role');
        need(p.requesterOrg === signer.org, 'wrong-org');
        need(this.org(p.holderOrg) !== undefined, 'unknown-org');
        need(p.requestId !== '' && this.decision(p.requestId) === undefined, 'duplicate');
        need(p.resourceTypes.length > 0 && p.resourceTypes.every((t) => TYPE.test(t)) && p.patient !== '', 'malformed');
        const requested = [...new Set(p.resourceTypes)].sort();
        const d = this.decide(p, signer, requested, ctx);
        const decision: AccessDecision = {
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
          time: ctx.time,
          height: ctx.height,
          index: ctx.index,
          expiresAt: d.granted.length > 0 ? Math.min(ctx.time + ACCESS_TTL_MS, d.until) : ctx.time,
          consentIds: d.consentIds,
          agreementId: d.agreementId,
          reviewed: '',
          auditEvent: null,
        };
        decision.auditEvent = decisionToAuditEvent(decision);
        this.put(`access/${p.requestId}`, decision);
        return;
      }
      case 'reviewBreakGlass': {
        const d = this.decision(tx.payload.requestId);
        need(d !== undefined, 'unknown-request');
        need(signer.role === 'auditor', 'wrong-role');
        need(d!.breakGlass && d!.reviewed === '', 'already-done');
        need(tx.payload.verdict === 'justified' || tx.payload.verdict === 'unjustified', 'malformed');
        this.put(`access/${d!.requestId}`, { ...d!, reviewed: tx.payload.verdict });
        return;
      }
      case 'recordRelease': {
        const p = tx.payload;
        const d = this.decision(p.requestId);
        need(d !== undefined, 'unknown-request');
        need(signer.org === d!.holderOrg && (signer.role === 'node' || signer.role === 'admin' || signer.role === 'clinician'), 'not-holder');
        need(d!.decision === 'permit', 'not-granted');
        need(ctx.time <= d!.expiresAt, 'expired');
        need(p.resourceTypes.every((t) => d!.grantedTypes.includes(t)), 'not-granted');
        this.put(`release/${p.requestId}/${ctx.height}-${ctx.index}`, {
          requestId: p.requestId,
          resourceTypes: [...p.resourceTypes].sort(),
          count: p.count,
          digest: toHex(p.digest),
          time: ctx.time,
        } satisfies ReleaseRecord);
        return;
      }
      case 'anchor': {
        const p = tx.payload;
        need(signer.role === 'node' || signer.role === 'admin' || signer.role === 'device', 'wrong-role');
        need(p.record.length === 64, 'malformed');
        const prev = this.anchorOf(signer.org, p.record);
        need(prev === undefined || p.version > prev.version, 'stale-version');
        this.put(`anchor/${signer.org}/${p.record}`, { org: signer.org, record: p.record, version: p.version, commitment: toHex(p.commitment), height: ctx.height } satisfies AnchorRecord);
        return;
      }
    }
  }

  /** The access rule: break-glass, or an active agreement (across organisations) and active consents. */
  private decide(
    p: Payload<'requestAccess'>,
    signer: KeyRecord,
    requested: string[],
    ctx: ApplyContext,
  ): { granted: string[]; reason: string; until: number; consentIds: string[]; agreementId: string } {
    const deny = (reason: DenyReason): { granted: string[]; reason: string; until: number; consentIds: string[]; agreementId: string } => ({
      granted: [],
      reason,
      until: ctx.time,
      consentIds: [],
      agreementId: '',
    });
    if (p.breakGlass && p.purpose === BREAK_GLASS_PURPOSE) {
      return { granted: requested, reason: 'break-glass', until: ctx.time + ACCESS_TTL_MS, consentIds: [], agreementId: '' };
    }
    let agreementId = '';
    let until = Number.MAX_SAFE_INTEGER;
    if (p.requesterOrg !== p.holderOrg) {
      const a = [...this.entries<AgreementRecord>('agreement/')]
        .filter(
          (x) =>
            ((x.orgA === p.requesterOrg && x.orgB === p.holderOrg) || (x.orgB === p.requesterOrg && x.orgA === p.holderOrg)) &&
            x.signedA &&
            x.signedB &&
            !x.ended &&
            ctx.time < x.end &&
            x.purposes.includes(p.purpose),
        )
        .sort((x, y) => (x.agreementId < y.agreementId ? -1 : 1))[0];
      if (a === undefined) return deny('no-agreement');
      agreementId = a.agreementId;
      until = a.end;
    }
    const mine = [...this.entries<ConsentRecord>('consent/')].filter((c) => c.patient === p.patient && c.granteeOrg === p.requesterOrg).sort((x, y) => (x.consentId < y.consentId ? -1 : 1));
    if (mine.length === 0) return deny('no-consent');
    const live = mine.filter((c) => !c.revoked);
    if (live.length === 0) return deny('consent-revoked');
    const current = live.filter((c) => c.start <= ctx.time && ctx.time < c.end);
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

  private leaves(): Uint8Array[] {
    const utf8 = new TextEncoder();
    return [...this.state.keys()].sort().map((k) => utf8.encode(canonicalJson([k, this.state.get(k)])));
  }

  stateRoot(): Uint8Array {
    return merkleRoot(this.leaves());
  }

  snapshot(): Uint8Array {
    const sorted = [...this.state.keys()].sort().map((k) => [k, this.state.get(k)]);
    return new TextEncoder().encode(canonicalJson(sorted));
  }

  restore(snapshot: Uint8Array): void {
    const parsed = JSON.parse(new TextDecoder().decode(snapshot)) as [string, Value][];
    if (!Array.isArray(parsed)) throw new TypeError('not a contracts snapshot');
    this.state = new Map(parsed);
  }
}
