// Preprocessing for federated learning: FHIR records in, Float32 feature rows and integer labels out (the
// `Dataset` shape web/src/core/fl trains on). Wearable streams are cleaned (sensor errors and values no
// body produces are dropped, not learned from) and summarised per time window; a patient's clinical record
// (Synthea) becomes one row of demographics, utilisation and latest vitals.
import type { Dataset } from '../fl/index.ts';
import { SIGNALS, signalOf, type Signal } from './wearable.ts';

export class FeatureError extends Error {
  override readonly name = 'FeatureError';
}

/** Plausible physiological ranges (inclusive); anything outside is a device artifact. */
export const PLAUSIBLE: Readonly<Record<Signal, readonly [number, number]>> = {
  'heart-rate': [25, 220],
  spo2: [70, 100],
  steps: [0, 5000],
};

export interface CleanSample {
  readonly signal: Signal;
  readonly time: number;
  readonly value: number;
}

/** Keeps the valid wearable samples; counts what was dropped and why. */
export function cleanWearable(observations: readonly fhir4.Observation[]): { samples: CleanSample[]; absent: number; implausible: number } {
  const samples: CleanSample[] = [];
  let absent = 0;
  let implausible = 0;
  for (const o of observations) {
    const signal = signalOf(o);
    if (signal === undefined || o.status === 'entered-in-error' || o.effectiveDateTime === undefined) continue;
    const time = Date.parse(o.effectiveDateTime);
    const value = o.valueQuantity?.value;
    if (value === undefined || !Number.isFinite(time)) {
      absent++;
      continue;
    }
    const [lo, hi] = PLAUSIBLE[signal];
    if (!(value >= lo && value <= hi)) {
      implausible++;
      continue;
    }
    samples.push({ signal, time, value });
  }
  samples.sort((a, b) => a.time - b.time);
  return { samples, absent, implausible };
}

export const WEARABLE_FEATURES = ['hr_mean', 'hr_std', 'hr_min', 'hr_max', 'spo2_mean', 'spo2_min', 'steps_sum', 'hr_coverage'] as const;

/**
 * One feature row per window of `windowMs` (aligned to the epoch) with enough heart-rate samples
 * (`minCoverage` of those expected, default 0.5); windows that are mostly dropout are left out.
 */
export function wearableWindows(observations: readonly fhir4.Observation[], windowMs: number, minCoverage = 0.5): { start: number; features: number[] }[] {
  if (!Number.isSafeInteger(windowMs) || windowMs < SIGNALS['heart-rate'].periodMs) throw new FeatureError('windowMs must be an integer of at least one heart-rate period');
  const { samples } = cleanWearable(observations);
  const windows = new Map<number, CleanSample[]>();
  for (const s of samples) {
    const w = Math.floor(s.time / windowMs) * windowMs;
    let list = windows.get(w);
    if (!list) windows.set(w, (list = []));
    list.push(s);
  }
  const expectedHr = windowMs / SIGNALS['heart-rate'].periodMs;
  const out: { start: number; features: number[] }[] = [];
  for (const [start, list] of [...windows].sort((a, b) => a[0] - b[0])) {
    const hr = list.filter((s) => s.signal === 'heart-rate').map((s) => s.value);
    const spo2 = list.filter((s) => s.signal === 'spo2').map((s) => s.value);
    const steps = list.filter((s) => s.signal === 'steps').map((s) => s.value);
    const coverage = hr.length / expectedHr;
    if (hr.length === 0 || coverage < minCoverage) continue;
    const mean = hr.reduce((a, b) => a + b, 0) / hr.length;
    const std = Math.sqrt(hr.reduce((a, b) => a + (b - mean) ** 2, 0) / hr.length);
    const spo2Mean = spo2.length ? spo2.reduce((a, b) => a + b, 0) / spo2.length : 0;
    out.push({
      start,
      features: [mean, std, Math.min(...hr), Math.max(...hr), spo2Mean, spo2.length ? Math.min(...spo2) : 0, steps.reduce((a, b) => a + b, 0), Math.min(1, coverage)],
    });
  }
  return out;
}

/** Packs rows into the learning Dataset (row-major Float32 features, Int32 labels). */
export function toDataset(rows: readonly { features: readonly number[]; label: number }[], featureNames: readonly string[]): Dataset {
  const features = featureNames.length;
  const x = new Float32Array(rows.length * features);
  const y = new Int32Array(rows.length);
  rows.forEach((r, i) => {
    if (r.features.length !== features) throw new FeatureError(`row ${i} has ${r.features.length} features, expected ${features}`);
    if (!Number.isInteger(r.label)) throw new FeatureError(`row ${i} has a non-integer label`);
    for (let j = 0; j < features; j++) {
      const v = r.features[j]!;
      if (!Number.isFinite(v)) throw new FeatureError(`row ${i} feature ${featureNames[j]} is not finite`);
      x[i * features + j] = v;
    }
    y[i] = r.label;
  });
  return { x, y, rows: rows.length, features, featureNames: [...featureNames] };
}

/** Wearable streams of labelled patients (e.g. 0 healthy, 1 at-risk) to windowed rows. */
export function wearableDataset(patients: readonly { observations: readonly fhir4.Observation[]; label: number }[], windowMs = 3_600_000): Dataset {
  const rows = patients.flatMap((p) => wearableWindows(p.observations, windowMs).map((w) => ({ features: w.features, label: p.label })));
  return toDataset(rows, WEARABLE_FEATURES);
}

export const RECORD_FEATURES = ['age_years', 'male', 'encounters', 'active_conditions', 'medication_requests', 'bmi', 'systolic_bp', 'diastolic_bp', 'heart_rate'] as const;

const LOINC = { bmi: '39156-5', systolic: '8480-6', diastolic: '8462-4', heartRate: '8867-4' } as const;

const hasLoinc = (c: fhir4.CodeableConcept | undefined, code: string): boolean => (c?.coding ?? []).some((x) => x.system === 'http://loinc.org' && x.code === code);

/**
 * One row from a patient's clinical record (everything `RecordStore.search({ patient })` returns) as of `at`
 * (ms): age, sex, utilisation counts and the latest BMI, blood pressure and heart rate (0 when never measured).
 */
export function recordFeatures(resources: readonly fhir4.Resource[], at: number): number[] {
  const patient = resources.find((r): r is fhir4.Patient => r.resourceType === 'Patient');
  if (!patient?.birthDate) throw new FeatureError('the record has no Patient with a birth date');
  const age = (at - Date.parse(patient.birthDate)) / (365.25 * 86_400_000);
  let encounters = 0;
  let conditions = 0;
  let meds = 0;
  const latest: Record<keyof typeof LOINC, { t: number; v: number }> = {
    bmi: { t: -Infinity, v: 0 },
    systolic: { t: -Infinity, v: 0 },
    diastolic: { t: -Infinity, v: 0 },
    heartRate: { t: -Infinity, v: 0 },
  };
  const note = (k: keyof typeof LOINC, t: number, v: number | undefined): void => {
    if (v !== undefined && Number.isFinite(v) && t > latest[k].t && t <= at) latest[k] = { t, v };
  };
  for (const r of resources) {
    if (r.resourceType === 'Encounter') encounters++;
    else if (r.resourceType === 'MedicationRequest') meds++;
    else if (r.resourceType === 'Condition') {
      const c = r as fhir4.Condition;
      if (!c.abatementDateTime && (c.clinicalStatus?.coding ?? []).some((x) => x.code === 'active')) conditions++;
    } else if (r.resourceType === 'Observation') {
      const o = r as fhir4.Observation;
      const t = Date.parse(o.effectiveDateTime ?? '');
      if (!Number.isFinite(t)) continue;
      for (const k of Object.keys(LOINC) as (keyof typeof LOINC)[]) {
        if (hasLoinc(o.code, LOINC[k])) note(k, t, o.valueQuantity?.value);
        for (const comp of o.component ?? []) if (hasLoinc(comp.code, LOINC[k])) note(k, t, comp.valueQuantity?.value);
      }
    }
  }
  return [age, patient.gender === 'male' ? 1 : 0, encounters, conditions, meds, latest.bmi.v, latest.systolic.v, latest.diastolic.v, latest.heartRate.v];
}

/** Patients' records to a Dataset; `label` decides each patient's class from their record. */
export function recordDataset(patients: readonly (readonly fhir4.Resource[])[], at: number, label: (resources: readonly fhir4.Resource[]) => number): Dataset {
  return toDataset(
    patients.map((r) => ({ features: recordFeatures(r, at), label: label(r) })),
    RECORD_FEATURES,
  );
}
