// A clinic whose replica sits alone in a later view (it changed views while cut off, pushed by a Byzantine
// peer's suspicion sent to it alone, and no quorum follows it there) still works: it sees every block the others commit (its node follows their chain; how soon is the
// consensus-level test's, test/integration/consensus/lone-view.test.ts, on a virtual clock), and its own
// transactions go to the other validators at once instead of waiting for the client's re-send timeout while
// its replica cannot order them. The re-send timeout is a minute here, so only sending at once commits them.
import { describe, expect, it } from 'vitest';
import { pbftFrame } from '../../../web/src/core/consensus/index.ts';
import { toHex } from '../../../web/src/core/util/index.ts';
import { forge, MsgType, writeSuspect } from '../../sim/wire.ts';
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
    // A backup (a primary cut off proposes to nobody and never times out on its own request).
    const indexOf = (n: (typeof c.nodes)[number]) => n.ledger.consensus.epoch.validators.findIndex((v) => toHex(v) === toHex(n.publicKey));
    const lone = c.nodes.find((n) => indexOf(n) !== n.ledger.consensus.primary)!;
    const rest = c.nodes.filter((n) => n !== lone);
    const peerOf = (n: (typeof c.nodes)[number]) => toHex(n.publicKey);
    // A slow replica only suspects the primary until f+1 do; another validator (Byzantine) tells this one alone
    // that it suspects the primary too (kept until the view changes), so once cut off, its own suspicion makes
    // f+1 and it changes views on its own.
    const consensus = lone.ledger.consensus;
    const byzantine = c.nodes.findIndex((n) => n !== lone && indexOf(n) !== consensus.primary);
    const body = writeSuspect({ sender: indexOf(c.nodes[byzantine]!), view: consensus.view });
    const suspicion = forge(MsgType.Suspect, body, c.seeds[byzantine]!, undefined, consensus.epoch.id);
    c.net.submit(peerOf(c.nodes[byzantine]!), peerOf(lone), pbftFrame(consensus.epoch.number, suspicion));
    await new Promise((r) => setTimeout(r, 50));
    c.net.partition([rest.map(peerOf), [peerOf(lone)]]);
    // An import while cut off: its replica cannot reach the primary, and its timer fires.
    // Only the patient (a whole record takes long to validate and seal on a busy machine, before it is submitted).
    const full = syntheaBundle(0) as { type: string; entry: { resource: { resourceType: string; id: string } }[] };
    const bundle = { ...full, entry: full.entry.filter((e) => e.resource.resourceType === 'Patient') };
    // It may stay uncommitted until the minute's re-send (its replica held it when it was still live): no matter.
    void lone.importBundle(bundle).catch(() => undefined);
    await c.until(() => lone.snapshot().ledger.view > rest[0]!.snapshot().ledger.view, 60_000, 'a view of its own');
    c.net.heal();
    await c.until(() => lone.snapshot().ledger.height >= rest[0]!.snapshot().ledger.height, 60_000, 'caught up');
    const view = rest[0]!.snapshot().ledger.view;
    expect(lone.snapshot().ledger.view).toBeGreaterThan(view);

    const patient = bundle.entry.find((e) => e.resource.resourceType === 'Patient')!.resource.id;
    const t0 = c.net.clock.now();
    const r = await lone.importBundle(observation(patient, 'lone-view-hr-1'));
    expect(r.rejected).toEqual([]);
    expect(c.net.clock.now() - t0).toBeLessThan(30_000);
    const anchor = await lone.store.anchorId('Observation', 'lone-view-hr-1');
    await c.until(() => c.nodes.every((n) => n.contracts.anchorOf(lone.orgId, anchor) !== undefined), 30_000, 'anchored everywhere');

    // A record another clinic commits reaches it too, though its replica still sits in its own view.
    const heightAt = (n: (typeof c.nodes)[number]) => n.snapshot().ledger.height;
    await rest[0]!.importBundle(observation(patient, 'lone-view-hr-2'));
    await c.until(() => heightAt(lone) >= heightAt(rest[0]!), 30_000, 'the block at the lone clinic');
    expect(lone.snapshot().ledger.view).toBeGreaterThan(rest[0]!.snapshot().ledger.view);
  }, 120_000);
});
