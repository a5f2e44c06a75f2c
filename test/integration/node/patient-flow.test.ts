// A patient's phone and four clinics on one simulated network: the phone links to its clinic by a one-time
// code, grants a second clinic consent by a transaction it signs itself, the second clinic is permitted; after
// the phone revokes, the same request is denied; the phone's audit trail shows both decisions.
import { describe, expect, it } from 'vitest';
import { Prng } from '../../../web/src/core/util/index.ts';
import { NodeError } from '../../../web/src/core/node/api.ts';
import { syntheaBundle, useConsortium } from './harness.ts';

const bundle = (i: number) => syntheaBundle(i) as { entry: { resource: { resourceType: string; id: string } }[] };

describe('a patient and four clinics', () => {
  const c = useConsortium({ clinics: 4, seed: 11 });

  it('links, grants, is audited, revokes', async () => {
    const [clinic1, clinic2] = [c.nodes[0]!, c.nodes[1]!];
    const b = bundle(1);
    const imported = await clinic1.importBundle(b);
    const patientId = imported.patients![0]!;
    const phone = await c.phone(new Prng(99).bytes(32));

    // A wrong code is refused with a typed error; the right one links (single use).
    const { code } = await clinic1.enrolPatient(patientId);
    await expect(phone.link('AAAAA-AAAAA')).rejects.toBeInstanceOf(NodeError);
    const link = await phone.link(code);
    expect(link.clinic).toBe('clinic-1');
    expect((await clinic1.patients()).find((p) => p.id === patientId)?.linkedDevices).toBe(1);
    expect(link.displayName.length).toBeGreaterThan(0);
    const other = await c.phone(new Prng(100).bytes(32));
    await expect(other.link(code)).rejects.toMatchObject({ code: 'bad-code' });

    const { consentId } = await phone.grantConsent({ grantee: 'clinic-2', purpose: 'TREAT', resourceTypes: ['Condition', 'Observation'], end: Date.now() + 86_400_000 });
    await c.until(() => clinic2.contracts.consent(consentId) !== undefined, 20_000, 'consent at clinic-2');
    const granted = await clinic2.consentsGranted();
    expect(granted).toEqual([{ consentId, patient: link.pseudonym, holder: 'clinic-1', purpose: 'TREAT', resourceTypes: ['Condition', 'Observation'] }]);

    // The two clinics' treatment agreement (clinic-2 proposes, clinic-1 signs).
    const { agreementId } = await clinic2.proposeAgreement({ partner: 'clinic-1', purposes: ['TREAT'], end: Date.now() + 30 * 86_400_000 });
    await c.until(() => clinic1.contracts.agreement(agreementId) !== undefined, 20_000, 'agreement proposal at clinic-1');
    expect((await clinic1.agreements()).find((a) => a.agreementId === agreementId)?.state).toBe('awaiting-our-signature');
    await clinic1.signAgreement(agreementId);
    await c.until(() => clinic2.contracts.agreement(agreementId)?.signedB === true, 20_000, 'signature at clinic-2');
    expect((await clinic2.agreements()).find((a) => a.agreementId === agreementId)).toMatchObject({ partner: 'clinic-1', state: 'active' });

    const permitted = await clinic2.requestAccess({ holder: 'clinic-1', patient: link.pseudonym, purpose: 'TREAT', resourceTypes: ['Condition'] });
    expect(permitted.decision).toBe('permit');
    // Exactly the consented resources arrive, each checked against clinic-1's anchors.
    const held = await clinic1.store.search({ patient: patientId, resourceType: 'Condition' });
    expect(held.length).toBeGreaterThan(0);
    expect(permitted.resources).toBe(held.length);
    const got = (await clinic2.received()).find((r) => r.requestId === permitted.requestId)!;
    expect(got.resources.map((r) => r.resourceType)).toEqual(held.map(() => 'Condition'));
    expect(got.holder).toBe('clinic-1');

    await phone.revokeConsent(consentId);
    await c.until(() => clinic2.contracts.consent(consentId)?.revoked === true, 20_000, 'revocation at clinic-2');
    expect(await clinic2.consentsGranted()).toEqual([]);
    const denied = await clinic2.requestAccess({ holder: 'clinic-1', patient: link.pseudonym, purpose: 'TREAT', resourceTypes: ['Condition'] });
    expect(denied).toMatchObject({ decision: 'deny', resources: 0 });

    // The refusal is committed where clinic-2 looks; clinic-1, which answers the phone, may execute it a moment later.
    await c.until(() => clinic1.snapshot().ledger.height >= clinic2.snapshot().ledger.height, 20_000, 'clinic-1 to reach the refusal');
    const trail = await phone.auditTrail();
    expect(trail.entries.map((e) => [e.actor, e.decision, e.purpose, e.verified])).toEqual([
      ['clinic-2', 'deny', 'TREAT', true],
      ['clinic-2', 'permit', 'TREAT', true],
    ]);
    expect(trail.entries[1]!.released).toBe(held.length);
    const consents = await phone.consents();
    expect(consents).toMatchObject([{ consentId, revoked: true, grantee: 'clinic-2' }]);

    // The patient asks the clinic to erase their records: the request is on the ledger, the clinic sees it,
    // and asking twice is refused.
    await phone.requestErasure();
    await c.until(() => clinic1.contracts.erasure('clinic-1', link.pseudonym)?.status === 'requested', 20_000, 'the erasure request at clinic-1');
    expect((await clinic1.erasureRequests()).map((r) => r.patientId)).toEqual([patientId]);
    await expect(phone.requestErasure()).rejects.toBeInstanceOf(NodeError);
    await expect(phone.requestErasure('clinic-9')).rejects.toMatchObject({ code: 'not-linked' });
  }, 300_000);
});
