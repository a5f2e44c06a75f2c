// The seeded wearable gateway and the preprocessing that turns records into learning rows: reproducible
// streams at the stated rates, faults that look like real device faults and are all caught by cleaning,
// streams that import into the encrypted store, and Synthea records turned into feature rows.
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { RecordStore } from '../../../web/src/core/records/index.ts';
import { canonicalJson } from '../../../web/src/core/codec/index.ts';
import {
  PLAUSIBLE,
  FeatureError,
  RECORD_FEATURES,
  WEARABLE_FEATURES,
  cleanWearable,
  recordDataset,
  toDataset,
  wearableDataset,
  wearableWindows,
} from '../../../web/src/core/records/features.ts';
import { WearableError, signalOf, wearableStream } from '../../../web/src/core/records/wearable.ts';
import { loadSynthea, patientIdOf, syntheaFiles } from './synthea.ts';

const DAY = 86_400_000;
const start = Date.UTC(2026, 0, 5);
const day = (seed: number, profile: 'healthy' | 'at-risk' = 'healthy', faultRate?: number) =>
  wearableStream({ seed, patientId: `p${seed}`, deviceId: `watch-${seed}`, start, durationMs: DAY, profile, ...(faultRate === undefined ? {} : { faultRate }) });

describe('wearable gateway', () => {
  it('is reproducible from its seed and differs across seeds', () => {
    expect(canonicalJson(day(7).observations)).toBe(canonicalJson(day(7).observations));
    expect(canonicalJson(day(7).observations)).not.toBe(canonicalJson(day(8).observations));
  });

  it('samples at realistic rates, in time order, within physiological ranges when the device works', () => {
    const { observations, faults } = day(3, 'healthy', 0);
    expect(faults).toEqual([]);
    const by = (s: string) => observations.filter((o) => signalOf(o) === s);
    expect(by('heart-rate').length).toBe(1440);
    expect(by('spo2').length).toBe(288);
    expect(by('steps').length).toBe(96);
    const times = observations.map((o) => Date.parse(o.effectiveDateTime!));
    expect(times.every((t, i) => i === 0 || t >= times[i - 1]!)).toBe(true);
    for (const o of observations) {
      const [lo, hi] = PLAUSIBLE[signalOf(o)!];
      expect(o.valueQuantity!.value).toBeGreaterThanOrEqual(lo);
      expect(o.valueQuantity!.value).toBeLessThanOrEqual(hi);
      expect(o.subject?.reference).toBe('Patient/p3');
    }
    const steps = by('steps').reduce((a, o) => a + o.valueQuantity!.value!, 0);
    expect(steps).toBeGreaterThan(1000);
    expect(steps).toBeLessThan(40_000);
  });

  it('injects dropouts, artifacts and sensor errors, and cleaning drops exactly the bad samples', () => {
    const { observations, faults } = day(11, 'healthy', 0.05);
    const kinds = new Set(faults.map((f) => f.kind));
    expect(kinds).toEqual(new Set(['dropout', 'artifact', 'sensor-error']));
    expect(observations.filter((o) => signalOf(o) === 'heart-rate').length).toBeLessThan(1440);
    const clean = cleanWearable(observations);
    expect(clean.absent).toBe(faults.filter((f) => f.kind === 'sensor-error').length);
    expect(clean.implausible).toBe(faults.filter((f) => f.kind === 'artifact').length);
    expect(clean.samples.length).toBe(observations.length - clean.absent - clean.implausible);
  });

  it('refuses bad options with a typed error', () => {
    expect(() => wearableStream({ seed: 1, patientId: 'p', deviceId: 'd', start, durationMs: 0 })).toThrow(WearableError);
    expect(() => wearableStream({ seed: 1, patientId: 'bad id/..', deviceId: 'd', start, durationMs: DAY })).toThrow(WearableError);
    expect(() => wearableStream({ seed: 1, patientId: 'p', deviceId: 'd', start, durationMs: DAY, faultRate: 2 })).toThrow(WearableError);
  });

  it('streams import into the encrypted record store and are found by patient', async () => {
    const { observations } = day(5, 'at-risk', 0.02);
    const store = await RecordStore.open('wearable-import', new Uint8Array(32).fill(9));
    const report = await store.importBundle({
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { resource: { resourceType: 'Patient', id: 'p5', birthDate: '1950-02-03' } },
        { resource: { resourceType: 'Device', id: 'watch-5', patient: { reference: 'Patient/p5' } } },
        ...observations.map((resource) => ({ resource })),
      ],
    });
    expect(report.rejected).toEqual([]);
    expect(report.imported.Observation).toBe(observations.length);
    const found = await store.search({ patient: 'p5', resourceType: 'Observation' });
    expect(found.length).toBe(observations.length);
    store.close();
  });
});

describe('preprocessing to feature rows', () => {
  it('summarises hourly windows; at-risk patients separate from healthy ones', () => {
    const healthy = [1, 2, 3].map((s) => ({ observations: day(s, 'healthy').observations, label: 0 }));
    const risk = [4, 5, 6].map((s) => ({ observations: day(s, 'at-risk').observations, label: 1 }));
    const d = wearableDataset([...healthy, ...risk]);
    expect(d.features).toBe(WEARABLE_FEATURES.length);
    expect(d.rows).toBeGreaterThan(6 * 20);
    expect(d.x.length).toBe(d.rows * d.features);
    expect(d.x.every(Number.isFinite)).toBe(true);
    const meanOf = (label: number, col: number) => {
      let sum = 0;
      let n = 0;
      for (let i = 0; i < d.rows; i++) {
        if (d.y[i] !== label) continue;
        sum += d.x[i * d.features + col]!;
        n++;
      }
      return sum / n;
    };
    expect(meanOf(1, 0)).toBeGreaterThan(meanOf(0, 0) + 5); // resting heart rate
    expect(meanOf(1, 4)).toBeLessThan(meanOf(0, 4)); // saturation
  });

  it('leaves out windows that are mostly dropout and refuses bad input', () => {
    const { observations } = day(2, 'healthy', 0);
    const firstHour = observations.filter((o) => Date.parse(o.effectiveDateTime!) < start + 3_600_000);
    expect(wearableWindows(firstHour, 3_600_000).length).toBe(1);
    expect(wearableWindows(firstHour.slice(0, 10), 3_600_000)).toEqual([]);
    expect(() => wearableWindows(observations, 1000)).toThrow(FeatureError);
    expect(() => toDataset([{ features: [Number.NaN], label: 0 }], ['a'])).toThrow(FeatureError);
    expect(() => toDataset([{ features: [1, 2], label: 0 }], ['a'])).toThrow(FeatureError);
  });

  it('turns Synthea records read back from the store into one row per patient', async () => {
    const files = syntheaFiles;
    const store = await RecordStore.open('features-synthea', new Uint8Array(32).fill(4));
    const records: fhir4.Resource[][] = [];
    for (const f of files) {
      const bundle = loadSynthea(f);
      const report = await store.importBundle(bundle);
      expect(report.rejected).toEqual([]);
      records.push(await store.search({ patient: patientIdOf(bundle) }));
    }
    const at = Date.UTC(2026, 0, 1);
    const d = recordDataset(records, at, (r) => (r.some((x) => x.resourceType === 'Condition') ? 1 : 0));
    expect(d.rows).toBe(files.length);
    expect(d.features).toBe(RECORD_FEATURES.length);
    for (let i = 0; i < d.rows; i++) {
      const row = [...d.x.subarray(i * d.features, (i + 1) * d.features)];
      const patient = records[i]!.find((r): r is fhir4.Patient => r.resourceType === 'Patient')!;
      expect(row[0]).toBeCloseTo((at - Date.parse(patient.birthDate!)) / (365.25 * DAY), 3);
      expect(row[1]).toBe(patient.gender === 'male' ? 1 : 0);
      expect(row[2]).toBe(records[i]!.filter((r) => r.resourceType === 'Encounter').length);
    }
    store.close();
  });
});
