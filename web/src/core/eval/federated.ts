/// <reference types="fhir" />
// The federated baseline: each clinic keeps its records in its own database (a PostgreSQL schema of its own,
// in the evaluation's one PGlite engine: no query crosses schemas) with the same integrity protection as the
// EHR, its own users, its own consent registry and audit log. Clinics call each other's APIs with a bearer
// token per member clinic; the holder decides with its local policy: its own consent registry, or a consent
// document signed by a member clinic (patients give consent wherever they are seen), and break-glass for the
// clinics on its emergency list. Both sides log each exchange. No ledger; learning is plain FedAvg.
import { Ed25519Signer, ed25519Verify } from '../../../../wasm/index.ts';
import { canonicalBytes } from '../codec/index.ts';
import { Prng, toHex } from '../util/index.ts';
import type { Architecture, ArchitectureRun, AuditOutcome, RunContext } from './architecture.ts';
import { CONSENT_MS, MINUTE, accessPhase, forgedConsent, heldIds, loadPatients, tamperPhase, type BaselineAttempt } from './baseline-common.ts';
import { heartRate } from './centralized.ts';
import { plainFedAvg } from './fl-eval.ts';
import { federatedLatency } from './latency.ts';
import { decide, type AccessRequestLike, type Consent } from './policy.ts';
import { SqlRecords } from './sql-records.ts';
import type { AccessAttempt, Workload, WorkloadPatient } from './workload.ts';

/** What the holder's local policy decides on (`decide`), with the bearer token and who asks. */
interface FederatedRequest extends AccessRequestLike {
  readonly requestId: string;
  readonly clinicToken: string;
  readonly clinician: string;
  readonly consentDocument?: { readonly consent: Consent; readonly signedBy: string; readonly signature: Uint8Array };
}

class FederatedClinic {
  readonly consents: Consent[] = [];
  readonly signer: Ed25519Signer;
  readonly token: string;
  readonly password: string;

  constructor(
    readonly id: string,
    readonly records: SqlRecords,
    prng: Prng,
  ) {
    this.signer = new Ed25519Signer(prng.bytes(32));
    this.token = toHex(prng.bytes(16));
    this.password = toHex(prng.bytes(12));
  }

  /** A consent document this clinic vouches for: signed with its key. */
  sign(consent: Consent): NonNullable<FederatedRequest['consentDocument']> {
    return { consent, signedBy: this.id, signature: this.signer.sign(canonicalBytes(consent as unknown)) };
  }
}

class Federation {
  readonly clinics = new Map<string, FederatedClinic>();

  constructor(private readonly emergencyPartners: Readonly<Record<string, readonly string[]>>) {}

  /** The holder's API: bearer token of a member clinic, local policy, local log. */
  async handle(
    holderId: string,
    req: FederatedRequest,
    now: number,
  ): Promise<{ authenticated: boolean; decision: 'permit' | 'deny'; reason: string; resources: fhir4.Resource[] }> {
    const holder = this.clinics.get(holderId)!;
    const member = this.clinics.get(req.requesterOrg);
    if (member === undefined || member.token !== req.clinicToken) return { authenticated: false, decision: 'deny', reason: 'not-authenticated', resources: [] };
    const consents = [...holder.consents];
    const doc = req.consentDocument;
    if (doc !== undefined) {
      const signer = this.clinics.get(doc.signedBy);
      if (signer !== undefined && ed25519Verify(signer.signer.publicKey, canonicalBytes(doc.consent as unknown), doc.signature)) consents.push(doc.consent);
    }
    const d = decide(req, consents, now, (this.emergencyPartners[holderId] ?? []).includes(req.requesterOrg));
    await holder.records.log({ requestId: req.requestId, actor: req.clinician, requesterOrg: req.requesterOrg, holderOrg: holderId, patient: req.patient, decision: d.decision });
    const resources = d.decision === 'permit' ? await holder.records.resources(req.patient, d.grantedTypes) : [];
    return { authenticated: true, decision: d.decision, reason: d.reason, resources };
  }

  /** The requesting clinic's side: a clinician logged in with its password; the clinic calls the holder and logs the answer. */
  async request(
    requesterId: string,
    password: string,
    holderId: string,
    req: Omit<FederatedRequest, 'clinicToken' | 'requesterOrg'>,
    now: number,
  ): Promise<ReturnType<Federation['handle']> | null> {
    const requester = this.clinics.get(requesterId)!;
    if (password !== requester.password) return null;
    const r = await this.handle(holderId, { ...req, clinicToken: requester.token, requesterOrg: requesterId }, now);
    if (r.authenticated)
      await requester.records.log({ requestId: req.requestId, actor: req.clinician, requesterOrg: requesterId, holderOrg: holderId, patient: req.patient, decision: r.decision });
    return r;
  }
}

export const federated: Architecture = {
  name: 'federated',
  async run(w: Workload, ctx: RunContext): Promise<ArchitectureRun> {
    ctx.progress('federated: PostgreSQL (PGlite), a schema per clinic');
    const db = await ctx.postgres();
    const prng = new Prng(w.seed).fork('federated');
    const fed = new Federation(w.emergencyPartners);
    for (const c of w.clinics) {
      const clinic = new FederatedClinic(c, new SqlRecords(db, `fed_${c.replace(/-/g, '_')}`), prng.fork(c));
      await clinic.records.init();
      fed.clinics.set(c, clinic);
    }
    const storeOf = (c: string): SqlRecords => fed.clinics.get(c)!.records;
    await loadPatients(w, storeOf);
    const held = new Map<string, Set<string>>();
    for (const c of w.clinics) held.set(c, await heldIds(storeOf(c)));
    ctx.progress(`federated: ${w.patients.length} patients loaded at ${w.clinics.length} clinics`);

    const captured = new Map<string, FederatedRequest>();
    const attempt = async (a: AccessAttempt, p: WorkloadPatient, now: number): Promise<BaselineAttempt> => {
      const holder = fed.clinics.get(a.holder)!;
      const requester = fed.clinics.get(a.requester)!;
      if (a.consent.state !== 'none') {
        // The patient consents at the holder, which keeps it in its own registry.
        holder.consents.push({
          id: `${a.id}-consent`,
          patient: p.patientId,
          granteeOrg: a.requester,
          purpose: a.consent.purpose,
          resourceTypes: a.consent.resourceTypes,
          start: now - 2 * MINUTE,
          end: a.consent.state === 'expired' ? now - MINUTE : now + CONSENT_MS,
          revoked: a.consent.state === 'revoked',
        });
      }
      if (a.kind === 'insider') return { insiderRows: await holder.records.rawRows(p.patientId) };
      const base = { requestId: a.id, clinician: `dr-${a.requester}`, patient: p.patientId, purpose: a.purpose, resourceTypes: a.resourceTypes, breakGlass: a.breakGlass };
      let r: Awaited<ReturnType<Federation['handle']>> | null;
      if (a.kind === 'replayed-credentials') {
        // The attacker captured an earlier request (bearer token and all) and sends it again, under a new id.
        const old = captured.get(a.replayOf!)!;
        r = await fed.handle(a.holder, { ...old, requestId: a.id }, now);
      } else if (a.kind === 'forged-consent') {
        // The requesting clinic vouches for a consent the patient never gave: a member's signature is all the holder checks.
        const consentDocument = requester.sign(forgedConsent(a, p.patientId, now));
        r = await fed.request(a.requester, requester.password, a.holder, { ...base, consentDocument }, now);
      } else {
        // stolen-credentials: the attacker logs in with the clinician's phished password; the rest as the clinician would.
        r = await fed.request(a.requester, requester.password, a.holder, base, now);
        if (a.kind === 'consented') captured.set(a.id, { ...base, clinicToken: requester.token, requesterOrg: a.requester });
      }
      return r;
    };
    const { access, exchanges, truth } = await accessPhase(
      w,
      attempt,
      (a, ref) => held.get(a.holder)!.has(ref),
      (m) => ctx.progress(`federated: ${m}`),
    );

    const tamper = await tamperPhase(w, storeOf, (m) => ctx.progress(`federated: ${m}`));

    // The insider administrator edits the one log it can write, its clinic's; the auditor reads every clinic's.
    await storeOf(w.insiderClinic).eraseAuditOf(w.insiderClinic);
    const logs = (await Promise.all(w.clinics.map((c) => storeOf(c).auditRows()))).flat();
    const audit: AuditOutcome[] = [...truth].map(([id, decision]) => ({ id, reconstructed: logs.some((r) => r.requestId === id && r.decision === decision) }));

    ctx.progress('federated: latency');
    const latencyMs = await federatedLatency(w, async (u) => {
      const p = w.patients[u.patient]!;
      await storeOf(p.clinic).put(heartRate(p.patientId, u, w.seed), p.patientId, p.clinic, `dr-${p.clinic}`);
    });
    ctx.progress('federated: FL (plain FedAvg)');
    const fl = await plainFedAvg(w, ctx);
    return { access, tamper, exchanges, audit, latencyMs, fl };
  },
};
