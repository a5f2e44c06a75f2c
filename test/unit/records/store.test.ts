// The record store over fake-indexeddb: Synthea's bundles import whole with resolved references, nothing
// in the raw database reads in clear, re-import is idempotent, versions are kept, erasure shreds, and any
// change to stored bytes fails verification.
import 'fake-indexeddb/auto';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDB } from 'idb';
import { RecordError, RecordStore } from '../../../web/src/core/records/index.ts';
import { canonicalJson } from '../../../web/src/core/codec/index.ts';

const repoRoot = path.resolve(import.meta.dirname, '../../..');
const dataDir = path.resolve(repoRoot, '../shared/data/synthea');
const files = readdirSync(dataDir).filter((f) => f.endsWith('.json')).sort();
const load = (f: string): any => JSON.parse(readFileSync(path.join(dataDir, f), 'utf8'));
const key = (n: number): Uint8Array => new Uint8Array(32).fill(n);
let dbCount = 0;
const freshName = (): string => `records-test-${++dbCount}`;

function referencesOf(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) node.forEach((x) => referencesOf(x, out));
  else if (typeof node === 'object' && node !== null) {
    for (const [k, v] of Object.entries(node)) {
      if (k === 'reference' && typeof v === 'string') out.push(v);
      else referencesOf(v, out);
    }
  }
  return out;
}

/** Every string in a patient's Patient resource that identifies them. */
function sensitiveStrings(bundle: any): string[] {
  const p = bundle.entry[0].resource;
  const out = new Set<string>([p.id, p.birthDate]);
  for (const n of p.name ?? []) {
    for (const g of n.given ?? []) out.add(g);
    out.add(n.family);
  }
  for (const i of p.identifier ?? []) out.add(i.value);
  for (const t of p.telecom ?? []) out.add(t.value);
  return [...out].filter((s) => typeof s === 'string' && s.length >= 4);
}

async function rawDump(name: string): Promise<string> {
  const db = await openDB(name);
  let dump = '';
  for (const storeName of db.objectStoreNames) {
    const tx = db.transaction(storeName);
    let cursor = await tx.store.openCursor();
    while (cursor) {
      dump += String(cursor.key) + '\n';
      dump += JSON.stringify(cursor.value, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v)) + '\n';
      cursor = await cursor.continue();
    }
  }
  db.close();
  return dump;
}

describe('RecordStore: Synthea import', () => {
  it.each(files)('imports %s with zero rejections, resolved references, idempotently', async (file) => {
    const bundle = load(file);
    const name = freshName();
    const store = await RecordStore.open(name, key(7));
    const report = await store.importBundle(bundle);
    expect(report.rejected).toEqual([]);
    const total = Object.values(report.imported).reduce((a, b) => a + b, 0);
    expect(total).toBe(bundle.entry.length);
    expect(report.imported.Patient).toBe(1);

    const patientId = bundle.entry[0].resource.id as string;
    const all = await store.search({ patient: patientId });
    // Everything but the shared Organizations and Practitioners belongs to the patient.
    const shared = (report.imported.Organization ?? 0) + (report.imported.Practitioner ?? 0);
    expect(all.length).toBe(total - shared);
    for (const r of all) {
      for (const ref of referencesOf(r)) {
        expect(ref.startsWith('urn:uuid:')).toBe(false);
        if (ref.startsWith('#')) continue;
        expect(await store.resolve(ref), `reference ${ref}`).toBeDefined();
      }
    }
    const encounters = await store.search({ patient: patientId, resourceType: 'Encounter' });
    expect(encounters.length).toBe(report.imported.Encounter);
    expect(encounters.every((e) => e.resourceType === 'Encounter')).toBe(true);

    const again = await store.importBundle(bundle);
    expect(again.rejected).toEqual([]);
    expect(again.unchanged).toBe(total);
    expect(await store.latestVersion('Patient', patientId)).toBe(1);

    const dump = await rawDump(name);
    expect(dump.length).toBeGreaterThan(10_000);
    for (const s of sensitiveStrings(bundle)) expect(dump.includes(s), 'raw database leaks a patient field').toBe(false);
    expect(dump.includes('Patient')).toBe(false);
    expect(dump.includes('Encounter')).toBe(false);
    store.close();
  });

  it('reads back the original content with references rewritten', async () => {
    const bundle = load(files[0]!);
    const store = await RecordStore.open(freshName(), key(1));
    await store.importBundle(bundle);
    const original = bundle.entry[0].resource;
    expect(canonicalJson(await store.read('Patient', original.id))).toBe(canonicalJson(original));
    const enc = bundle.entry.find((e: any) => e.resource.resourceType === 'Encounter').resource;
    const got: any = await store.read('Encounter', enc.id);
    expect(got.subject.reference).toBe(`Patient/${original.id}`);
    store.close();
  });
});

describe('RecordStore: bundles with problems', () => {
  const patient = { resourceType: 'Patient', id: 'p1', identifier: [{ system: 'urn:mrn', value: 'MRN-1' }], birthDate: '1970-01-01' };
  const practitioner = { resourceType: 'Practitioner', id: 'dr1', identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: '999' }] };

  it('rejects malformed entries by index and imports the rest', async () => {
    const store = await RecordStore.open(freshName(), key(2));
    const report = await store.importBundle({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: 'urn:uuid:00000000-0000-0000-0000-000000000001', resource: patient, request: { method: 'POST', url: 'Patient' } },
        { resource: { resourceType: 'Observation', id: 'o1', subject: { reference: 'urn:uuid:00000000-0000-0000-0000-0000000000ff' } } },
        'not an entry',
        { resource: { resourceType: 'Observation' } },
        { resource: { resourceType: 'lower', id: 'x' } },
        { resource: { resourceType: 'Observation', id: 'o2', subject: { reference: 'urn:uuid:00000000-0000-0000-0000-000000000001' } }, request: { method: 'DELETE', url: 'Observation/o2' } },
        { resource: { resourceType: 'Observation', id: 'o3', status: 'final', subject: { reference: 'urn:uuid:00000000-0000-0000-0000-000000000001' } } },
      ],
    });
    expect(report.rejected.map((r) => r.index)).toEqual([1, 2, 3, 4, 5]);
    expect(report.rejected[0]!.reason).toMatch(/urn:uuid/);
    expect(report.imported).toEqual({ Patient: 1, Observation: 1 });
    expect(((await store.read('Observation', 'o3')) as any).subject.reference).toBe('Patient/p1');
    await expect(store.read('Observation', 'o1')).rejects.toMatchObject({ reason: 'not-found' });
    store.close();
  });

  it('refuses what is not a batch or transaction bundle with a typed error', async () => {
    const store = await RecordStore.open(freshName(), key(2));
    await expect(store.importBundle({ resourceType: 'Patient' })).rejects.toBeInstanceOf(RecordError);
    await expect(store.importBundle({ resourceType: 'Bundle', type: 'searchset', entry: [] })).rejects.toMatchObject({ reason: 'malformed' });
    await expect(store.importBundle(null)).rejects.toMatchObject({ reason: 'malformed' });
    await expect(RecordStore.open(freshName(), new Uint8Array(16))).rejects.toMatchObject({ reason: 'bad-key' });
    store.close();
  });

  it('resolves conditional references in the bundle and in the store, else keeps a logical reference', async () => {
    const store = await RecordStore.open(freshName(), key(3));
    await store.importBundle({ resourceType: 'Bundle', type: 'batch', entry: [{ resource: practitioner, request: { method: 'PUT', url: 'Practitioner/dr1' } }] });
    const report = await store.importBundle({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: 'urn:uuid:00000000-0000-0000-0000-000000000001', resource: patient, request: { method: 'POST', url: 'Patient' } },
        {
          resource: {
            resourceType: 'Encounter',
            id: 'e1',
            subject: { reference: 'Patient?identifier=urn:mrn|MRN-1' },
            participant: [{ individual: { reference: 'Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|999' } }],
            serviceProvider: { reference: 'Organization?identifier=https://github.com/synthetichealth/synthea|abc' },
          },
          request: { method: 'POST', url: 'Encounter' },
        },
      ],
    });
    expect(report.rejected).toEqual([]);
    const e: any = await store.read('Encounter', 'e1');
    expect(e.subject.reference).toBe('Patient/p1');
    expect(e.participant[0].individual.reference).toBe('Practitioner/dr1');
    expect(e.serviceProvider).toEqual({ type: 'Organization', identifier: { system: 'https://github.com/synthetichealth/synthea', value: 'abc' } });
    expect((await store.search({ patient: 'p1', resourceType: 'Encounter' })).length).toBe(1);
    store.close();
  });
});

describe('RecordStore: versions, anchors, erasure', () => {
  it('keeps old versions and commits to each', async () => {
    const store = await RecordStore.open(freshName(), key(4));
    const obs = { resourceType: 'Observation', id: 'o1', status: 'preliminary', subject: { reference: 'Patient/p9' } } as const;
    expect(await store.put(obs as any)).toEqual({ version: 1, changed: true });
    const c1 = await store.commitment('Observation', 'o1');
    expect(await store.put(obs as any)).toEqual({ version: 1, changed: false });
    expect(await store.put({ ...obs, status: 'final' } as any)).toEqual({ version: 2, changed: true });
    const c2 = await store.commitment('Observation', 'o1');
    expect(Buffer.from(c1).equals(Buffer.from(c2))).toBe(false);
    expect(((await store.read('Observation', 'o1', 1)) as any).status).toBe('preliminary');
    expect(((await store.read('Observation', 'o1')) as any).status).toBe('final');
    expect(await store.verify('Observation', 'o1', c2)).toBe(true);
    expect(await store.verify('Observation', 'o1', c1)).toBe(false);
    expect(await store.verify('Observation', 'o1', { version: 1, commitment: c1 })).toBe(true);
    await expect(store.put({ resourceType: 'Observation' } as any)).rejects.toMatchObject({ reason: 'malformed' });
    store.close();
  });

  it('detects direct edits of the database: flipped ciphertext, swapped versions, rolled-back pointer', async () => {
    const name = freshName();
    const store = await RecordStore.open(name, key(5));
    await store.importBundle(load(files[1]!));
    const pid = load(files[1]!).entry[0].resource.id;
    await store.put({ ...(await store.read('Patient', pid)), gender: 'other' } as any);
    const anchor = await store.commitment('Patient', pid);
    expect(await store.verify('Patient', pid, anchor)).toBe(true);

    const raw = await openDB(name);
    const keys = (await raw.getAllKeys('versions')) as string[];
    const v2 = keys.find((k) => k.endsWith('#2'))!;
    const v1 = v2.replace(/#2$/, '#1');
    const original = await raw.get('versions', v2);
    // 1. one flipped bit
    const flipped = { iv: original.iv, ct: original.ct.slice() };
    flipped.ct[5] ^= 1;
    await raw.put('versions', flipped, v2);
    expect(await store.verify('Patient', pid, anchor)).toBe(false);
    await expect(store.read('Patient', pid)).rejects.toMatchObject({ reason: 'tampered' });
    // 2. the old version's ciphertext moved into the new slot
    await raw.put('versions', await raw.get('versions', v1), v2);
    expect(await store.verify('Patient', pid, anchor)).toBe(false);
    // 3. restore the bytes, roll the latest pointer back
    await raw.put('versions', original, v2);
    expect(await store.verify('Patient', pid, anchor)).toBe(true);
    const rkey = v2.slice(0, -2);
    const meta = await raw.get('records', rkey);
    await raw.put('records', { ...meta, latest: 1 }, rkey);
    expect(await store.verify('Patient', pid, anchor)).toBe(false);
    raw.close();
    store.close();
  });

  it('erasure shreds one patient and leaves the others', async () => {
    const store = await RecordStore.open(freshName(), key(6));
    const [a, b] = [load(files[0]!), load(files[2]!)];
    await store.importBundle(a);
    await store.importBundle(b);
    const [pa, pb] = [a.entry[0].resource.id, b.entry[0].resource.id];
    const anchor = await store.commitment('Patient', pa);
    await store.erasePatient(pa);
    await expect(store.read('Patient', pa)).rejects.toMatchObject({ reason: 'erased' });
    await expect(store.search({ patient: pa })).rejects.toMatchObject({ reason: 'erased' });
    expect(await store.verify('Patient', pa, anchor)).toBe(false);
    expect((await store.search({ patient: pb })).length).toBeGreaterThan(50);
    // The Organizations and Practitioners are shared and stay readable.
    const org = a.entry.find((e: any) => e.resource.resourceType === 'Organization').resource;
    expect((await store.read('Organization', org.id)).id).toBe(org.id);
    // A re-import cannot bring the erased patient back.
    const again = await store.importBundle(a);
    expect(again.rejected.length).toBe(a.entry.length - 4);
    expect(again.rejected.every((r) => /erased/.test(r.reason))).toBe(true);
    store.close();
  });

  it('a different clinic key reads nothing', async () => {
    const name = freshName();
    const store = await RecordStore.open(name, key(8));
    await store.importBundle(load(files[0]!));
    store.close();
    const other = await RecordStore.open(name, key(9));
    await expect(other.read('Patient', load(files[0]!).entry[0].resource.id)).rejects.toMatchObject({ reason: 'not-found' });
    other.close();
  });
});
