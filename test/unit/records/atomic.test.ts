// Imports are all or nothing (issue 11): a page closed mid-write (here: its write transaction aborted and its
// connection closed, which is what closing a page does to IndexedDB) leaves no row of the bundle, and the next open reports the interrupted import by its journal row (when,
// how many entries, a label without patient data). Imports running elsewhere are not reported, and two
// stores writing at once both land whole.
import 'fake-indexeddb/auto';
import { IDBDatabase as FakeIDBDatabase } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { RecordStore } from '../../../web/src/core/records/index.ts';
import type { RecordProgress } from '../../../web/src/core/records/index.ts';
import { rawDump, rowCounts } from '../../e2e/fixtures/records/raw-dump.ts';
import { loadSynthea, patientIdOf, sensitiveStrings, syntheaFiles, freshStoreName } from './synthea.ts';
import { bundleOf, entriesOf, observation } from './fhir.ts';

const key = new Uint8Array(32).fill(11);
const freshName = (): string => freshStoreName('atomic');

/**
 * Imports `bundle` and "closes the page" when `when` first says so: every transaction the store has open is
 * aborted and its connection closed, so nothing of the store runs against the database afterwards. The
 * import must fail with a typed error.
 */
async function cutDuring(name: string, bundle: unknown, when: (p: RecordProgress) => boolean): Promise<RecordProgress[]> {
  const store = await RecordStore.open(name, key);
  const open: IDBTransaction[] = [];
  const original = FakeIDBDatabase.prototype.transaction;
  FakeIDBDatabase.prototype.transaction = function (this: IDBDatabase, ...args: Parameters<IDBDatabase['transaction']>) {
    const tx = original.apply(this, args);
    open.push(tx);
    return tx;
  } as typeof original;
  const seen: RecordProgress[] = [];
  let cut = false;
  try {
    const result = store.importBundle(bundle, {
      onProgress: (p) => {
        seen.push(p);
        if (!cut && when(p)) {
          cut = true;
          for (const tx of open) {
            try {
              tx.abort();
            } catch {
              // already finished
            }
          }
          store.db.close();
        }
      },
    });
    await expect(result).rejects.toMatchObject({ name: 'RecordError', reason: 'storage' });
  } finally {
    FakeIDBDatabase.prototype.transaction = original;
  }
  expect(cut).toBe(true);
  return seen;
}

describe('atomic import', () => {
  it('a connection cut halfway through the write leaves nothing of the bundle, and the next open reports it', async () => {
    const name = freshName();
    const first = loadSynthea(syntheaFiles[0]!);
    const store = await RecordStore.open(name, key);
    await store.importBundle(first);
    store.close();
    const before = await rowCounts(name);

    const bundle = loadSynthea(syntheaFiles[1]!);
    const seen = await cutDuring(name, bundle, (p) => p.phase === 'storing' && p.done >= p.total / 2);
    expect(seen.some((p) => p.phase === 'validating')).toBe(true);
    expect(seen.some((p) => p.phase === 'encrypting')).toBe(true);

    const reopened = await RecordStore.open(name, key);
    const interrupted = reopened.interruptedImports();
    expect(interrupted).toHaveLength(1);
    expect(interrupted[0]).toMatchObject({ entries: bundle.entry.length, label: `${bundle.type} bundle, ${bundle.entry.length} entries` });
    expect(Math.abs(interrupted[0]!.startedAt - Date.now())).toBeLessThan(10 * 60_000);
    // Nothing of the second bundle: the same rows as before, plus the journal row.
    expect(await rowCounts(name)).toEqual({ ...before, journal: 1 });
    await expect(reopened.read('Patient', patientIdOf(bundle))).rejects.toMatchObject({ reason: 'not-found' });
    expect((await reopened.patients()).map((p) => p.id)).toEqual([patientIdOf(first)]);
    // The journal row is sealed: no patient data in it or anywhere.
    const dump = await rawDump(name);
    for (const s of sensitiveStrings(bundle)) expect(dump.includes(s)).toBe(false);

    // The bundle imports cleanly afterwards; dismissing the report removes the journal row.
    expect((await reopened.importBundle(bundle)).rejected).toEqual([]);
    await reopened.dismissInterruptedImports();
    expect(reopened.interruptedImports()).toEqual([]);
    expect((await rowCounts(name)).journal).toBe(0);
    reopened.close();
  });

  it('a connection cut while encrypting (before any write) leaves nothing but the journal row', async () => {
    const name = freshName();
    const bundle = loadSynthea(syntheaFiles[2]!);
    await cutDuring(name, bundle, (p) => p.phase === 'encrypting');
    const reopened = await RecordStore.open(name, key);
    expect(reopened.interruptedImports()).toHaveLength(1);
    const counts = await rowCounts(name);
    expect(counts).toMatchObject({ rows: 0, owners: 0, journal: 1 });
    reopened.close();
  });

  it('an import still running in this process is not reported as interrupted by another open', async () => {
    const name = freshName();
    const store = await RecordStore.open(name, key);
    let seenByOther: unknown[] | undefined;
    await store.importBundle(loadSynthea(syntheaFiles[0]!), {
      onProgress: (p) => {
        if (p.phase === 'encrypting' && seenByOther === undefined) {
          seenByOther = [];
          void RecordStore.open(name, key).then((other) => {
            seenByOther = other.interruptedImports();
            other.close();
          });
        }
      },
    });
    await expect.poll(() => seenByOther?.length === 0 && Array.isArray(seenByOther)).toBe(true);
    expect(seenByOther).toEqual([]);
    store.close();
  });

  it('a rejected transaction and a finished import leave no journal row', async () => {
    const name = freshName();
    const store = await RecordStore.open(name, key);
    await store.importBundle(bundleOf('transaction', entriesOf(observation('o', 'Patient/none'))));
    await store.importBundle(loadSynthea(syntheaFiles[0]!));
    expect((await rowCounts(name)).journal).toBe(0);
    store.close();
  });

  it('two stores on one database (two tabs) importing at once both land whole', async () => {
    const name = freshName();
    const a = await RecordStore.open(name, key);
    const b = await RecordStore.open(name, key);
    const [ba, bb] = [loadSynthea(syntheaFiles[0]!), loadSynthea(syntheaFiles[1]!)];
    const [ra, rb] = await Promise.all([a.importBundle(ba), b.importBundle(bb)]);
    expect(ra.rejected).toEqual([]);
    expect(rb.rejected).toEqual([]);
    const c = await RecordStore.open(name, key);
    expect((await c.patients()).map((p) => p.id).sort()).toEqual([patientIdOf(ba), patientIdOf(bb)].sort());
    expect((await c.search({ patient: patientIdOf(ba) })).length).toBe(ba.entry.length - 4);
    expect((await c.search({ patient: patientIdOf(bb) })).length).toBe(bb.entry.length - 4);
    for (const s of [a, b, c]) s.close();
  });
});
