// What the ledger keeps per patient and the reads the clinic node builds on: erasure (asked by the patient,
// confirmed by the holder), releases to the patient's own phone, the completeness log a phone checks against
// a proven leaf, and the typed reads by grantee, patient, requester and holder.
import { describe, expect, it } from 'vitest';
import { sha256 } from '../../../wasm/index.ts';
import { auditTrail, decodeTx, patientLogHead, verifyAuditCompleteness, verifyStateProof } from '../../../web/src/core/ledger/contracts/index.ts';
import { fromHex, toHex } from '../../../web/src/core/util/index.ts';
import { DAY, TREAT_01, grant, request, setup } from './helpers.ts';
import { useCore } from '../shared/core.ts';

useCore();

describe('erasure', () => {
  it('the patient asks, only the holder confirms, and no access is permitted after', () => {
    const s = setup(401, { agreements: [TREAT_01] });
    const node = s.author();
    s.submit(s.admins[0]!.make('registerKey', { key: node.publicKey, org: 'org-0', role: 'node', subject: '' }));
    s.submit(s.patient.make('grantConsent', grant(s)));
    expect(s.submit(s.clinician.make('requestErasure', { patient: 'pseudo-1' }))).toEqual({ ok: false, reason: 'wrong-role' });
    expect(s.submit(s.patient.make('requestErasure', { patient: 'pseudo-2' }))).toEqual({ ok: false, reason: 'wrong-patient' });
    expect(s.submit(s.patient.make('requestErasure', { patient: 'pseudo-1' }))).toEqual({ ok: true });
    expect(s.submit(s.patient.make('requestErasure', { patient: 'pseudo-1' }))).toEqual({ ok: false, reason: 'already-done' });
    expect(s.ledger.app.erasureRequests('org-0', true)).toMatchObject([{ patient: 'pseudo-1', status: 'requested', requestedBy: toHex(s.patient.publicKey) }]);
    expect(s.ledger.app.erasureRequests('org-1')).toEqual([]);
    // Another clinic cannot confirm it.
    expect(s.submit(s.admins[1]!.make('confirmErasure', { patient: 'pseudo-1' }))).toEqual({ ok: false, reason: 'not-holder' });
    expect(s.submit(node.make('confirmErasure', { patient: 'pseudo-1' }))).toEqual({ ok: true });
    expect(s.submit(node.make('confirmErasure', { patient: 'pseudo-1' }))).toEqual({ ok: false, reason: 'already-done' });
    expect(s.ledger.app.erasureRequests('org-0', true)).toEqual([]);
    expect(s.ledger.app.erasure('org-0', 'pseudo-1')).toMatchObject({ status: 'confirmed' });
    expect(s.submit(s.clinician.make('requestAccess', request()))).toEqual({ ok: true });
    expect(s.ledger.app.decision('r1')).toMatchObject({ decision: 'deny', reason: 'erased' });
    expect(s.ledger.app.patientLog('pseudo-1').events.map((e) => e.kind)).toEqual(['grantConsent', 'requestErasure', 'confirmErasure', 'requestAccess']);
  });
});

describe('self-access', () => {
  it("the holder records a release to the patient's own registered phone, and only that", () => {
    const s = setup(402);
    const node = s.author();
    const otherPatient = s.author();
    s.submit(s.admins[0]!.make('registerKey', { key: node.publicKey, org: 'org-0', role: 'node', subject: '' }));
    s.submit(s.admins[0]!.make('registerKey', { key: otherPatient.publicKey, org: 'org-0', role: 'patient', subject: 'pseudo-2' }));
    const rel = { patient: 'pseudo-1', device: s.patient.publicKey, resourceTypes: ['Observation', 'Condition'], count: 12, digest: new Uint8Array(32).fill(5) };
    expect(s.submit(node.make('selfAccess', rel))).toEqual({ ok: true });
    expect(s.submit(node.make('selfAccess', { ...rel, device: otherPatient.publicKey }))).toEqual({ ok: false, reason: 'unknown-device' });
    expect(s.submit(s.admins[1]!.make('selfAccess', rel))).toEqual({ ok: false, reason: 'not-holder' });
    expect(s.submit(s.admins[0]!.make('revokeKey', { key: s.patient.publicKey }))).toEqual({ ok: true });
    expect(s.submit(node.make('selfAccess', rel))).toEqual({ ok: false, reason: 'revoked-key' });
    expect(s.ledger.app.selfAccesses('pseudo-1')).toMatchObject([{ holder: 'org-0', device: toHex(s.patient.publicKey), resourceTypes: ['Condition', 'Observation'], count: 12 }]);
    expect(s.ledger.app.patientLog('pseudo-1').events.map((e) => e.kind)).toEqual(['selfAccess']);
  });
});

describe('the completeness log', () => {
  it('a phone recomputes the head from the served entries and checks the leaf against the attested root', () => {
    const s = setup(403, { agreements: [TREAT_01] });
    s.submit(s.patient.make('grantConsent', grant(s)));
    s.submit(s.clinician.make('requestAccess', request()));
    s.submit(s.patient.make('revokeConsent', { consentId: 'c1' }));
    s.submit(s.clinician.make('requestAccess', request({ requestId: 'r2' })));
    const root = s.ledger.blocks.at(-1)!.header.stateRoot;
    const proof = s.ledger.app.stateProof('patient/pseudo-1');
    expect(verifyStateProof(root, 'patient/pseudo-1', proof.value, proof.proof)).toBe(true);
    const leaf = proof.value as { holder: string; count: number; head: string };
    expect(leaf).toMatchObject({ holder: 'org-0', count: 4 });
    const trail = auditTrail(s.ledger.blocks, s.genesis, 'pseudo-1');
    expect(verifyAuditCompleteness(leaf, trail)).toBe(true);
    // The head is the chain of (kind, sha256(signed body)), as patientLogHead computes it.
    let h: Uint8Array = new Uint8Array(32);
    for (const e of trail) h = patientLogHead(h, e.kind, sha256(decodeTx(e.tx).body));
    expect(toHex(h)).toBe(leaf.head);
    // A clinic that hides the revocation, reorders, relabels or adds an entry is caught.
    expect(
      verifyAuditCompleteness(
        leaf,
        trail.filter((e) => e.kind !== 'revokeConsent'),
      ),
    ).toBe(false);
    expect(verifyAuditCompleteness(leaf, [trail[1]!, trail[0]!, trail[2]!, trail[3]!])).toBe(false);
    expect(
      verifyAuditCompleteness(
        leaf,
        trail.map((e, i) => (i === 2 ? { ...e, kind: 'grantConsent' as const } : e)),
      ),
    ).toBe(false);
    expect(verifyAuditCompleteness(leaf, [...trail, trail[3]!])).toBe(false);
    expect(verifyAuditCompleteness({ ...leaf, head: toHex(fromHex(leaf.head).map((b, i) => (i === 0 ? b ^ 1 : b))) }, trail)).toBe(false);
  });
});

describe('reads', () => {
  it('consents by grantee and patient (live at a time), decisions by patient, requester and holder, keys, orgs, agreements', () => {
    const s = setup(404, { agreements: [TREAT_01] });
    s.submit(s.patient.make('grantConsent', grant(s, { consentId: 'c1', end: s.clock.time + DAY })));
    s.submit(s.patient.make('grantConsent', grant(s, { consentId: 'c2', granteeOrg: 'org-2' })));
    s.submit(s.clinician.make('requestAccess', request({ requestId: 'r1' })));
    s.submit(s.clinician.make('requestAccess', request({ requestId: 'r0', purpose: 'HRESCH' })));
    const now = s.clock.time;
    expect(s.ledger.app.consentsByGrantee('org-1').map((c) => c.consentId)).toEqual(['c1']);
    expect(s.ledger.app.consentsByGrantee('org-1', now + 2 * DAY)).toEqual([]);
    expect(s.ledger.app.consentsByPatient('pseudo-1', now).map((c) => [c.consentId, c.holder])).toEqual([
      ['c1', 'org-0'],
      ['c2', 'org-0'],
    ]);
    // Ledger order, not id order.
    expect(s.ledger.app.decisionsByPatient('pseudo-1').map((d) => d.requestId)).toEqual(['r1', 'r0']);
    expect(s.ledger.app.decisionsByRequester('org-1').map((d) => d.requestId)).toEqual(['r1', 'r0']);
    expect(s.ledger.app.decisionsByHolder('org-0').map((d) => [d.requestId, d.decision])).toEqual([
      ['r1', 'permit'],
      ['r0', 'deny'],
    ]);
    expect(s.ledger.app.decisionsByHolder('org-1')).toEqual([]);
    expect(s.ledger.app.keysOf('org-1', 'clinician')).toEqual([
      { key: toHex(s.clinician.publicKey), org: 'org-1', role: 'clinician', subject: 'dr-1', revoked: false, registeredAt: 2 },
    ]);
    expect(
      s.ledger.app
        .keysOf('org-0')
        .map((k) => k.role)
        .sort(),
    ).toEqual(['admin', 'patient']);
    expect(s.ledger.app.orgs().map((o) => [o.id, o.name, o.validator])).toEqual([0, 1, 2, 3].map((i) => [`org-${i}`, `Clinic ${i}`, true]));
    expect(s.ledger.app.agreementsOf('org-1').map((a) => a.agreementId)).toEqual(['treat-01']);
    expect(s.ledger.app.agreementsOf('org-3')).toEqual([]);
  });
});
