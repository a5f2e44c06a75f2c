// Four real ClinicNodes on one simulated network: every contract action is a committed transaction, an
// import anchors its records on every clinic's replica, and each clinic's staff keys are on the ledger.
import { describe, expect, it } from 'vitest';
import { syntheaBundle as bundle, useConsortium } from './harness.ts';

describe('ClinicNode over SimNetwork', () => {
  const c = useConsortium({ clinics: 4, seed: 7 });

  it("registers every clinic's clinician and auditor keys on the ledger", async () => {
    await c.until(
      () => c.nodes.every((n) => c.nodes.every((m) => n.contracts.key(m.authors.clinician.publicKey) && n.contracts.key(m.authors.auditor.publicKey))),
      30_000,
      'staff keys',
    );
    const roots = new Set(c.nodes.map((n) => n.snapshot().ledger.headHash));
    await c.until(() => new Set(c.nodes.map((n) => n.snapshot().ledger.height)).size === 1, 10_000, 'same height');
    expect(c.nodes[0]!.contracts.key(c.nodes[2]!.authors.clinician.publicKey)).toMatchObject({ org: 'clinic-3', role: 'clinician' });
    expect(roots.size).toBeGreaterThan(0);
  });

  it('an import at one clinic anchors every resource on all four replicas', async () => {
    const b = bundle(0) as { entry: { resource: { resourceType: string; id: string } }[] };
    const r = await c.nodes[0]!.importBundle(b);
    const total = Object.values(r.imported).reduce((x, y) => x + y, 0);
    expect(total).toBe(b.entry.length);
    expect(r.rejected).toEqual([]);
    expect(r.anchored).toBe(b.entry.length);
    const anchorIds = await Promise.all(b.entry.slice(0, 25).map((e) => c.nodes[0]!.store.anchorId(e.resource.resourceType, e.resource.id)));
    await c.until(() => c.nodes.every((n) => anchorIds.every((a) => n.contracts.anchorOf('clinic-1', a)?.version === 1)), 30_000, 'anchors everywhere');
    await c.until(() => new Set(c.nodes.map((n) => n.snapshot().ledger.headHash)).size === 1, 10_000, 'same head');
    const snap = c.nodes[3]!.snapshot();
    expect(snap.ledger.validators).toEqual(['clinic-1', 'clinic-2', 'clinic-3', 'clinic-4']);
    expect(snap.ledger.height).toBeGreaterThan(1);
  }, 120_000);
});
