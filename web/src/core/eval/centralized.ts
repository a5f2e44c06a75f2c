/// <reference types="fhir" />
// The centralized baseline: one EHR server (PostgreSQL, as PGlite) holding every clinic's records, with
// password logins and bearer sessions, role-based access (clinicians read, record consents and may break the
// glass), the consent rule of policy.ts, and an application audit log in the same database. Each workload
// attempt is made against it as the attacker could: with a phished password, a captured session token, a
// consent any clinician may record, the break-glass button, or SQL for the insider.
import { Prng, toHex } from '../util/index.ts';
import type { Architecture, ArchitectureRun, AuditOutcome, RunContext } from './architecture.ts';
import { CONSENT_MS, MINUTE, accessPhase, forgedConsent, heldIds, loadPatients, tamperPhase, type BaselineAttempt } from './baseline-common.ts';
import { decide, type Consent } from './policy.ts';
import { SqlRecords } from './sql-records.ts';
import { pooledTraining } from './fl-eval.ts';
import { centralizedLatency } from './latency.ts';
import type { AccessAttempt, Workload, WorkloadPatient } from './workload.ts';

const SESSION_MS = 12 * 3_600_000;

/** The EHR application: what its API lets an authenticated user do. */
class Ehr {
  private readonly users = new Map<string, { password: string; org: string }>();
  private readonly sessions = new Map<string, { login: string; expires: number }>();
  private readonly prng: Prng;

  constructor(
    readonly records: SqlRecords,
    seed: number,
  ) {
    this.prng = new Prng(seed).fork('ehr');
  }

  async init(): Promise<void> {
    await this.records.init();
    await this.records.db.exec(
      `create table ehr.consents (id text primary key, patient text, grantee_org text, purpose text, types text[], start_ms bigint, end_ms bigint, revoked boolean, recorded_by text)`,
    );
  }

  addUser(login: string, org: string): string {
    const password = toHex(this.prng.bytes(12));
    this.users.set(login, { password, org });
    return password;
  }

  login(login: string, password: string, now: number): string | null {
    const u = this.users.get(login);
    if (u === undefined || u.password !== password) return null;
    const token = toHex(this.prng.bytes(16));
    this.sessions.set(token, { login, expires: now + SESSION_MS });
    return token;
  }

  private session(token: string, now: number): { login: string; org: string } | null {
    const s = this.sessions.get(token);
    if (s === undefined || now > s.expires) return null;
    return { login: s.login, org: this.users.get(s.login)!.org };
  }

  /** Any clinician may record a patient's consent (given on paper, at the desk). */
  async recordConsent(token: string, c: Consent, now: number): Promise<boolean> {
    const who = this.session(token, now);
    if (who === null) return false;
    await this.records.db.query(`insert into ehr.consents values ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, [
      c.id,
      c.patient,
      c.granteeOrg,
      c.purpose,
      [...c.resourceTypes],
      c.start,
      c.end,
      c.revoked,
      who.login,
    ]);
    return true;
  }

  async revokeConsent(token: string, id: string, now: number): Promise<boolean> {
    if (this.session(token, now) === null) return false;
    await this.records.db.query(`update ehr.consents set revoked = true where id = $1`, [id]);
    return true;
  }

  /** A request through the API: authenticated by the session, decided, logged, answered. */
  async request(
    token: string,
    req: { requestId: string; patient: string; holderOrg: string; purpose: string; resourceTypes: readonly string[]; breakGlass: boolean },
    now: number,
  ): Promise<{ authenticated: boolean; decision: 'permit' | 'deny'; reason: string; resources: fhir4.Resource[] }> {
    const who = this.session(token, now);
    if (who === null) return { authenticated: false, decision: 'deny', reason: 'not-authenticated', resources: [] };
    const rows = await this.records.db.query<{
      id: string;
      patient: string;
      grantee_org: string;
      purpose: string;
      types: string[];
      start_ms: string;
      end_ms: string;
      revoked: boolean;
    }>(`select * from ehr.consents where patient = $1`, [req.patient]);
    const consents: Consent[] = rows.rows.map((r) => ({
      id: r.id,
      patient: r.patient,
      granteeOrg: r.grantee_org,
      purpose: r.purpose,
      resourceTypes: r.types,
      start: Number(r.start_ms),
      end: Number(r.end_ms),
      revoked: r.revoked,
    }));
    // Role-based: every clinician of the EHR may break the glass; the use is logged for review.
    const d = decide({ ...req, requesterOrg: who.org }, consents, now, true);
    await this.records.log({ requestId: req.requestId, actor: who.login, requesterOrg: who.org, holderOrg: req.holderOrg, patient: req.patient, decision: d.decision });
    const resources = d.decision === 'permit' ? await this.records.resources(req.patient, d.grantedTypes) : [];
    return { authenticated: true, decision: d.decision, reason: d.reason, resources };
  }
}

export const centralized: Architecture = {
  name: 'centralized',
  async run(w: Workload, ctx: RunContext): Promise<ArchitectureRun> {
    ctx.progress('centralized: PostgreSQL (PGlite)');
    const db = await ctx.postgres();
    const ehr = new Ehr(new SqlRecords(db, 'ehr'), w.seed);
    await ehr.init();
    const passwords = new Map(w.clinics.map((c) => [c, ehr.addUser(`dr-${c}`, c)]));
    await loadPatients(w, () => ehr.records);
    const held = await heldIds(ehr.records);
    ctx.progress(`centralized: ${w.patients.length} patients loaded`);

    const tokens = new Map<string, string>();
    const attempt = async (a: AccessAttempt, p: WorkloadPatient, now: number): Promise<BaselineAttempt> => {
      const clinicianToken = ehr.login(`dr-${a.requester}`, passwords.get(a.requester)!, now)!;
      const holderToken = ehr.login(`dr-${a.holder}`, passwords.get(a.holder)!, now)!;
      await setUpConsent(ehr, a, holderToken, p.patientId, now);
      if (a.kind === 'insider') return { insiderRows: await ehr.records.rawRows(p.patientId) };
      let token = clinicianToken;
      if (a.kind === 'forged-consent') {
        // The requesting clinic's clinician records a consent the patient never gave: the EHR lets staff record consents.
        await ehr.recordConsent(clinicianToken, forgedConsent(a, p.patientId, now), now);
      }
      if (a.kind === 'stolen-credentials') token = ehr.login(`dr-${a.requester}`, passwords.get(a.requester)! /* phished */, now) ?? '';
      if (a.kind === 'replayed-credentials') token = tokens.get(a.replayOf!) ?? '';
      const r = await ehr.request(
        token,
        { requestId: a.id, patient: p.patientId, holderOrg: a.holder, purpose: a.purpose, resourceTypes: a.resourceTypes, breakGlass: a.breakGlass },
        now,
      );
      if (a.kind === 'consented') tokens.set(a.id, token);
      return r;
    };
    const { access, exchanges, truth } = await accessPhase(
      w,
      attempt,
      (_a, ref) => held.has(ref),
      (m) => ctx.progress(`centralized: ${m}`),
    );

    const tamper = await tamperPhase(
      w,
      () => ehr.records,
      (m) => ctx.progress(`centralized: ${m}`),
    );

    // The insider administrator at one clinic deletes the log entries that involve it; the auditor then reads the log.
    await ehr.records.eraseAuditOf(w.insiderClinic);
    const logged = await ehr.records.auditRows();
    const audit: AuditOutcome[] = [...truth].map(([id, decision]) => ({ id, reconstructed: logged.some((r) => r.requestId === id && r.decision === decision) }));

    ctx.progress('centralized: latency');
    const latencyMs = await centralizedLatency(w, async (u) => {
      const p = w.patients[u.patient]!;
      await ehr.records.put(heartRate(p.patientId, u, w.seed), p.patientId, p.clinic, `dr-${p.clinic}`);
    });
    ctx.progress('centralized: FL (one model on the pooled data)');
    const fl = await pooledTraining(w, ctx);
    return { access, tamper, exchanges, audit, latencyMs, fl };
  },
};

async function setUpConsent(ehr: Ehr, a: AccessAttempt, holderToken: string, patient: string, now: number): Promise<void> {
  if (a.consent.state === 'none') return;
  const id = `${a.id}-consent`;
  const end = a.consent.state === 'expired' ? now - MINUTE : now + CONSENT_MS;
  await ehr.recordConsent(
    holderToken,
    { id, patient, granteeOrg: a.requester, purpose: a.consent.purpose, resourceTypes: a.consent.resourceTypes, start: now - 2 * MINUTE, end, revoked: false },
    now,
  );
  if (a.consent.state === 'revoked') await ehr.revokeConsent(holderToken, id, now);
}

/** A wearable's heart-rate reading as a FHIR Observation: the record update whose latency is measured. */
export function heartRate(patientId: string, u: { bpm: number; time: number }, seed: number): fhir4.Observation {
  return {
    resourceType: 'Observation',
    id: `hr-${seed}-${u.time}`,
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs', display: 'Vital Signs' }] }],
    code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }], text: 'Heart rate' },
    subject: { reference: `Patient/${patientId}` },
    effectiveDateTime: new Date(u.time).toISOString(),
    valueQuantity: { value: u.bpm, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
  };
}
