// What the Records screen needs (issue 13): the patient list searched by any part of a name, a birth date as
// YYYY, YYYY-MM or YYYY-MM-DD, or an identifier value, decrypted on the tablet (the database has no clear
// index of them), and a patient's chart in the shapes of node/api.ts.
import 'fake-indexeddb/auto';
import { beforeAll, afterAll, describe, expect, it } from 'vitest';
import { RecordStore } from '../../../web/src/core/records/index.ts';
import type { PatientChart, PatientSummary } from '../../../web/src/core/node/api.ts';
import { loadSynthea, patientIdOf, syntheaFiles } from './synthea.ts';

const key = new Uint8Array(32).fill(41);
const bundles = syntheaFiles.map(loadSynthea);
const ids = bundles.map(patientIdOf);
let store: RecordStore;

const names = async (text: string): Promise<string[]> => (await store.patients({ text })).map((p) => p.id);

beforeAll(async () => {
  store = await RecordStore.open('records-patients', key);
  for (const b of bundles) await store.importBundle(b);
  await store.importBundle({
    resourceType: 'Bundle',
    type: 'batch',
    entry: [
      {
        resource: {
          resourceType: 'Patient',
          id: 'zoe',
          name: [
            { use: 'official', given: ['Zoë', 'Anne'], family: 'Müller-Lüdenscheidt', prefix: ['Dr.'] },
            { use: 'old', family: 'Smith' },
          ],
          birthDate: '1970-03-09',
          gender: 'female',
          identifier: [{ system: 'urn:mrn', value: 'MRN-000123' }],
        },
      },
    ],
  });
}, 120_000);

afterAll(() => store.close());

describe('patient list search', () => {
  it('lists every patient by name, with demographics and counts', async () => {
    const all: PatientSummary[] = await store.patients();
    expect(all.map((p) => p.id).sort()).toEqual([...ids, 'zoe'].sort());
    const zoe = all.find((p) => p.id === 'zoe')!;
    expect(zoe).toEqual({
      id: 'zoe',
      name: 'Dr. Zoë Anne Müller-Lüdenscheidt',
      birthDate: '1970-03-09',
      gender: 'female',
      identifiers: [{ system: 'urn:mrn', value: 'MRN-000123' }],
      counts: { Patient: 1 },
      erased: false,
      linkedDevices: 0,
    });
    const first = all.find((p) => p.id === ids[0])!;
    const expected: Record<string, number> = {};
    for (const e of bundles[0]!.entry)
      if (!['Organization', 'Practitioner'].includes(e.resource.resourceType)) expected[e.resource.resourceType] = (expected[e.resource.resourceType] ?? 0) + 1;
    expect(first.counts).toEqual(expected);
    expect(all.map((p) => p.name)).toEqual([...all.map((p) => p.name)].sort((a, b) => a.localeCompare(b)));
  });

  it('matches any part of any name, ignoring case and accents', async () => {
    expect(await names('zoe')).toEqual(['zoe']);
    expect(await names('LUDEN')).toEqual(['zoe']);
    expect(await names('anne müller')).toEqual(['zoe']);
    expect(await names('smith')).toEqual(['zoe']); // a former name still finds her
    const given = (bundles[1]!.entry[0]!.resource as unknown as fhir4.Patient).name![0]!.given![0]!;
    expect(await names(given.slice(0, 4).toLowerCase())).toEqual([ids[1]]);
    expect(await names('nobody-by-this-name')).toEqual([]);
  });

  it('matches a birth date as YYYY, YYYY-MM or YYYY-MM-DD', async () => {
    expect(await names('1970')).toEqual(['zoe']);
    expect(await names('1970-03')).toEqual(['zoe']);
    expect(await names('1970-03-09')).toEqual(['zoe']);
    expect(await names('1970-04')).toEqual([]);
    const p = bundles[2]!.entry[0]!.resource as unknown as fhir4.Patient;
    expect(await names(p.birthDate!)).toEqual([ids[2]]);
  });

  it('matches an identifier value, and combines terms', async () => {
    expect(await names('MRN-000123')).toEqual(['zoe']);
    expect(await names('000123')).toEqual(['zoe']);
    const ssn = (bundles[0]!.entry[0]!.resource as unknown as fhir4.Patient).identifier!.find((i) => i.system === 'http://hl7.org/fhir/sid/us-ssn')!.value!;
    expect(await names(ssn)).toEqual([ids[0]]);
    expect(await names('zoe 1970')).toEqual(['zoe']);
    expect(await names('zoe 1971')).toEqual([]);
    expect((await store.patients({ limit: 2 })).length).toBe(2);
  });

  it('sees a patient another tab imported', async () => {
    const other = await RecordStore.open('records-patients', key);
    await other.put({ resourceType: 'Patient', id: 'late', name: [{ family: 'Latecomer' }] } as fhir4.Patient);
    other.close();
    await expect.poll(() => names('latecomer')).toEqual(['late']);
  });
});

describe('patient chart', () => {
  it('gives demographics, conditions, medications, encounters and observations in time order, with counts', async () => {
    const chart: PatientChart = await store.patientChart(ids[2]!);
    const b = bundles[2]!;
    const count = (t: string): number => b.entry.filter((e) => e.resource.resourceType === t).length;
    expect(chart.patient.id).toBe(ids[2]);
    expect(chart.conditions.length).toBe(count('Condition'));
    expect(chart.encounters.length).toBe(count('Encounter'));
    expect(chart.observations.length).toBe(count('Observation'));
    expect(chart.medications.length).toBe(count('MedicationRequest') + count('MedicationStatement'));
    expect(chart.counts.Immunization).toBe(count('Immunization'));
    const starts = chart.encounters.map((e) => Date.parse(e.period!.start!));
    expect(starts).toEqual([...starts].sort((x, y) => x - y));
    const times = chart.observations.map((o) => Date.parse(o.effectiveDateTime!));
    expect(times).toEqual([...times].sort((x, y) => x - y));
    expect((await store.patientSummary(ids[2]!))!.counts).toEqual(chart.counts);
    await expect(store.patientChart('nobody')).rejects.toMatchObject({ reason: 'not-found' });
  });
});
