// The phone trusts only what it checks: a clinic that alters an entry, leaves one out, drops an event from
// the patient's log or serves a header without a quorum's attestation gets nothing marked verified.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeProofBundle, encodeProofBundle, type ProofBundle } from '../../../web/src/core/node/patient-proofs.ts';
import { PhoneVerifier, buildProofBundle } from '../../../web/src/core/node/patient-verify.ts';
import { Prng } from '../../../web/src/core/util/index.ts';
import { syntheaBundle as bundle, startConsortium, type TestConsortium } from './harness.ts';

describe('the phone checks what a clinic serves', () => {
  let c: TestConsortium;
  let pseudonym = '';
  let served: ProofBundle;
  beforeAll(async () => {
    c = await startConsortium({ clinics: 4, seed: 41 });
    const [clinic1, clinic2] = [c.nodes[0]!, c.nodes[1]!];
    const patientId = (await clinic1.importBundle(bundle(0))).patients![0]!;
    const phone = await c.phone(new Prng(7).bytes(32));
    pseudonym = (await phone.link((await clinic1.enrolPatient(patientId)).code)).pseudonym;
    await phone.grantConsent({ grantee: 'clinic-2', purpose: 'TREAT', resourceTypes: ['Condition'], end: Date.now() + 86_400_000 });
    await c.until(() => clinic2.contracts.consentsByPatient(pseudonym).length === 1, 20_000, 'consent');
    await clinic2.requestAccess({ holder: 'clinic-1', patient: pseudonym, purpose: 'TREAT', resourceTypes: ['Condition'] });
    await clinic2.requestAccess({ holder: 'clinic-1', patient: pseudonym, purpose: 'HRESCH', resourceTypes: ['Condition'] });
    // grant, request, release, request: all four events at the holder before it answers.
    await c.until(() => clinic1.contracts.patientLog(pseudonym).count === 4, 20_000, 'the patient log at the holder');
    let bytes: Uint8Array | null = null;
    await c.until(() => (bytes = buildProofBundle(clinic1.contracts, clinic1.ledger.consensus, pseudonym)) !== null, 10_000, 'an attested tip');
    served = decodeProofBundle(bytes!);
  }, 180_000);
  afterAll(async () => {
    await c.stop();
  });

  const check = (b: ProofBundle) => new PhoneVerifier(c.genesis).check(decodeProofBundle(encodeProofBundle(b)), pseudonym);

  it('verifies an honest answer: every entry, complete', () => {
    const r = check(served);
    expect(r.complete).toBe(true);
    expect([...r.verifiedKeys].filter((k) => k.startsWith('access/')).length).toBe(2);
    expect([...r.verifiedKeys].filter((k) => k.startsWith('consent/')).length).toBe(1);
  });

  it('an altered decision proves nothing', () => {
    const leaves = served.leaves.map((l) =>
      l.key.startsWith('access/') && (l.value as { decision: string }).decision === 'deny' ? { ...l, value: { ...(l.value as object), decision: 'permit' } } : l,
    );
    expect(check({ ...served, leaves })).toMatchObject({ complete: false, verifiedKeys: new Set() });
  });

  it('a left-out access entry, or a dropped log event, leaves the trail unverified', () => {
    const withoutAccess = served.leaves.filter((l) => !l.key.startsWith('access/') || (l.value as { purpose: string }).purpose !== 'HRESCH');
    expect(check({ ...served, leaves: withoutAccess }).verifiedKeys.size).toBe(0);
    const withoutEvent = served.leaves.filter((l) => l.key !== `plog/${pseudonym}/1`);
    expect(check({ ...served, leaves: withoutEvent }).verifiedKeys.size).toBe(0);
  });

  it('a header without its quorum of attestations is not accepted', () => {
    const attestation = served.attestation.slice();
    attestation[attestation.length - 1]! ^= 1;
    expect(check({ ...served, attestation })).toMatchObject({ height: 0, verifiedKeys: new Set() });
  });
});
