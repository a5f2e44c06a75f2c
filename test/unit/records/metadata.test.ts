// What IndexedDB shows without the clinic key (issue 10, finding 16): no type tags, tags that differ between
// two stores holding the same records under the same clinic key, ciphertext sizes padded to a few Padmé
// buckets, and a version count that no row or key reveals. README.md states what remains visible.
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { openDB } from 'idb';
import { RecordStore } from '../../../web/src/core/records/index.ts';
import { padmeLength, MIN_PADDED } from '../../../web/src/core/records/padding.ts';
import { loadSynthea, patientIdOf, syntheaFiles, freshStoreName, storeWithSynthea } from './synthea.ts';

const key = new Uint8Array(32).fill(31);
const freshName = (): string => freshStoreName('metadata');
const GCM_OVERHEAD = 12 + 16;

async function snapshot(name: string): Promise<{ rows: Map<string, { o: string; c: Uint8Array }>; owners: Map<string, { w: Uint8Array; c: Uint8Array }> }> {
  const raw = await openDB(name);
  const rows = new Map<string, { o: string; c: Uint8Array }>();
  const owners = new Map<string, { w: Uint8Array; c: Uint8Array }>();
  for (const k of (await raw.getAllKeys('rows')) as string[]) rows.set(k, await raw.get('rows', k));
  for (const k of (await raw.getAllKeys('owners')) as string[]) owners.set(k, await raw.get('owners', k));
  raw.close();
  return { rows, owners };
}

async function importAll(name: string): Promise<RecordStore> {
  const store = await RecordStore.open(name, key);
  for (const f of syntheaFiles) await store.importBundle(loadSynthea(f));
  return store;
}

describe('metadata visible in IndexedDB', () => {
  it('rows carry an owner tag and a ciphertext only: no type tag, no version, no content hash', async () => {
    const name = freshName();
    const store = await importAll(name);
    const { rows, owners } = await snapshot(name);
    for (const v of rows.values()) expect(Object.keys(v).sort()).toEqual(['c', 'o']);
    for (const v of owners.values()) expect(Object.keys(v).sort()).toEqual(['c', 'w']);
    // Owner tags: one per patient plus the shared owner, and nothing else groups the rows.
    expect(new Set([...rows.values()].map((r) => r.o))).toEqual(new Set(owners.keys()));
    expect(owners.size).toBe(syntheaFiles.length + 1);
    for (const k of [...rows.keys(), ...owners.keys()]) expect(k).toMatch(/^[0-9a-f]{64}$/);
    store.close();
  });

  it('the same records under the same clinic key get different tags in two stores', async () => {
    const [a, b] = [freshName(), freshName()];
    const sa = await importAll(a);
    const sb = await importAll(b);
    const [ra, rb] = [await snapshot(a), await snapshot(b)];
    expect(ra.rows.size).toBe(rb.rows.size);
    const shared = [...ra.rows.keys()].filter((k) => rb.rows.has(k));
    expect(shared).toEqual([]);
    expect([...ra.owners.keys()].filter((k) => rb.owners.has(k))).toEqual([]);
    // What the ledger sees (pseudonyms, anchor ids) stays the clinic's, the same in both stores.
    const pid = patientIdOf(loadSynthea(syntheaFiles[0]!));
    expect(sa.pseudonym(pid)).toBe(sb.pseudonym(pid));
    expect(sa.anchorId('Patient', pid)).toBe(sb.anchorId('Patient', pid));
    sa.close();
    sb.close();
  });

  it('ciphertext sizes fall into a few Padmé buckets', async () => {
    const name = freshName();
    const store = await importAll(name);
    const { rows, owners } = await snapshot(name);
    const sizes = [...rows.values(), ...owners.values()].map((r) => r.c.length - GCM_OVERHEAD);
    for (const s of sizes) {
      expect(s).toBeGreaterThanOrEqual(MIN_PADDED);
      expect(padmeLength(s)).toBe(s);
    }
    const distinct = new Set(sizes).size;
    expect(distinct).toBeLessThan(sizes.length / 8);
    store.close();
  });

  it('updating a resource adds no row and changes no key: its versions are not countable from outside', async () => {
    const { name, store, bundle } = await storeWithSynthea(key, 1, 'metadata');
    const before = await snapshot(name);
    const pid = patientIdOf(bundle);
    const patient = await store.read<fhir4.Patient>('Patient', pid);
    for (const gender of ['other', 'unknown', 'female'] as const) await store.put({ ...patient, gender });
    expect(await store.latestVersion('Patient', pid)).toBe(4);
    const after = await snapshot(name);
    expect([...after.rows.keys()].sort()).toEqual([...before.rows.keys()].sort());
    const slot = store.rowKeyOf('Patient', pid);
    // Four versions of a small resource still fit the bucket one version had.
    expect(after.rows.get(slot)!.c.length).toBeLessThanOrEqual(padmeLength(4 * (before.rows.get(slot)!.c.length - GCM_OVERHEAD)) + GCM_OVERHEAD);
    store.close();
  });
});

describe('Padmé', () => {
  it('pads to at most 12 % more and rounds small payloads to the minimum', () => {
    expect(padmeLength(1)).toBe(MIN_PADDED);
    expect(padmeLength(MIN_PADDED)).toBe(MIN_PADDED);
    for (let len = MIN_PADDED + 1; len < 1 << 20; len = Math.ceil(len * 1.37)) {
      const p = padmeLength(len);
      expect(p).toBeGreaterThanOrEqual(len);
      expect(p / len).toBeLessThanOrEqual(1.12);
      expect(padmeLength(p)).toBe(p);
    }
    expect(padmeLength(1000)).toBe(1024);
    expect(padmeLength(9000)).toBe(9216);
  });
});
