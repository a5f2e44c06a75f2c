/// <reference types="fhir" />
// What the two database baselines share: loading the workload's patients into SQL record stores, the tamper
// phase (each attempt: an update through the application so an older version exists, the tampering, the
// store's integrity check, the undo), and checking an exchange.
import { validateExchange } from '../records/index.ts';
import type { AccessOutcome, ExchangeOutcome, TamperOutcome } from './architecture.ts';
import type { SqlRecords } from './sql-records.ts';
import type { Consent } from './policy.ts';
import { patientIdentifiers, type AccessAttempt, type Workload, type WorkloadPatient } from './workload.ts';

export const T0 = Date.UTC(2026, 0, 10);
export const MINUTE = 60_000;
export const DAY = 86_400_000;
/**
 * How long each attempt's consent lasts: attempts are a minute apart, so a consent set up for one attempt has
 * expired by the next and every attempt meets exactly the consent state its label says.
 */
export const CONSENT_MS = 30_000;

export class BaselineError extends Error {
  override readonly name = 'BaselineError';
}

export async function loadPatients(w: Workload, storeOf: (clinic: string) => SqlRecords): Promise<void> {
  for (const p of w.patients) {
    const store = storeOf(p.clinic);
    for (const e of p.bundle.entry!) await store.put(e.resource!, p.patientId, p.clinic, `import@${p.clinic}`);
  }
}

const ridOf = (r: fhir4.Resource): string => `${r.resourceType}/${r.id}`;

export async function tamperPhase(w: Workload, storeOf: (clinic: string) => SqlRecords, progress: (m: string) => void): Promise<TamperOutcome[]> {
  const out: TamperOutcome[] = [];
  for (const [i, t] of w.tamper.entries()) {
    const p = w.patients[t.patient]!;
    const store = storeOf(p.clinic);
    const target = p.bundle.entry![t.entry]!.resource!;
    const other = p.bundle.entry![t.otherEntry]!.resource!;
    const rid = ridOf(target);
    const [current] = (await store.resources(p.patientId, [target.resourceType])).filter((r) => r.id === target.id);
    if (current === undefined) throw new BaselineError('a tamper target is missing before the attempt');
    await store.put({ ...current, meta: { ...(current.meta ?? {}), tag: [{ system: 'urn:hygeia:eval', code: `update-${t.id}` }] } }, p.patientId, p.clinic, `dr-${p.clinic}`);
    if (!(await store.check(rid))) throw new BaselineError('an untouched record failed the integrity check');
    const undo = await store.tamper(t.kind, rid, ridOf(other));
    out.push({ id: t.id, kind: t.kind, detected: !(await store.check(rid)) });
    await undo();
    if (!(await store.check(rid))) throw new BaselineError('undoing a tamper did not restore the record');
    if ((i + 1) % 20 === 0) progress(`tamper ${i + 1}/${w.tamper.length}`);
  }
  return out;
}

/** A database baseline's answer to a request (the EHR's, or the holding clinic's API). */
interface BaselineAnswer {
  readonly authenticated: boolean;
  readonly decision: 'permit' | 'deny';
  readonly reason: string;
  readonly resources: readonly fhir4.Resource[];
}

/** How an attempt went: the insider's SQL read of the patient's rows, or the request's answer (null: none came). */
export type BaselineAttempt = { readonly insiderRows: string } | BaselineAnswer | null;

/**
 * The access phase of both baselines: each attempt a minute after the last, made by `attempt` as its kind says.
 * Returns what reached whoever made each attempt, the exchanges (checked against what the holder holds) and the
 * decisions the system took (what its audit log must let an auditor reconstruct).
 */
export async function accessPhase(
  w: Workload,
  attempt: (a: AccessAttempt, p: WorkloadPatient, now: number) => Promise<BaselineAttempt>,
  holderHas: (a: AccessAttempt, ref: string) => boolean,
  progress: (m: string) => void,
): Promise<{ access: AccessOutcome[]; exchanges: ExchangeOutcome[]; truth: Map<string, 'permit' | 'deny'> }> {
  const access: AccessOutcome[] = [];
  const exchanges: ExchangeOutcome[] = [];
  const truth = new Map<string, 'permit' | 'deny'>();
  for (const [i, a] of w.access.entries()) {
    const p = w.patients[a.patient]!;
    const r = await attempt(a, p, T0 + (i + 1) * MINUTE);
    if (r !== null && 'insiderRows' in r) {
      // An administrator of the database reads the patient's rows with SQL: no application in the way.
      access.push({ id: a.id, obtained: patientIdentifiers(p).some((x) => r.insiderRows.includes(x)), event: false, reason: 'read with SQL' });
      continue;
    }
    const got = r?.resources ?? [];
    if (r?.authenticated === true) truth.set(a.id, r.decision);
    access.push({ id: a.id, obtained: got.length > 0, event: r?.authenticated === true, reason: r?.reason ?? 'not-authenticated' });
    if (got.length > 0) exchanges.push(await checkExchange(a.id, got, (ref) => holderHas(a, ref)));
    if ((i + 1) % 25 === 0) progress(`access ${i + 1}/${w.access.length}`);
  }
  return { access, exchanges, truth };
}

export async function checkExchange(id: string, resources: readonly fhir4.Resource[], holderHas: (ref: string) => boolean): Promise<ExchangeOutcome> {
  const report = await validateExchange(resources, { resolve: holderHas });
  return { id, resources: resources.length, valid: report.valid };
}

/** The ids ("Type/id") a store holds, for resolving an exchange's references at its source. */
export async function heldIds(store: SqlRecords): Promise<Set<string>> {
  const r = await store.db.query<{ rid: string }>(`select rid from ${store.schema}.records`);
  return new Set(r.rows.map((x) => x.rid));
}

/** The consent a forging member writes or vouches for (the patient never gave it), the same in both baselines. */
export function forgedConsent(a: AccessAttempt, patientId: string, now: number): Consent {
  return {
    id: `${a.id}-forged`,
    patient: patientId,
    granteeOrg: a.requester,
    purpose: a.purpose,
    resourceTypes: a.resourceTypes,
    start: now - MINUTE,
    end: now + CONSENT_MS,
    revoked: false,
  };
}
