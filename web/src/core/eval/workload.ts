/// <reference types="fhir" />
// The evaluation's one workload, generated from a seed: clinics, patients (the Synthea bundles and patients
// derived from them by seeded perturbation, each a valid FHIR R4 bundle), wearable record updates, labelled
// access attempts, tamper attempts and the federated-learning task. The three architectures are run on the
// same workload, so they meet the same patients and the same attackers. Its digest (sha256 over the canonical
// encoding) identifies it: same seed and size, same digest.
import { sha256 } from '../../../../wasm/index.ts';
import { canonicalBytes } from '../codec/index.ts';
import { Prng, toHex } from '../util/index.ts';

export const LEGITIMATE_KINDS = ['consented', 'emergency'] as const;
export const UNAUTHORIZED_KINDS = [
  'no-consent',
  'revoked-consent',
  'expired-consent',
  'wrong-purpose',
  'wrong-resource-type',
  'stolen-credentials',
  'replayed-credentials',
  'insider',
  'forged-consent',
  'break-glass-abuse',
] as const;
export type LegitimateKind = (typeof LEGITIMATE_KINDS)[number];
export type UnauthorizedKind = (typeof UNAUTHORIZED_KINDS)[number];
export type AccessKind = LegitimateKind | UnauthorizedKind;

/**
 * Tampering by someone with write access to a clinic's (or the EHR's) storage. "-and-cover" variants also
 * rewrite whatever integrity evidence the architecture keeps where the attacker can write (checksums, history
 * rows) or, where the evidence is on a ledger, try to commit a forged anchor.
 */
export const TAMPER_KINDS = ['flip-bytes', 'edit', 'edit-and-cover', 'rollback', 'rollback-and-cover', 'substitute', 'delete', 'delete-and-cover'] as const;
export type TamperKind = (typeof TAMPER_KINDS)[number];

export type ConsentSetup = { readonly state: 'none' } | { readonly state: 'active' | 'revoked' | 'expired'; readonly purpose: string; readonly resourceTypes: readonly string[] };

export interface AccessAttempt {
  readonly id: string;
  readonly label: 'legitimate' | 'unauthorized';
  readonly kind: AccessKind;
  /** Index into `patients`. */
  readonly patient: number;
  readonly holder: string;
  /** The clinic the request comes from (for `insider`, the holder itself). */
  readonly requester: string;
  readonly purpose: string;
  readonly resourceTypes: readonly string[];
  readonly breakGlass: boolean;
  /** The patient's consent for the requester, set up just before the attempt. */
  readonly consent: ConsentSetup;
  /** replayed-credentials: the earlier consented attempt whose request is replayed. */
  readonly replayOf?: string;
}

export interface TamperAttempt {
  readonly id: string;
  readonly kind: TamperKind;
  readonly patient: number;
  /** Which of the patient's resources (index into its bundle's entries, never the Patient itself). */
  readonly entry: number;
  /** substitute: the entry whose content is moved in. */
  readonly otherEntry: number;
}

export interface RecordUpdate {
  readonly patient: number;
  /** A wearable heart-rate reading: the update's content. */
  readonly bpm: number;
  readonly time: number;
}

export interface WorkloadPatient {
  readonly clinic: string;
  readonly patientId: string;
  /** A FHIR R4 batch bundle with literal references (Type/id). */
  readonly bundle: fhir4.Bundle;
  /** Resource types this patient has (besides Patient), for requests. */
  readonly resourceTypes: readonly string[];
  /** The source Synthea bundle (index) and whether this patient is derived from it. */
  readonly source: number;
  readonly derived: boolean;
}

export interface Workload {
  readonly seed: number;
  readonly quick: boolean;
  readonly clinics: readonly string[];
  /** holder -> the clinics its emergency policy admits for break-glass. */
  readonly emergencyPartners: Readonly<Record<string, readonly string[]>>;
  /** The clinic whose administrator later edits the audit logs it can write. */
  readonly insiderClinic: string;
  readonly patients: readonly WorkloadPatient[];
  readonly updates: readonly RecordUpdate[];
  readonly access: readonly AccessAttempt[];
  readonly tamper: readonly TamperAttempt[];
  readonly fl: { readonly rounds: number; readonly clients: number; readonly attack: 'sign-flip' | 'label-flip' | 'scale'; readonly attackers: number };
}

export interface WorkloadSize {
  readonly clinics: number;
  readonly patients: number;
  readonly access: number;
  readonly tamper: number;
  readonly updates: number;
  readonly flRounds: number;
}

export const QUICK_SIZE: WorkloadSize = { clinics: 4, patients: 12, access: 120, tamper: 56, updates: 16, flRounds: 5 };
export const FULL_SIZE: WorkloadSize = { clinics: 7, patients: 28, access: 500, tamper: 200, updates: 50, flRounds: 20 };

export class WorkloadError extends Error {
  override readonly name = 'WorkloadError';
}

const SHAREABLE = ['Condition', 'Observation', 'Immunization', 'Encounter', 'Procedure', 'CarePlan', 'DiagnosticReport', 'Claim', 'AllergyIntolerance', 'MedicationRequest'];
const clinicName = (i: number): string => `clinic-${String.fromCharCode(97 + i)}`;

export function generateWorkload(opts: { seed: number; quick: boolean; bundles: readonly unknown[]; size?: WorkloadSize }): Workload {
  if (opts.bundles.length === 0) throw new WorkloadError('no Synthea bundles to build patients from');
  const size = opts.size ?? (opts.quick ? QUICK_SIZE : FULL_SIZE);
  const root = new Prng(opts.seed);
  const clinics = Array.from({ length: size.clinics }, (_, i) => clinicName(i));

  const pp = root.fork('patients');
  const patients: WorkloadPatient[] = [];
  for (let i = 0; i < size.patients; i++) {
    const source = i % opts.bundles.length;
    const derived = i >= opts.bundles.length;
    const bundle = literalBundle(opts.bundles[source], derived ? pp.fork(`patient-${i}`) : null);
    const patient = bundle.entry!.find((e) => e.resource?.resourceType === 'Patient')!.resource!;
    const types = [...new Set(bundle.entry!.map((e) => e.resource!.resourceType))].filter((t) => SHAREABLE.includes(t)).sort();
    patients.push({ clinic: clinics[i % clinics.length]!, patientId: patient.id!, bundle, resourceTypes: types, source, derived });
  }

  const ep = root.fork('emergency');
  const emergencyPartners: Record<string, string[]> = {};
  for (const c of clinics) {
    const others = ep.shuffle(clinics.filter((x) => x !== c));
    emergencyPartners[c] = others.slice(0, Math.max(1, Math.floor(others.length / 2))).sort();
  }
  const insiderClinic = clinics[root.fork('insider').int(clinics.length)]!;

  const ap = root.fork('access');
  const access: AccessAttempt[] = [];
  const consentedSoFar: AccessAttempt[] = [];
  for (let i = 0; i < size.access; i++) {
    const id = `acc-${i}`;
    // Two in five attempts legitimate; the attack kinds in turn, so every kind is tried in a quick run.
    const legit = ap.float() < 0.4 || (consentedSoFar.length === 0 && i < 2);
    const kind: AccessKind = legit
      ? ap.float() < 0.75 || consentedSoFar.length === 0
        ? 'consented'
        : 'emergency'
      : UNAUTHORIZED_KINDS[access.filter((a) => a.label === 'unauthorized').length % UNAUTHORIZED_KINDS.length]!;
    const patient = ap.int(patients.length);
    const p = patients[patient]!;
    const holder = p.clinic;
    const partners = emergencyPartners[holder]!;
    const outsiders = clinics.filter((c) => c !== holder && !partners.includes(c));
    const others = clinics.filter((c) => c !== holder);
    let requester = ap.pick(others);
    if (kind === 'emergency') requester = ap.pick(partners);
    if (kind === 'break-glass-abuse') requester = ap.pick(outsiders.length > 0 ? outsiders : others);
    if (kind === 'insider') requester = holder;
    const shuffled = ap.shuffle([...p.resourceTypes]);
    const types = shuffled.slice(0, 1 + ap.int(Math.min(2, shuffled.length))).sort();
    const active = { state: 'active', purpose: 'TREAT', resourceTypes: types } as const;
    let consent: ConsentSetup = { state: 'none' };
    let resourceTypes: readonly string[] = types;
    let purpose = 'TREAT';
    let replayOf: string | undefined;
    switch (kind) {
      case 'consented':
      case 'wrong-purpose':
      case 'stolen-credentials':
        consent = active;
        break;
      case 'revoked-consent':
        consent = { ...active, state: 'revoked' };
        break;
      case 'expired-consent':
        consent = { ...active, state: 'expired' };
        break;
      case 'wrong-resource-type': {
        const other = shuffled.find((t) => !types.includes(t)) ?? shuffled[0]!;
        consent = { ...active, resourceTypes: [types[0]!] };
        resourceTypes = types.includes(other) ? [types[types.length - 1]!] : [other];
        if (resourceTypes[0] === types[0]) resourceTypes = [SHAREABLE.find((t) => t !== types[0])!];
        break;
      }
      case 'replayed-credentials': {
        const original = ap.pick(consentedSoFar);
        replayOf = original.id;
        consent = original.consent;
        resourceTypes = original.resourceTypes;
        break;
      }
      default:
        break;
    }
    if (kind === 'wrong-purpose') purpose = 'HRESCH';
    const breakGlass = kind === 'emergency' || kind === 'break-glass-abuse';
    if (breakGlass) purpose = 'ETREAT';
    const replayed = replayOf === undefined ? undefined : access.find((a) => a.id === replayOf)!;
    const attempt: AccessAttempt = {
      id,
      label: legit ? 'legitimate' : 'unauthorized',
      kind,
      patient: replayed?.patient ?? patient,
      holder: replayed?.holder ?? holder,
      requester: replayed?.requester ?? requester,
      purpose,
      resourceTypes,
      breakGlass,
      consent,
      ...(replayOf === undefined ? {} : { replayOf }),
    };
    access.push(attempt);
    if (kind === 'consented') consentedSoFar.push(attempt);
  }

  const tp = root.fork('tamper');
  const tamper: TamperAttempt[] = [];
  for (let i = 0; i < size.tamper; i++) {
    const patient = tp.int(patients.length);
    const entries = patients[patient]!.bundle.entry!;
    const candidates = entries.map((e, k) => (SHAREABLE.includes(e.resource!.resourceType) ? k : -1)).filter((k) => k >= 0);
    const entry = tp.pick(candidates);
    const sameType = candidates.filter((k) => k !== entry && entries[k]!.resource!.resourceType === entries[entry]!.resource!.resourceType);
    const anyOther = candidates.filter((k) => k !== entry);
    const otherEntry = sameType.length > 0 ? tp.pick(sameType) : anyOther.length > 0 ? tp.pick(anyOther) : entry;
    tamper.push({ id: `tam-${i}`, kind: TAMPER_KINDS[i % TAMPER_KINDS.length]!, patient, entry, otherEntry });
  }

  const up = root.fork('updates');
  const updates: RecordUpdate[] = Array.from({ length: size.updates }, (_, i) => ({
    patient: up.int(patients.length),
    bpm: 55 + up.int(60),
    time: Date.UTC(2026, 0, 10) + i * 60_000,
  }));

  const attacks = ['sign-flip', 'label-flip', 'scale'] as const;
  const fl = { rounds: size.flRounds, clients: size.clinics, attack: attacks[root.fork('fl').int(attacks.length)]!, attackers: 1 };
  return { seed: opts.seed, quick: opts.quick, clinics, emergencyPartners, insiderClinic, patients, updates, access, tamper, fl };
}

/** What identifies a patient in clear: its id and its family names (what an insider looks for in raw rows). */
export function patientIdentifiers(p: WorkloadPatient): string[] {
  const patient = p.bundle.entry!.find((e) => e.resource?.resourceType === 'Patient')!.resource as fhir4.Patient;
  return [p.patientId, ...(patient.name ?? []).flatMap((n) => (n.family === undefined ? [] : [n.family]))];
}

/** sha256 over the workload's canonical encoding, hex. */
export function workloadDigest(w: Workload): string {
  return toHex(sha256(canonicalBytes(JSON.parse(JSON.stringify(w)) as unknown)));
}

/**
 * A Synthea bundle with urn:uuid references turned into literal Type/id ones; with `prng`, a new patient:
 * every id replaced by a fresh seeded one, the name's digits, the birth date and numeric observation values
 * perturbed (so the result is a different, still valid, patient).
 */
function literalBundle(source: unknown, prng: Prng | null): fhir4.Bundle {
  const b = structuredClone(source) as fhir4.Bundle;
  if (!Array.isArray(b.entry)) throw new WorkloadError('a Synthea bundle without entries');
  let text = JSON.stringify(b);
  if (prng !== null) {
    for (const e of b.entry) {
      const id = e.resource?.id;
      if (id !== undefined) text = text.split(id).join(uuidOf(prng));
    }
  }
  const out = JSON.parse(text) as fhir4.Bundle;
  const byUrl = new Map<string, string>();
  for (const e of out.entry!) if (e.fullUrl !== undefined && e.resource?.id !== undefined) byUrl.set(e.fullUrl, `${e.resource.resourceType}/${e.resource.id}`);
  const rewrite = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(rewrite);
    if (node === null || typeof node !== 'object') return;
    const o = node as Record<string, unknown>;
    for (const [k, v] of Object.entries(o)) {
      if (k === 'reference' && typeof v === 'string' && byUrl.has(v)) o[k] = byUrl.get(v);
      else rewrite(v);
    }
  };
  for (const e of out.entry!) rewrite(e.resource);
  if (prng !== null) {
    const days = prng.range(-3650, 3650);
    for (const e of out.entry!) {
      const r = e.resource!;
      if (r.resourceType === 'Patient') {
        const p = r as fhir4.Patient;
        if (p.birthDate !== undefined) p.birthDate = new Date(Date.parse(p.birthDate) + Math.round(days) * 86_400_000).toISOString().slice(0, 10);
        for (const n of p.name ?? []) {
          if (n.family !== undefined) n.family = n.family.replace(/\d+/g, () => String(100 + prng.int(900)));
          n.given = n.given?.map((g) => g.replace(/\d+/g, () => String(100 + prng.int(900))));
        }
      }
      if (r.resourceType === 'Observation') {
        const q = (r as fhir4.Observation).valueQuantity;
        if (q?.value !== undefined) q.value = Math.round(q.value * (0.95 + prng.float() * 0.1) * 100) / 100;
      }
    }
  }
  return out;
}

function uuidOf(prng: Prng): string {
  const h = toHex(prng.bytes(16));
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
