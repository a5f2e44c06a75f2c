// A consult between a clinic and a linked phone, over the simulated network (no media there: chat only):
// refused without the patient's treatment consent to the clinic, then invited, joined, chatted, ended, and
// recorded as a virtual Encounter in the patient's record.
import { describe, expect, it } from 'vitest';
import { Prng } from '../../../web/src/core/util/index.ts';
import { syntheaBundle as bundle, useConsortium } from './harness.ts';

describe('consults', () => {
  const c = useConsortium({ clinics: 4, seed: 21 });

  it('is refused without consent, then connects, chats and leaves an Encounter behind', async () => {
    const clinic = c.nodes[0]!;
    const patientId = (await clinic.importBundle(bundle(2))).patients![0]!;
    const phone = await c.phone(new Prng(5).bytes(32));
    await phone.link((await clinic.enrolPatient(patientId)).code);

    await expect(clinic.startConsult(patientId, { media: null })).rejects.toMatchObject({ code: 'rejected' });

    const { consentId } = await phone.grantConsent({ grantee: 'clinic-1', purpose: 'TREAT', resourceTypes: ['Encounter'], end: Date.now() + 86_400_000 });
    await c.until(() => clinic.contracts.consent(consentId) !== undefined, 20_000, 'consent');
    const started = clinic.startConsult(patientId, { media: null });
    await c.until(() => phone.snapshot().consultInvite !== null, 10_000, 'the invitation');
    expect(phone.snapshot().consultInvite).toMatchObject({ clinic: 'clinic-1' });
    const mine = await phone.joinConsult(phone.snapshot().consultInvite!.consultId, { media: null });
    const theirs = await started;
    expect(theirs.state()).toMatchObject({ phase: 'live', mode: 'chat' });
    theirs.sendChat('Hello, how are you feeling today?');
    await c.until(() => mine.state().messages.length === 1, 5_000, 'chat at the phone');
    mine.sendChat('Better, thank you.');
    await c.until(() => theirs.state().messages.length === 2, 5_000, 'chat at the clinic');
    expect(theirs.state().messages.map((m) => m.text)).toEqual(['Hello, how are you feeling today?', 'Better, thank you.']);

    const { encounterId } = await theirs.end();
    expect(encounterId).toBeTruthy();
    await c.until(() => mine.state().phase === 'ended', 5_000, 'the phone sees the end');
    const enc = await clinic.store.read<fhir4.Encounter>('Encounter', encounterId!);
    expect(enc.class).toMatchObject({ code: 'VR' });
    expect(enc.subject?.reference).toBe(`Patient/${patientId}`);
    const anchorId = await clinic.store.anchorId('Encounter', encounterId!);
    await c.until(() => c.nodes.every((n) => n.contracts.anchorOf('clinic-1', anchorId) !== undefined), 20_000, 'the Encounter anchored everywhere');
    expect((await clinic.consults())[0]).toMatchObject({ encounterId, mode: 'chat' });

    // Revoked consent: refused again.
    await phone.revokeConsent(consentId);
    await c.until(() => clinic.contracts.consent(consentId)?.revoked === true, 20_000, 'revocation');
    await expect(clinic.startConsult(patientId, { media: null })).rejects.toMatchObject({ code: 'rejected' });
  }, 120_000);
});
