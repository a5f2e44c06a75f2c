// A clinic whose replica sits alone in a later view (it changed views while cut off, and no quorum follows it
// there) still works: it sees every block the others commit (its node follows their chain; how soon is the
// consensus-level test's, test/integration/consensus/lone-view.test.ts, on a virtual clock), and its own
// transactions go to the other validators at once instead of waiting for the client's re-send timeout while
// its replica cannot order them. The re-send timeout is a minute here, so only sending at once commits them.
import { describe, expect, it } from 'vitest';
import { ed25519PublicKey } from '../../../wasm/index.ts';
import { toHex } from '../../../web/src/core/util/index.ts';
import { syntheaBundle, useConsortium } from './harness.ts';

const observation = (patient: string, id: string) => ({
  resourceType: 'Bundle',
  type: 'transaction',
  entry: [
    {
      resource: {
        resourceType: 'Observation',
        id,
        status: 'final',
        code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
        subject: { reference: `Patient/${patient}` },
        effectiveDateTime: '2026-01-05T09:00:00Z',
        valueQuantity: { value: 72, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
      },
      request: { method: 'PUT', url: `Observation/${id}` },
    },
  ],
});

describe('a clinic whose replica is alone in a later view', () => {
  const c = useConsortium({ clinics: 4, seed: 23, resendMs: 60_000 });

  it('commits its own records without waiting for a re-send, and sees what the others commit', async () => {
    await c.until(() => c.nodes.every((n) => n.snapshot().ledger.height >= 4 && n.snapshot().status === 'ready'), 30_000, 'ready');
    const lone = c.nodes[3]!;
    const peers = c.seeds.map((s) => toHex(ed25519PublicKey(s)));
    c.net.partition([peers.slice(0, 3), [peers[3]!]]);
    // An import while cut off: its replica cannot reach the primary and changes views on its own.
    const bundle = syntheaBundle(0) as { entry: { resource: { resourceType: string; id: string } }[] };
    // It may stay uncommitted until the minute's re-send (its replica held it when it was still live): no matter.
    void lone.importBundle(bundle).catch(() => undefined);
    await c.until(() => lone.snapshot().ledger.view > c.nodes[0]!.snapshot().ledger.view, 20_000, 'a view of its own');
    c.net.heal();
    await c.until(() => lone.snapshot().ledger.height >= c.nodes[0]!.snapshot().ledger.height, 20_000, 'caught up');
    const view = c.nodes[0]!.snapshot().ledger.view;
    expect(lone.snapshot().ledger.view).toBeGreaterThan(view);

    const patient = bundle.entry.find((e) => e.resource.resourceType === 'Patient')!.resource.id;
    const before = c.nodes[0]!.contracts.anchorsOf('clinic-4').length;
    const t0 = c.net.clock.now();
    const r = await lone.importBundle(observation(patient, 'lone-view-hr-1'));
    expect(r.rejected).toEqual([]);
    expect(c.net.clock.now() - t0).toBeLessThan(30_000);
    await c.until(() => c.nodes.every((n) => n.contracts.anchorsOf('clinic-4').length === before + 1), 5_000, 'anchored everywhere');

    // A record another clinic commits reaches it too, though its replica still sits in its own view.
    const heightAt = (n: (typeof c.nodes)[number]) => n.snapshot().ledger.height;
    await c.nodes[0]!.importBundle(observation(patient, 'lone-view-hr-2'));
    await c.until(() => heightAt(lone) >= heightAt(c.nodes[0]!), 10_000, 'the block at the lone clinic');
    expect(lone.snapshot().ledger.view).toBeGreaterThan(c.nodes[0]!.snapshot().ledger.view);
  }, 120_000);
});
