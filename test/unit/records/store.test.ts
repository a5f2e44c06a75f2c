// The record store over fake-indexeddb: Synthea's bundles import whole with resolved references, nothing in
// the raw database reads in clear, re-import is idempotent, versions are kept and anchored, and any change
// to stored bytes fails verification.
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { openDB } from 'idb';
import { RecordError, RecordStore } from '../../../web/src/core/records/index.ts';
import { canonicalJson } from '../../../web/src/core/codec/index.ts';
import { rawDump } from '../../e2e/fixtures/records/raw-dump.ts';
import { loadSynthea, patientIdOf, sensitiveStrings, syntheaFiles, freshStoreName } from './synthea.ts';
import { referencesOf } from './references.ts';
import { bundleOf, encounter, entriesOf, observation as obs } from './fhir.ts';

const key = (n: number): Uint8Array => new Uint8Array(32).fill(n);
const freshName = (): string => freshStoreName('store');

describe('RecordStore: Synthea import', () => {
  it.each(syntheaFiles)('imports %s with zero rejections, resolved references, idempotently, nothing in clear', async (file) => {
    const bundle = loadSynthea(file);
    const name = freshName();
    const store = await RecordStore.open(name, key(7));
    const report = await store.importBundle(bundle);
    expect(report.rejected).toEqual([]);
    const total = Object.values(report.imported).reduce((a, b) => a + b, 0);
    expect(total).toBe(bundle.entry.length);
    expect(report.imported.Patient).toBe(1);
    expect(report.anchors.length).toBe(total);
    const patientId = patientIdOf(bundle);
    expect(report.patients).toEqual([patientId]);

    const all = await store.search({ patient: patientId });
    // Everything but the shared Organizations and Practitioners belongs to the patient.
    const shared = (report.imported.Organization ?? 0) + (report.imported.Practitioner ?? 0);
    expect(all.length).toBe(total - shared);
    for (const r of all) {
      for (const ref of referencesOf(r)) {
        expect(ref.startsWith('urn:uuid:')).toBe(false);
        if (ref.startsWith('#')) continue;
        expect(await store.resolve(ref), 'a stored reference resolves').toBeDefined();
      }
    }
    const encounters = await store.search({ patient: patientId, resourceType: 'Encounter' });
    expect(encounters.length).toBe(report.imported.Encounter);
    expect(encounters.every((e) => e.resourceType === 'Encounter')).toBe(true);

    const again = await store.importBundle(bundle);
    expect(again.rejected).toEqual([]);
    expect(again.unchanged).toBe(total);
    expect(again.anchors).toEqual([]);
    expect(await store.latestVersion('Patient', patientId)).toBe(1);

    const dump = await rawDump(name);
    expect(dump.length).toBeGreaterThan(10_000);
    for (const s of sensitiveStrings(bundle)) expect(dump.includes(s), 'raw database leaks a patient field').toBe(false);
    for (const t of Object.keys(report.imported)) expect(dump.includes(t), 'raw database names a resource type').toBe(false);
    store.close();
  });

  it('reads back the original content with references rewritten', async () => {
    const bundle = loadSynthea(syntheaFiles[0]!);
    const store = await RecordStore.open(freshName(), key(1));
    await store.importBundle(bundle);
    const original = bundle.entry[0]!.resource;
    expect(canonicalJson(await store.read('Patient', original.id))).toBe(canonicalJson(original));
    const enc = bundle.entry.find((e) => e.resource.resourceType === 'Encounter')!.resource;
    const got = (await store.read('Encounter', enc.id)) as fhir4.Encounter;
    expect(got.subject?.reference).toBe(`Patient/${original.id}`);
    store.close();
  });
});

describe('RecordStore: bundles with problems', () => {
  const patient = { resourceType: 'Patient', id: 'p1', identifier: [{ system: 'urn:mrn', value: 'MRN-1' }], birthDate: '1970-01-01' };
  const practitioner = { resourceType: 'Practitioner', id: 'dr1', identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: '999' }] };

  it('a batch rejects malformed entries by index, with the resource type, and imports the rest', async () => {
    const store = await RecordStore.open(freshName(), key(2));
    const report = await store.importBundle(
      bundleOf('batch', [
        { fullUrl: 'urn:uuid:00000000-0000-0000-0000-000000000001', resource: patient, request: { method: 'POST', url: 'Patient' } },
        { resource: obs('o1', 'urn:uuid:00000000-0000-0000-0000-0000000000ff') },
        'not an entry',
        { resource: { resourceType: 'Observation' } },
        { resource: { resourceType: 'lower', id: 'x' } },
        { resource: obs('o2', 'urn:uuid:00000000-0000-0000-0000-000000000001'), request: { method: 'DELETE', url: 'Observation/o2' } },
        { resource: obs('o3', 'urn:uuid:00000000-0000-0000-0000-000000000001') },
        { resource: obs('o4', 'Patient/nobody-here') },
        { resource: obs('o5', 'Patient/p1', { status: 'not-a-status', valueQuantity: { value: 'seven' } }) },
      ]),
    );
    expect(report.rejected.map((r) => r.index)).toEqual([1, 2, 3, 4, 5, 7, 8]);
    expect(report.rejected.map((r) => r.resourceType)).toEqual(['Observation', '', 'Observation', '', 'Observation', 'Observation', 'Observation']);
    expect(report.rejected[0]!.reason).toMatch(/urn/);
    expect(report.rejected[5]!.reason).toMatch(/neither in the bundle nor in this store/);
    expect(report.rejected[6]!.reason).toMatch(/^Observation\.value\[x\]\.value: /);
    expect(report.rejected[6]!.reason).not.toMatch(/seven/);
    expect(report.imported).toEqual({ Patient: 1, Observation: 1 });
    expect(((await store.read('Observation', 'o3')) as fhir4.Observation).subject?.reference).toBe('Patient/p1');
    await expect(store.read('Observation', 'o1')).rejects.toMatchObject({ reason: 'not-found' });
    store.close();
  });

  it('a transaction with one bad entry imports nothing and says why', async () => {
    const store = await RecordStore.open(freshName(), key(2));
    const report = await store.importBundle(bundleOf('transaction', entriesOf(patient, obs('o1', 'Patient/p1'), obs('o2', 'Patient/elsewhere'))));
    expect(report.imported).toEqual({});
    expect(report.anchors).toEqual([]);
    expect(report.rejected.map((r) => r.index)).toEqual([-1, 2]);
    expect(report.rejected[0]!.reason).toMatch(/whole or not at all/);
    await expect(store.read('Patient', 'p1')).rejects.toMatchObject({ reason: 'not-found' });
    expect(await store.patients()).toEqual([]);
    store.close();
  });

  it('a batch entry that refers to a rejected entry is rejected too', async () => {
    const store = await RecordStore.open(freshName(), key(2));
    const report = await store.importBundle(bundleOf('batch', entriesOf({ ...patient, birthDate: 'last spring' }, obs('o1', 'Patient/p1'), practitioner)));
    expect(report.rejected.map((r) => r.index)).toEqual([0, 1]);
    expect(report.imported).toEqual({ Practitioner: 1 });
    store.close();
  });

  it('refuses what is not an importable bundle with a typed error, and a clinic key that is not this store’s', async () => {
    const name = freshName();
    const store = await RecordStore.open(name, key(2));
    await expect(store.importBundle({ resourceType: 'Patient' })).rejects.toBeInstanceOf(RecordError);
    await expect(store.importBundle({ resourceType: 'Bundle', type: 'searchset', entry: [] })).rejects.toMatchObject({ reason: 'malformed' });
    await expect(store.importBundle(null)).rejects.toMatchObject({ reason: 'malformed' });
    await expect(RecordStore.open(freshName(), new Uint8Array(16))).rejects.toMatchObject({ reason: 'bad-key' });
    store.close();
    await expect(RecordStore.open(name, key(3))).rejects.toMatchObject({ reason: 'bad-key' });
  });

  it('resolves conditional references in the bundle and in the store, else keeps a logical reference', async () => {
    const store = await RecordStore.open(freshName(), key(3));
    await store.importBundle(bundleOf('batch', [{ resource: practitioner, request: { method: 'PUT', url: 'Practitioner/dr1' } }]));
    const report = await store.importBundle(
      bundleOf('transaction', [
        { fullUrl: 'urn:uuid:00000000-0000-0000-0000-000000000001', resource: patient, request: { method: 'POST', url: 'Patient' } },
        {
          resource: encounter('e1', 'Patient?identifier=urn:mrn|MRN-1', {
            participant: [{ individual: { reference: 'Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|999' } }],
            serviceProvider: { reference: 'Organization?identifier=https://github.com/synthetichealth/synthea|abc' },
          }),
          request: { method: 'POST', url: 'Encounter' },
        },
      ]),
    );
    expect(report.rejected).toEqual([]);
    const e = (await store.read('Encounter', 'e1')) as fhir4.Encounter;
    expect(e.subject?.reference).toBe('Patient/p1');
    expect(e.participant?.[0]?.individual?.reference).toBe('Practitioner/dr1');
    expect(e.serviceProvider).toEqual({ type: 'Organization', identifier: { system: 'https://github.com/synthetichealth/synthea', value: 'abc' } });
    expect((await store.search({ patient: 'p1', resourceType: 'Encounter' })).length).toBe(1);
    store.close();
  });
});

describe('RecordStore: versions, anchors, tampering', () => {
  const o1 = obs('o1', 'Patient/p9', { status: 'preliminary' });

  it('keeps old versions, returns what to anchor, and commits to each', async () => {
    const store = await RecordStore.open(freshName(), key(4));
    await store.put({ resourceType: 'Patient', id: 'p9' });
    const first = await store.put(o1);
    expect(first).toMatchObject({ version: 1, changed: true });
    expect(first.anchor).toMatchObject({ anchorId: store.anchorId('Observation', 'o1'), version: 1 });
    const c1 = await store.commitment('Observation', 'o1');
    expect(Buffer.from(first.anchor!.commitment).equals(Buffer.from(c1))).toBe(true);
    expect(await store.put(o1)).toEqual({ version: 1, changed: false, anchor: null });
    const second = await store.put({ ...o1, status: 'final' });
    expect(second).toMatchObject({ version: 2, changed: true });
    const c2 = await store.commitment('Observation', 'o1');
    expect(Buffer.from(c1).equals(Buffer.from(c2))).toBe(false);
    expect(((await store.read('Observation', 'o1', 1)) as fhir4.Observation).status).toBe('preliminary');
    expect(((await store.read('Observation', 'o1')) as fhir4.Observation).status).toBe('final');
    expect(await store.verify('Observation', 'o1', c2)).toBe(true);
    expect(await store.verify('Observation', 'o1', c1)).toBe(false);
    expect(await store.verify('Observation', 'o1', { version: 1, commitment: c1 })).toBe(true);
    expect(await store.anchorsOf([{ resourceType: 'Observation', id: 'o1' }])).toEqual([second.anchor]);
    await expect(store.put({ resourceType: 'Observation' } as fhir4.Observation)).rejects.toMatchObject({ reason: 'malformed' });
    await expect(store.put({ ...o1, id: 'o2', subject: { reference: 'Patient/absent' } })).rejects.toMatchObject({ reason: 'unresolved-reference' });
    store.close();
  });

  it('stores a heart-rate Observation (LOINC 8867-4) and a virtual consult Encounter (class VR), ready to anchor', async () => {
    const store = await RecordStore.open(freshName(), key(4));
    await store.put({ resourceType: 'Patient', id: 'p9' });
    const [hr, enc] = await store.putAll([
      {
        resourceType: 'Observation',
        id: 'hr-1',
        status: 'final',
        category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
        code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
        subject: { reference: 'Patient/p9' },
        effectiveDateTime: '2026-01-05T10:00:00Z',
        valueQuantity: { value: 72, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
      } as fhir4.Resource,
      {
        resourceType: 'Encounter',
        id: 'consult-1',
        status: 'finished',
        class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'VR', display: 'virtual' },
        subject: { reference: 'Patient/p9' },
        period: { start: '2026-01-05T10:00:00Z', end: '2026-01-05T10:20:00Z' },
      } as fhir4.Resource,
    ]);
    expect(hr!.anchor?.version).toBe(1);
    expect(enc!.anchor?.anchorId).toBe(store.anchorId('Encounter', 'consult-1'));
    expect((await store.search({ patient: 'p9' })).map((r) => r.id)).toEqual(['consult-1', 'hr-1', 'p9']);
    store.close();
  });

  it('detects direct edits of the database: a flipped bit, another row moved in, a rollback to an older version', async () => {
    const name = freshName();
    const store = await RecordStore.open(name, key(5));
    const bundle = loadSynthea(syntheaFiles[1]!);
    await store.importBundle(bundle);
    const pid = patientIdOf(bundle);
    const raw = await openDB(name);
    const slot = store.rowKeyOf('Patient', pid);
    const v1Row = await raw.get('rows', slot);
    await store.put({ ...(await store.read('Patient', pid)), gender: 'other' } as fhir4.Patient);
    const anchor = await store.commitment('Patient', pid);
    expect(await store.verify('Patient', pid, anchor)).toBe(true);
    const latest = await raw.get('rows', slot);

    // 1. one flipped bit
    const c = latest.c.slice();
    c[40] ^= 1;
    await raw.put('rows', { ...latest, c }, slot);
    expect(await store.verify('Patient', pid, anchor)).toBe(false);
    await expect(store.read('Patient', pid)).rejects.toMatchObject({ reason: 'tampered' });
    // 2. another record's row moved into this slot
    const other = store.rowKeyOf('Encounter', bundle.entry.find((e) => e.resource.resourceType === 'Encounter')!.resource.id);
    await raw.put('rows', await raw.get('rows', other), slot);
    expect(await store.verify('Patient', pid, anchor)).toBe(false);
    // 3. the row rolled back to its valid older ciphertext
    await raw.put('rows', v1Row, slot);
    expect(await store.verify('Patient', pid, anchor)).toBe(false);
    await raw.put('rows', latest, slot);
    expect(await store.verify('Patient', pid, anchor)).toBe(true);
    raw.close();
    store.close();
  });
});
