// The consent lifecycle end to end over four clinics: grant, request, release, revoke, request denied,
// erase; then the patient's audit trail, rebuilt from the ledger alone and checked against its blocks.
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { Consortium, DAY } from '../../../web/src/core/eval/consortium.ts';
import { decisionToAuditEvent, verifyAuditCompleteness } from '../../../web/src/core/ledger/contracts/index.ts';
import { ReleaseError, auditTrail, blockHashOf, releaseRecords, verifyAuditEntry } from './helpers.ts';
import { syntheaBundle as bundle } from '../records/synthea.ts';
import { useCore } from '../shared/core.ts';

useCore();

describe('consent lifecycle', () => {
  it('grant, request, release, revoke, denied, erase, with a verifiable audit trail', async () => {
    const c = await Consortium.create({ seed: 11, dbPrefix: 'lifecycle' });
    const [a, b] = [c.clinic('clinic-a'), c.clinic('clinic-b')];
    const p = await c.enrol(a, bundle(0));
    c.agree(b, a, 'agr-ab', ['TREAT']);

    // grant: the patient lets clinic B read Conditions and Observations for treatment, for 30 days
    expect(
      c.submit(
        p.key.make('grantConsent', {
          consentId: 'c1',
          patient: p.pseudonym,
          granteeOrg: b.id,
          granteePractitioner: '',
          purpose: 'TREAT',
          resourceTypes: ['Condition', 'Observation'],
          start: c.time,
          end: c.time + 30 * DAY,
        }),
      ).result,
    ).toEqual({ ok: true });

    // request: B's clinician asks for Conditions, Observations and Claims; only the consented two are granted
    const req = {
      requestId: 'r1',
      requesterOrg: b.id,
      patient: p.pseudonym,
      holderOrg: a.id,
      resourceTypes: ['Condition', 'Observation', 'Claim'],
      purpose: 'TREAT',
      breakGlass: false,
      emergencyReason: '',
    };
    expect(c.submit(b.clinician.make('requestAccess', req)).result.ok).toBe(true);
    c.sync();
    const d = a.replica.app.decision('r1')!;
    expect(d.decision).toBe('permit');
    expect(d.grantedTypes).toEqual(['Condition', 'Observation']);
    expect(decisionToAuditEvent(d).outcome).toBe('0');

    // release: A checks the decision in its own replica and releases only the granted types
    const rel = await releaseRecords({ replica: a.replica, holderOrg: a.id, author: a.node, store: a.store, requestId: 'r1', patientId: p.patientId, now: c.time });
    const types = new Set(rel.resources.map((r) => r.resourceType));
    expect([...types].sort()).toEqual(['Condition', 'Observation']);
    expect(rel.resources.length).toBe((await a.store.search({ patient: p.patientId, resourceType: 'Condition' })).length + 16);
    expect(c.submit(rel.releaseTx).result).toEqual({ ok: true });
    // a release to the wrong holder, or for the wrong patient, is refused
    await expect(
      releaseRecords({ replica: a.replica, holderOrg: b.id, author: a.node, store: a.store, requestId: 'r1', patientId: p.patientId, now: c.time }),
    ).rejects.toMatchObject({ reason: 'not-holder' });
    await expect(
      releaseRecords({ replica: a.replica, holderOrg: a.id, author: a.node, store: a.store, requestId: 'r1', patientId: 'someone-else', now: c.time }),
    ).rejects.toMatchObject({ reason: 'wrong-patient' });

    // revoke, then the same request is denied and nothing is released
    expect(c.submit(p.key.make('revokeConsent', { consentId: 'c1' })).result).toEqual({ ok: true });
    expect(c.submit(b.clinician.make('requestAccess', { ...req, requestId: 'r2' })).result.ok).toBe(true);
    c.sync();
    expect(a.replica.app.decision('r2')).toMatchObject({ decision: 'deny', reason: 'consent-revoked', grantedTypes: [] });
    await expect(
      releaseRecords({ replica: a.replica, holderOrg: a.id, author: a.node, store: a.store, requestId: 'r2', patientId: p.patientId, now: c.time }),
    ).rejects.toBeInstanceOf(ReleaseError);

    // erase: crypto-shredding at the clinic; even a permit could release nothing now
    await a.store.erasePatient(p.patientId);
    await expect(a.store.search({ patient: p.patientId })).rejects.toMatchObject({ reason: 'erased' });
    expect(c.submit(a.node.make('confirmErasure', { patient: p.pseudonym })).result).toEqual({ ok: true });
    expect(c.submit(b.clinician.make('requestAccess', { ...req, requestId: 'r3' })).result.ok).toBe(true);
    expect(c.ledger.app.decision('r3')).toMatchObject({ decision: 'deny', reason: 'erased' });

    // the audit trail, from the ledger alone
    const trail = auditTrail(c.ledger.blocks, c.genesis, p.pseudonym);
    expect(trail.map((e) => `${e.kind}:${e.subject}`)).toEqual([
      'grantConsent:c1',
      'requestAccess:r1',
      'recordRelease:r1',
      'revokeConsent:c1',
      'requestAccess:r2',
      `confirmErasure:${p.pseudonym}`,
      'requestAccess:r3',
    ]);
    expect(trail.map((e) => e.decision?.decision ?? '-')).toEqual(['-', 'permit', '-', '-', 'deny', '-', 'deny']);
    for (const e of trail) expect(verifyAuditEntry(e, blockHashOf(c.ledger, e.height))).toBe(true);
    // complete against the patient's log leaf, and an omitted entry is seen
    const leaf = c.ledger.app.patientLog(p.pseudonym);
    expect(verifyAuditCompleteness(leaf, trail)).toBe(true);
    expect(
      verifyAuditCompleteness(
        leaf,
        trail.filter((e) => e.subject !== 'r2'),
      ),
    ).toBe(false);
    // a doctored entry fails against its block
    const doctored = { ...trail[4]!, tx: trail[1]!.tx };
    expect(verifyAuditEntry(doctored, blockHashOf(c.ledger, doctored.height))).toBe(false);
    // another patient's trail is empty
    expect(auditTrail(c.ledger.blocks, c.genesis, 'not-a-patient')).toEqual([]);
    c.close();
  });
});
