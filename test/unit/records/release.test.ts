// What the node composes for a release (issue 11): the holder's package carries, per resource, its anchor id,
// version and salt; the requester's check accepts exactly the items that match the holder's latest committed
// anchors and refuses the rest with a typed reason; received records are kept encrypted and apart.
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { RecordStore, checkReleased, commitmentOf } from '../../../web/src/core/records/index.ts';
import type { Anchor, ReleasedItem } from '../../../web/src/core/records/index.ts';
import { rawDump } from '../../e2e/fixtures/records/raw-dump.ts';
import { loadSynthea, patientIdOf, sensitiveStrings, syntheaFiles, freshStoreName } from './synthea.ts';
import { toHex } from '../../../web/src/core/util/index.ts';

const freshName = (): string => freshStoreName('release');

/** The holder's anchors as a requester's replica of the ledger holds them (latest version per anchor id). */
function ledgerOf(anchors: readonly Anchor[]): Map<string, { version: number; commitment: string }> {
  const m = new Map<string, { version: number; commitment: string }>();
  for (const a of anchors) if ((m.get(a.anchorId)?.version ?? 0) < a.version) m.set(a.anchorId, { version: a.version, commitment: toHex(a.commitment) });
  return m;
}

describe('release packages', () => {
  it('hold exactly the granted types of the patient, each checkable against the holder’s anchors', async () => {
    const holder = await RecordStore.open(freshName(), new Uint8Array(32).fill(1));
    const bundle = loadSynthea(syntheaFiles[0]!);
    const report = await holder.importBundle(bundle);
    const pid = patientIdOf(bundle);
    const ledger = ledgerOf(report.anchors);
    const types = ['Condition', 'Observation'];
    const items = await holder.releasePackage(pid, types);
    expect(items.length).toBe((report.imported.Condition ?? 0) + (report.imported.Observation ?? 0));
    for (const it of items) {
      expect(types).toContain(it.resource.resourceType);
      expect(it.anchorId).toBe(holder.anchorId(it.resource.resourceType, it.resource.id!));
      expect(toHex(commitmentOf(it.salt, it.resource))).toBe(toHex(await holder.commitment(it.resource.resourceType, it.resource.id!)));
    }
    const checked = await checkReleased(items, (id) => ledger.get(id), { grantedTypes: types });
    expect(checked.refused).toEqual([]);
    expect(checked.accepted.length).toBe(items.length);
    await holder.erasePatient(pid);
    await expect(holder.releasePackage(pid, types)).rejects.toMatchObject({ reason: 'erased' });
    holder.close();
  });

  it('the requester refuses what does not match the latest committed anchor, with a typed reason', async () => {
    const holder = await RecordStore.open(freshName(), new Uint8Array(32).fill(2));
    const bundle = loadSynthea(syntheaFiles[1]!);
    const report = await holder.importBundle(bundle);
    const pid = patientIdOf(bundle);
    const stale = await holder.releasePackage(pid, ['Condition']);
    const updated = await holder.put({ ...(stale[0]!.resource as fhir4.Condition), note: [{ text: 'reviewed' }] });
    const anchors = [...report.anchors, updated.anchor!];
    const ledger = ledgerOf(anchors);
    const fresh = await holder.releasePackage(pid, ['Condition', 'Encounter']);
    const condition = fresh.find((i) => i.anchorId === stale[0]!.anchorId)!;
    const encounter = fresh.find((i) => i.resource.resourceType === 'Encounter')!;
    const other = fresh.find((i) => i.resource.resourceType === 'Condition' && i !== condition)!;
    const items: unknown[] = [
      condition, // 0 accepted
      stale[0], // 1 the older version
      { ...other, resource: { ...other.resource, note: [{ text: 'altered in transit' }] } }, // 2 altered content
      { ...other, salt: new Uint8Array(32) }, // 3 another salt
      { ...other, version: other.version + 1 }, // 4 a version never anchored
      { ...other, anchorId: 'ab'.repeat(32) }, // 5 an anchor id the holder never used
      condition, // 6 the same item again
      encounter, // 7 a type the permit did not grant
      { ...other, salt: new Uint8Array(31) }, // 8 malformed
      { anchorId: 'x', version: 1, salt: new Uint8Array(32), resource: {} }, // 9 malformed
    ];
    const checked = await checkReleased(items as ReleasedItem[], async (id) => ledger.get(id), { grantedTypes: ['Condition'] });
    expect(checked.accepted).toEqual([condition.resource]);
    expect(checked.refused).toEqual([
      { index: 1, reason: 'stale-version' },
      { index: 2, reason: 'commitment-mismatch' },
      { index: 3, reason: 'commitment-mismatch' },
      { index: 4, reason: 'unanchored-version' },
      { index: 5, reason: 'no-anchor' },
      { index: 6, reason: 'duplicate' },
      { index: 7, reason: 'type-not-granted' },
      { index: 8, reason: 'malformed' },
      { index: 9, reason: 'malformed' },
    ]);
    holder.close();
  });
});

describe('received records', () => {
  it('are kept encrypted and apart from the clinic’s own, and survive the holder-side key rotation', async () => {
    const name = freshName();
    const store = await RecordStore.open(name, new Uint8Array(32).fill(3));
    const own = loadSynthea(syntheaFiles[0]!);
    await store.importBundle(own);
    const foreign = loadSynthea(syntheaFiles[2]!);
    const resources = foreign.entry.map((e) => e.resource).filter((r) => r.resourceType === 'Condition' || r.resourceType === 'Patient') as fhir4.Resource[];
    await store.storeReceived('req-1', 'clinic-2', resources, { patient: 'pseudonym-1', receivedAt: 1_700_000_000_000 });
    await store.storeReceived('req-2', 'clinic-3', resources.slice(0, 1), { receivedAt: 1_700_000_000_001 });

    expect((await store.patients()).map((p) => p.id)).toEqual([patientIdOf(own)]);
    await expect(store.read('Patient', patientIdOf(foreign))).rejects.toMatchObject({ reason: 'not-found' });
    for (const s of sensitiveStrings(foreign)) expect((await rawDump(name)).includes(s)).toBe(false);

    const [r1] = await store.received('req-1');
    expect(r1).toEqual({ requestId: 'req-1', holder: 'clinic-2', patient: 'pseudonym-1', receivedAt: 1_700_000_000_000, resources });
    await store.erasePatient(patientIdOf(own)); // rotates the wrapping key: received packages are rewrapped
    store.close();
    const reopened = await RecordStore.open(name, new Uint8Array(32).fill(3));
    expect((await reopened.received()).map((r) => [r.requestId, r.resources.length])).toEqual([
      ['req-1', resources.length],
      ['req-2', 1],
    ]);
    expect(await reopened.received('req-3')).toEqual([]);
    reopened.close();
  });
});
