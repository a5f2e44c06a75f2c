// Erasure leaves no trace (issue 10, finding 7): on every Synthea bundle, erasing a patient removes every row
// they had (records with all versions, identifier rows, their summary and wrapped key), so a scan of the raw
// database finds none of their names, identifiers, birth date, id, or any key or tag they had, while the other
// patients read as before. Resources that name the patient other than as `Patient/<id>` are the patient's and
// go with them; the wrapping key is rotated, so a restored copy of the old rows stays unreadable; and another
// open store (tab) forgets the patient at once.
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { openDB } from 'idb';
import { RecordStore } from '../../../web/src/core/records/index.ts';
import { rawDump } from '../../e2e/fixtures/records/raw-dump.ts';
import { loadSynthea, patientIdOf, sensitiveStrings, syntheaFiles, freshStoreName, storeWithSynthea } from './synthea.ts';
import { toHex } from '../../../web/src/core/util/index.ts';
import { bundleOf, encounter, entriesOf, observation } from './fhir.ts';

const key = new Uint8Array(32).fill(21);
const freshName = (): string => freshStoreName('erasure');

/** The raw rows filed under the owner of `rowKey`: their keys and the owner row. */
async function rowsOfOwner(name: string, rowKey: string): Promise<{ owner: string; keys: string[]; ownerRow: { w: Uint8Array; c: Uint8Array }; rows: Map<string, unknown> }> {
  const raw = await openDB(name);
  const owner = ((await raw.get('rows', rowKey)) as { o: string }).o;
  const keys = (await raw.getAllKeysFromIndex('rows', 'owner', owner)) as string[];
  const rows = new Map<string, unknown>();
  for (const k of keys) rows.set(k, await raw.get('rows', k));
  const ownerRow = await raw.get('owners', owner);
  raw.close();
  return { owner, keys, ownerRow, rows };
}

describe('erasure on every Synthea bundle', () => {
  it.each(syntheaFiles)(
    'erasing the patient of %s leaves no trace of them and the others intact',
    async (file) => {
      const name = freshName();
      const store = await RecordStore.open(name, key);
      const bundles = syntheaFiles.map(loadSynthea);
      for (const b of bundles) expect((await store.importBundle(b)).rejected).toEqual([]);
      const target = loadSynthea(file);
      const pid = patientIdOf(target);
      const others = bundles.filter((b) => patientIdOf(b) !== pid);
      const before = new Map<string, string>();
      for (const b of others) before.set(patientIdOf(b), JSON.stringify(await store.search({ patient: patientIdOf(b) })));
      const traces = await rowsOfOwner(name, store.rowKeyOf('Patient', pid));
      // Every resource row plus one row per business identifier.
      expect(traces.keys.length).toBeGreaterThan(target.entry.length - 4);
      const pseudonym = store.pseudonym(pid);

      await store.erasePatient(pid);

      const dump = await rawDump(name);
      for (const s of sensitiveStrings(target)) expect(dump.includes(s), 'a patient field survives erasure').toBe(false);
      expect(dump.includes(pid)).toBe(false);
      expect(dump.includes(traces.owner), 'the owner tag survives').toBe(false);
      for (const k of traces.keys) expect(dump.includes(k), 'a row key (record or identifier) survives').toBe(false);
      expect(dump.includes(String.fromCharCode(...traces.ownerRow.w)), 'the wrapped data key survives').toBe(false);
      expect(dump.includes(pseudonym)).toBe(false);

      await expect(store.search({ patient: pid })).rejects.toMatchObject({ reason: 'erased' });
      await expect(store.read('Patient', pid)).rejects.toMatchObject({ reason: 'erased' });
      expect((await store.patients()).map((p) => p.id).sort()).toEqual([...before.keys()].sort());
      for (const [id, json] of before) expect(JSON.stringify(await store.search({ patient: id }))).toBe(json);
      // The shared Organizations and Practitioners stay.
      const org = target.entry.find((e) => e.resource.resourceType === 'Organization')!.resource;
      expect((await store.read('Organization', org.id)).id).toBe(org.id);
      // A re-import cannot bring the patient back: every entry of theirs is refused.
      const again = await store.importBundle(target);
      expect(again.rejected.length).toBe(target.entry.length - 4);
      expect(again.rejected.every((r) => /erased/.test(r.reason))).toBe(true);
      store.close();

      const reopened = await RecordStore.open(name, key);
      for (const [id, json] of before) expect(JSON.stringify(await reopened.search({ patient: id }))).toBe(json);
      reopened.close();
    },
    120_000,
  );
});

describe('resources that name the patient other than as Patient/<id>', () => {
  const mrn = { system: 'urn:oid:2.16.840.1.113883.4.3.25', value: 'MRN-77' };
  const patient = { resourceType: 'Patient', id: 'p1', identifier: [mrn], name: [{ family: 'Quill', given: ['Ada'] }], birthDate: '1961-07-04' };
  const org = { resourceType: 'Organization', id: 'org1', name: 'Clinic' };
  const entries = [
    { fullUrl: 'urn:uuid:11111111-1111-1111-1111-111111111111', resource: patient },
    { resource: org },
    { resource: encounter('enc1', 'https://ehr.example/fhir/Patient/p1', { serviceProvider: { reference: 'Organization/org1' } }) },
    { resource: observation('obs-versioned', 'Patient/p1/_history/1') },
    { resource: observation('obs-urn', 'urn:uuid:11111111-1111-1111-1111-111111111111') },
    { resource: observation('obs-logical', { type: 'Patient', identifier: mrn }) },
    {
      resource: {
        resourceType: 'Claim',
        id: 'claim-logical',
        status: 'active',
        type: { text: 'x' },
        use: 'claim',
        created: '2026-01-01',
        provider: { reference: 'Organization/org1' },
        priority: { text: 'normal' },
        insurance: [{ sequence: 1, focal: true, coverage: { display: 'none' } }],
        patient: { identifier: mrn },
      },
    },
    {
      resource: {
        resourceType: 'DocumentReference',
        id: 'doc-encounter',
        status: 'current',
        content: [{ attachment: { contentType: 'text/plain' } }],
        context: { encounter: [{ reference: 'Encounter/enc1' }] },
      },
    },
    { resource: { resourceType: 'DiagnosticReport', id: 'report-result', status: 'final', code: { text: 'x' }, result: [{ reference: 'Observation/obs-versioned' }] } },
    {
      resource: {
        resourceType: 'Provenance',
        id: 'prov',
        target: [{ reference: 'Encounter/enc1' }, { reference: 'Organization/org1' }],
        recorded: '2026-01-01T00:00:00Z',
        agent: [{ who: { reference: 'Organization/org1' } }],
      },
    },
  ];
  const bundle = bundleOf('transaction', entries);
  const patientOwned = entries.slice(2).map((e) => `${e.resource.resourceType}/${e.resource.id}`);

  it('are filed under the patient, and erased with them', async () => {
    const name = freshName();
    const store = await RecordStore.open(name, key);
    const report = await store.importBundle(bundle);
    expect(report.rejected).toEqual([]);
    // A later import that only names the patient's Encounter (already stored) goes with the patient too.
    const later = await store.importBundle(
      bundleOf('batch', [
        {
          resource: {
            resourceType: 'Provenance',
            id: 'prov-later',
            target: [{ reference: 'Encounter/enc1' }],
            recorded: '2026-01-02T00:00:00Z',
            agent: [{ who: { reference: 'Organization/org1' } }],
          },
        },
      ]),
    );
    expect(later.rejected).toEqual([]);
    patientOwned.push('Provenance/prov-later');
    const filed = (await store.search({ patient: 'p1' })).map((r) => `${r.resourceType}/${r.id}`);
    expect(filed.sort()).toEqual(['Patient/p1', ...patientOwned].sort());

    await store.erasePatient('p1');
    for (const ref of patientOwned) {
      const [type, id] = ref.split('/');
      await expect(store.read(type!, id!)).rejects.toMatchObject({ reason: 'not-found' });
    }
    expect((await store.read('Organization', 'org1')).id).toBe('org1');
    const dump = await rawDump(name);
    for (const s of ['Quill', 'MRN-77', '1961-07-04', 'enc1', 'claim-logical', 'prov-later']) expect(dump.includes(s)).toBe(false);
    store.close();
  });

  it('a resource that names two patients, or a patient this clinic does not hold, is refused', async () => {
    const store = await RecordStore.open(freshName(), key);
    const report = await store.importBundle(
      bundleOf(
        'batch',
        entriesOf(
          patient,
          { resourceType: 'Patient', id: 'p2' },
          observation('two', 'Patient/p1', { focus: [{ reference: 'Patient/p2' }] }),
          observation('unknown', { type: 'Patient', identifier: { system: 'urn:mrn', value: 'nobody' } }),
        ),
      ),
    );
    expect(report.rejected.map((r) => [r.index, r.reason])).toEqual([
      [2, 'the resource names more than one patient'],
      [3, 'the resource names a patient by an identifier this clinic does not hold'],
    ]);
    store.close();
  });
});

describe('the wrapping key is rotated on erasure', () => {
  it('a copy of the erased patient’s rows restored from a backup does not decrypt; the others were rewrapped', async () => {
    const name = freshName();
    const store = await RecordStore.open(name, key);
    const [a, b] = [loadSynthea(syntheaFiles[0]!), loadSynthea(syntheaFiles[1]!)];
    await store.importBundle(a);
    await store.importBundle(b);
    const [pa, pb] = [patientIdOf(a), patientIdOf(b)];
    const backup = await rowsOfOwner(name, store.rowKeyOf('Patient', pa));
    const bOwner = await rowsOfOwner(name, store.rowKeyOf('Patient', pb));
    await store.erasePatient(pa);
    store.close();

    // The attacker (or a careless restore) puts the old rows back.
    const raw = await openDB(name);
    await raw.put('owners', backup.ownerRow, backup.owner);
    for (const [k, v] of backup.rows) await raw.put('rows', v, k);
    const bAfter = (await raw.get('owners', bOwner.owner)) as { w: Uint8Array };
    raw.close();
    expect(toHex(bAfter.w)).not.toBe(toHex(bOwner.ownerRow.w));

    const reopened = await RecordStore.open(name, key);
    await expect(reopened.read('Patient', pa)).rejects.toMatchObject({ reason: 'tampered' });
    expect((await reopened.search({ patient: pb })).length).toBe(b.entry.length - 4);
    reopened.close();
  });

  it('rekey seals the store under a new clinic key; the old key no longer opens it', async () => {
    const { name, store, bundle } = await storeWithSynthea(key, 2, 'erasure');
    const pseudonym = store.pseudonym(patientIdOf(bundle));
    const next = new Uint8Array(32).fill(99);
    await store.rekey(next);
    expect((await store.read('Patient', patientIdOf(bundle))).id).toBe(patientIdOf(bundle));
    store.close();
    await expect(RecordStore.open(name, key)).rejects.toMatchObject({ reason: 'bad-key' });
    const reopened = await RecordStore.open(name, next);
    expect(reopened.pseudonym(patientIdOf(bundle))).toBe(pseudonym);
    expect((await reopened.search({ patient: patientIdOf(bundle) })).length).toBe(bundle.entry.length - 4);
    reopened.close();
  });
});

describe('other open stores (tabs)', () => {
  it('forget an erased patient at once and keep working with the rotated key', async () => {
    const name = freshName();
    const [a, b] = [loadSynthea(syntheaFiles[0]!), loadSynthea(syntheaFiles[1]!)];
    const [pa, pb] = [patientIdOf(a), patientIdOf(b)];
    const tab1 = await RecordStore.open(name, key);
    await tab1.importBundle(a);
    await tab1.importBundle(b);
    const tab2 = await RecordStore.open(name, key);
    expect((await tab2.patients()).map((p) => p.id).sort()).toEqual([pa, pb].sort());
    expect((await tab2.read('Patient', pa)).id).toBe(pa);

    await tab1.erasePatient(pa);
    await expect.poll(async () => (await tab2.patients()).map((p) => p.id)).toEqual([pb]);
    await expect(tab2.read('Patient', pa)).rejects.toMatchObject({ reason: 'erased' });
    await expect(tab2.put(observation('late', `Patient/${pa}`))).rejects.toMatchObject({ reason: 'erased' });
    // tab2 writes for the other patient under the new wrapping key, and tab1 reads it.
    await tab2.put(observation('later', `Patient/${pb}`));
    expect((await tab1.read('Observation', 'later')).id).toBe('later');
    tab1.close();
    tab2.close();
  });
});
