// Issue 10's findings in the contracts, one test each (each fails on the code before its fix): forged consent
// (1), quorums of validator organisations (2), bounded and answerable break-glass (4), certificates checked
// in the replica's sync (6), expiry and replay on the signed bytes (14), approveOrg re-checking its key (15).
import { describe, expect, it } from 'vitest';
import { Ed25519Signer } from '../../../wasm/index.ts';
import { HygeiaContracts, LedgerReplica, MAX_TX_LIFETIME_MS, txId } from '../../../web/src/core/ledger/contracts/index.ts';
import { toHex } from '../../../web/src/core/util/index.ts';
import { DAY, TREAT_01, grant, request, setup } from './helpers.ts';
import { writeCommitCertificate } from '../../../web/src/core/ledger/index.ts';
import { useCore } from '../shared/core.ts';

useCore();

describe('finding 1: forged consent', () => {
  it('finding 1: a clinic cannot register a patient or guardian key for a pseudonym another clinic holds', () => {
    const s = setup(101, { agreements: [TREAT_01] });
    // org-0 holds pseudo-1 (it registered the patient's key at set-up). org-1 tries to enrol a "patient" of its own for it.
    const fake = s.author();
    expect(s.submit(s.admins[1]!.make('registerKey', { key: fake.publicKey, org: 'org-1', role: 'patient', subject: 'pseudo-1' }))).toEqual({ ok: false, reason: 'not-holder' });
    expect(s.submit(s.admins[1]!.make('registerKey', { key: fake.publicKey, org: 'org-1', role: 'guardian', subject: 'pseudo-1' }))).toEqual({ ok: false, reason: 'not-holder' });
    expect(s.ledger.app.key(fake.publicKey)).toBeUndefined();
    expect(s.ledger.app.patientLog('pseudo-1').holder).toBe('org-0');
  });

  it("finding 1: clinic B's own 'patient' key for clinic A's patient grants nothing at A (the attack is denied)", () => {
    // The attack on the old code: B registers a patient key for A's pseudonym (here before A enrolled the patient,
    // the only order the registration rule still lets through), grants itself consent, and asks A for records.
    const s = setup(102, { agreements: [TREAT_01] });
    const fake = s.author();
    expect(s.submit(s.admins[1]!.make('registerKey', { key: fake.publicKey, org: 'org-1', role: 'patient', subject: 'pseudo-9' }))).toEqual({ ok: true });
    expect(s.submit(fake.make('grantConsent', grant(s, { consentId: 'forged', patient: 'pseudo-9' })))).toEqual({ ok: true });
    expect(s.ledger.app.consent('forged')).toMatchObject({ holder: 'org-1' });
    expect(s.submit(s.clinician.make('requestAccess', request({ patient: 'pseudo-9' })))).toEqual({ ok: true });
    expect(s.ledger.app.decision('r1')).toMatchObject({ decision: 'deny', grantedTypes: [] });
    // And the real holder can then not enrol the patient B squatted on: refused, visibly, never silently shared.
    expect(s.submit(s.admins[0]!.make('registerKey', { key: s.author().publicKey, org: 'org-0', role: 'patient', subject: 'pseudo-9' }))).toEqual({
      ok: false,
      reason: 'not-holder',
    });
    // The genuine path still works: the holder's own patient key grants, and B is permitted.
    expect(s.submit(s.patient.make('grantConsent', grant(s)))).toEqual({ ok: true });
    expect(s.submit(s.clinician.make('requestAccess', request({ requestId: 'r2' })))).toEqual({ ok: true });
    expect(s.ledger.app.decision('r2')).toMatchObject({ decision: 'permit', consentIds: ['c1'] });
  });
});

describe("finding 1: decide counts only consents from the holder's own patient keys", () => {
  it('finding 1: a consent granted by a key another clinic registered for the patient does not count at the holder', () => {
    // State as the old rules could leave it (org-1 registered a "patient" key for org-0's pseudonym and
    // granted itself consent), carried in a snapshot: decide must still refuse it.
    const s = setup(113, { agreements: [TREAT_01] });
    const fake = s.author();
    const entries = JSON.parse(new TextDecoder().decode(s.ledger.app.snapshot())) as [string, unknown][];
    const fakeHex = toHex(fake.publicKey);
    entries.push([`key/${fakeHex}`, { org: 'org-1', role: 'patient', subject: 'pseudo-1', revoked: false, registeredAt: 1 }]);
    entries.push(['consent/forged', { ...grant(s, { consentId: 'forged' }), holder: 'org-0', grantedAt: s.clock.time, grantedBy: fakeHex, revoked: false, revokedAt: 0 }]);
    entries.push(['plog/pseudo-1/0', { n: 0, kind: 'grantConsent', ref: 'forged', tx: '00'.repeat(32), height: 1, index: 0 }]);
    const leaf = entries.find(([k]) => k === 'patient/pseudo-1')!;
    leaf[1] = { ...(leaf[1] as object), count: 1 };
    entries.sort(([a], [b]) => (a < b ? -1 : 1));
    const app = new HygeiaContracts(s.genesis);
    app.restore(new TextEncoder().encode(JSON.stringify(entries)));
    const ctx = { height: s.ledger.height + 1, index: 0, time: s.clock.time };
    expect(app.apply(s.clinician.make('requestAccess', request()), ctx)).toEqual({ ok: true });
    expect(app.decision('r1')).toMatchObject({ decision: 'deny', reason: 'no-consent' });
  });
});

describe('finding 2: quorums of validator organisations', () => {
  it('finding 2: admitting an organisation among 5 validator orgs needs quorumSize(5) = 4 approvals, not 2f+1 = 3', () => {
    const s = setup(103, { orgs: 5 });
    const joiner = s.author();
    expect(s.submit(s.admins[0]!.make('proposeOrg', { org: 'org-new', name: 'New', adminKey: joiner.publicKey, validator: true }))).toEqual({ ok: true });
    expect(s.submit(s.admins[1]!.make('approveOrg', { org: 'org-new' }))).toEqual({ ok: true });
    expect(s.submit(s.admins[2]!.make('approveOrg', { org: 'org-new' }))).toEqual({ ok: true });
    expect(s.ledger.app.org('org-new')).toBeUndefined();
    expect(s.ledger.app.membershipProposals()[0]).toMatchObject({ needed: 4 });
    expect(s.submit(s.admins[3]!.make('approveOrg', { org: 'org-new' }))).toEqual({ ok: true });
    expect(s.ledger.app.org('org-new')).toMatchObject({ validator: true });
  });
});

describe('finding 4: break-glass', () => {
  const emergency = request({ requestId: 'bg1', purpose: 'ETREAT', breakGlass: true, emergencyReason: 'unconscious', resourceTypes: ['AllergyIntolerance'] });

  it("finding 4: break-glass needs the holder's emergency policy or an agreement marked emergency", () => {
    const s = setup(104);
    expect(s.submit(s.clinician.make('requestAccess', emergency))).toEqual({ ok: true });
    expect(s.ledger.app.decision('bg1')).toMatchObject({ decision: 'deny', reason: 'break-glass-not-allowed', grantedTypes: [] });
    // A policy of the holder naming another organisation does not help org-1.
    expect(s.submit(s.admins[0]!.make('setEmergencyPolicy', { orgs: ['org-2'], maxPerClinicianPerDay: 5, maxPerPatientPerDay: 5 }))).toEqual({ ok: true });
    expect(s.submit(s.clinician.make('requestAccess', { ...emergency, requestId: 'bg2' }))).toEqual({ ok: true });
    expect(s.ledger.app.decision('bg2')).toMatchObject({ decision: 'deny', reason: 'break-glass-not-allowed' });
    // Only the holder's admin sets its policy.
    expect(s.submit(s.clinician.make('setEmergencyPolicy', { orgs: ['org-1'], maxPerClinicianPerDay: 5, maxPerPatientPerDay: 5 }))).toEqual({ ok: false, reason: 'wrong-role' });
    expect(s.submit(s.admins[0]!.make('setEmergencyPolicy', { orgs: ['org-1', 'org-2'], maxPerClinicianPerDay: 5, maxPerPatientPerDay: 5 }))).toEqual({ ok: true });
    expect(s.submit(s.clinician.make('requestAccess', { ...emergency, requestId: 'bg3' }))).toEqual({ ok: true });
    expect(s.ledger.app.decision('bg3')).toMatchObject({ decision: 'permit', reason: 'break-glass', grantedTypes: ['AllergyIntolerance'], emergencyReason: 'unconscious' });
    // Or an agreement marked emergency, with the default limits.
    const t = setup(105, { agreements: [{ ...TREAT_01, emergency: true }] });
    expect(t.submit(t.clinician.make('requestAccess', emergency))).toEqual({ ok: true });
    expect(t.ledger.app.decision('bg1')).toMatchObject({ decision: 'permit', reason: 'break-glass' });
    // A break-glass flag needs the emergency purpose and a coded reason.
    expect(t.submit(t.clinician.make('requestAccess', { ...emergency, requestId: 'bg4', purpose: 'TREAT' }))).toEqual({ ok: true });
    expect(t.ledger.app.decision('bg4')).toMatchObject({ decision: 'deny', reason: 'break-glass-purpose' });
    expect(t.submit(t.clinician.make('requestAccess', { ...emergency, requestId: 'bg5', emergencyReason: 'felt like it' }))).toEqual({ ok: false, reason: 'malformed' });
  });

  it('finding 4: break-glass is limited per clinician and per patient over the last 24 h of block time', () => {
    const s = setup(106);
    expect(s.submit(s.admins[0]!.make('setEmergencyPolicy', { orgs: ['org-1'], maxPerClinicianPerDay: 2, maxPerPatientPerDay: 3 }))).toEqual({ ok: true });
    for (const p of ['pa', 'pb', 'pc'])
      expect(s.submit(s.admins[0]!.make('registerKey', { key: s.author().publicKey, org: 'org-0', role: 'patient', subject: p }))).toEqual({ ok: true });
    const ask = (id: string, patient: string, by = s.clinician) => {
      expect(s.submit(by.make('requestAccess', { ...emergency, requestId: id, patient }))).toEqual({ ok: true });
      return s.ledger.app.decision(id)!;
    };
    expect(ask('b1', 'pa').decision).toBe('permit');
    expect(ask('b2', 'pb').decision).toBe('permit');
    expect(ask('b3', 'pc')).toMatchObject({ decision: 'deny', reason: 'break-glass-clinician-limit' });
    // Another clinician of the same organisation has their own allowance, but the patient's is shared.
    const other = s.author();
    expect(s.submit(s.admins[1]!.make('registerKey', { key: other.publicKey, org: 'org-1', role: 'clinician', subject: 'dr-2' }))).toEqual({ ok: true });
    expect(ask('b4', 'pa', other).decision).toBe('permit');
    expect(ask('b5', 'pa', other).decision).toBe('permit');
    expect(s.submit(s.admins[0]!.make('setEmergencyPolicy', { orgs: ['org-1'], maxPerClinicianPerDay: 10, maxPerPatientPerDay: 3 }))).toEqual({ ok: true });
    expect(ask('b6', 'pa', other)).toMatchObject({ decision: 'deny', reason: 'break-glass-patient-limit' });
    // A day of block time later the allowances are back.
    s.clock.time += DAY;
    expect(ask('b7', 'pc').decision).toBe('permit');
    expect(ask('b8', 'pa', other).decision).toBe('permit');
  });

  it("finding 4: only the holder's auditors review; 'unjustified' revokes the permit, leaves evidence and enters the patient's log", () => {
    const s = setup(107);
    s.submit(s.admins[0]!.make('setEmergencyPolicy', { orgs: ['org-1'], maxPerClinicianPerDay: 5, maxPerPatientPerDay: 5 }));
    const ownAuditor = s.author();
    const holderAuditor = s.author();
    const holderNode = s.author();
    s.submit(s.admins[1]!.make('registerKey', { key: ownAuditor.publicKey, org: 'org-1', role: 'auditor', subject: '' }));
    s.submit(s.admins[0]!.make('registerKey', { key: holderAuditor.publicKey, org: 'org-0', role: 'auditor', subject: '' }));
    s.submit(s.admins[0]!.make('registerKey', { key: holderNode.publicKey, org: 'org-0', role: 'node', subject: '' }));
    expect(s.submit(s.clinician.make('requestAccess', emergency))).toEqual({ ok: true });
    expect(s.ledger.app.breakGlassReviewQueue('org-0').map((d) => d.requestId)).toEqual(['bg1']);
    expect(s.ledger.app.breakGlassReviewQueue('org-1')).toEqual([]);
    // The requesting clinic's own auditor cannot clear its clinician.
    expect(s.submit(ownAuditor.make('reviewBreakGlass', { requestId: 'bg1', verdict: 'justified' }))).toEqual({ ok: false, reason: 'not-holder' });
    expect(s.submit(s.clinician.make('reviewBreakGlass', { requestId: 'bg1', verdict: 'justified' }))).toEqual({ ok: false, reason: 'wrong-role' });
    const logBefore = s.ledger.app.patientLog('pseudo-1').count;
    expect(s.submit(holderAuditor.make('reviewBreakGlass', { requestId: 'bg1', verdict: 'unjustified' }))).toEqual({ ok: true });
    expect(s.ledger.app.decision('bg1')).toMatchObject({ reviewed: 'unjustified', revoked: true });
    expect(s.ledger.app.breakGlassReviewQueue('org-0')).toEqual([]);
    // Revoked at once: the holder can no longer record a release against it.
    expect(s.submit(holderNode.make('recordRelease', { requestId: 'bg1', resourceTypes: ['AllergyIntolerance'], count: 1, digest: new Uint8Array(32) }))).toEqual({
      ok: false,
      reason: 'permit-revoked',
    });
    // Evidence against the requesting organisation, for the trust layer to count.
    expect(s.ledger.app.evidence('org-1')).toMatchObject([{ kind: 'unjustified-break-glass', org: 'org-1', requestId: 'bg1', holderOrg: 'org-0', patient: 'pseudo-1' }]);
    expect(s.ledger.app.evidence('org-0')).toEqual([]);
    // The patient's completeness log has the review, so the phone shows it.
    const log = s.ledger.app.patientLog('pseudo-1');
    expect(log.count).toBe(logBefore + 1);
    expect(log.events.at(-1)).toMatchObject({ kind: 'reviewBreakGlass', ref: 'bg1' });
    expect(s.submit(holderAuditor.make('reviewBreakGlass', { requestId: 'bg1', verdict: 'justified' }))).toEqual({ ok: false, reason: 'already-done' });
  });
});

describe('finding 14: expiry and replay', () => {
  it('finding 14: a transaction without an expiry, or with one beyond 24 h of the block time, is refused', () => {
    const s = setup(108, { agreements: [TREAT_01] });
    const t = s.clock.time;
    expect(s.submit(s.patient.make('grantConsent', grant(s), { notAfter: 0 }))).toEqual({ ok: false, reason: 'no-expiry' });
    expect(s.submit(s.patient.make('grantConsent', grant(s), { notAfter: t + MAX_TX_LIFETIME_MS + 1001 }))).toEqual({ ok: false, reason: 'expiry-too-far' });
    expect(s.submit(s.patient.make('grantConsent', grant(s), { notAfter: t - 1 }))).toEqual({ ok: false, reason: 'expired' });
    expect(s.submit(s.patient.make('grantConsent', grant(s), { notAfter: s.clock.time + MAX_TX_LIFETIME_MS }))).toEqual({ ok: true });
  });

  it('finding 14: a signed transaction that failed is consumed: replayed after conditions change, it still fails', () => {
    const s = setup(109, { agreements: [TREAT_01] });
    // The patient signs a consent for a clinic that is not yet a member: rejected.
    const joiner = s.author();
    const early = s.patient.make('grantConsent', grant(s, { consentId: 'early', granteeOrg: 'org-new' }));
    expect(s.submit(early)).toEqual({ ok: false, reason: 'unknown-org' });
    // The clinic is admitted; the same bytes replayed would now pass every rule, but they were consumed.
    for (const i of [0, 1, 2])
      s.submit(
        s.admins[i]!.make(
          i === 0 ? 'proposeOrg' : 'approveOrg',
          i === 0 ? ({ org: 'org-new', name: 'New', adminKey: joiner.publicKey, validator: false } as never) : { org: 'org-new' },
        ),
      );
    expect(s.ledger.app.org('org-new')).toBeDefined();
    expect(s.submit(early)).toEqual({ ok: false, reason: 'replay' });
    expect(s.ledger.app.consent('early')).toBeUndefined();
    // Its outcome stays readable by its id until its expiry (a submitter that missed the block learns it).
    expect(s.ledger.app.txOutcome(txId(early))).toMatchObject({ ok: false, reason: 'unknown-org', height: 3, index: 0 });
    // A fresh signature of the same intent is a new transaction and succeeds.
    expect(s.submit(s.patient.make('grantConsent', grant(s, { consentId: 'early', granteeOrg: 'org-new' })))).toEqual({ ok: true });
  });

  it('finding 14: replay is decided on the signed bytes, until the expiry; nonces order nothing', () => {
    const s = setup(110, { agreements: [TREAT_01] });
    s.submit(s.patient.make('grantConsent', grant(s)));
    // Two requests with the same nonce, in any order, are two transactions; the same bytes twice is a replay.
    const a = s.clinician.make('requestAccess', request({ requestId: 'ra' }), { nonce: 7 });
    const b = s.clinician.make('requestAccess', request({ requestId: 'rb' }), { nonce: 7 });
    expect(s.submit(b)).toEqual({ ok: true });
    expect(s.submit(a)).toEqual({ ok: true });
    expect(s.ledger.app.txOutcome(txId(a))).toMatchObject({ ok: true, reason: '' });
    expect(s.submit(a)).toEqual({ ok: false, reason: 'replay' });
    expect(s.ledger.app.txOutcome(txId(a))).toMatchObject({ ok: true }); // the replay does not overwrite it
    // Two transactions in one block: the second copy is the replay.
    const c = s.clinician.make('requestAccess', request({ requestId: 'rc' }));
    expect(s.ledger.commit([c, c], s.clock.time).map((x) => x.result)).toEqual([{ ok: true }, { ok: false, reason: 'replay' }]);
    // After the expiry the id is forgotten (the state stays bounded) and the bytes are refused as expired.
    const seenBefore = JSON.parse(new TextDecoder().decode(s.ledger.app.snapshot())).filter(([k]: [string]) => k.startsWith('seen/')).length;
    expect(seenBefore).toBeGreaterThanOrEqual(5);
    s.clock.time += 11 * 60 * 1000;
    expect(s.submit(a)).toEqual({ ok: false, reason: 'expired' });
    expect(s.ledger.app.txOutcome(txId(a))).toBeUndefined();
    const seenAfter = JSON.parse(new TextDecoder().decode(s.ledger.app.snapshot())).filter(([k]: [string]) => k.startsWith('seen/')).length;
    expect(seenAfter).toBe(0);
  });
});

describe('finding 15: approveOrg and keys registered after the proposal', () => {
  it("finding 15: the approval that completes an admission is refused if the proposed key was registered meanwhile, and the key's record stays", () => {
    const s = setup(111);
    const contested = s.author();
    expect(s.submit(s.admins[0]!.make('proposeOrg', { org: 'org-new', name: 'New', adminKey: contested.publicKey, validator: true }))).toEqual({ ok: true });
    expect(s.submit(s.admins[1]!.make('approveOrg', { org: 'org-new' }))).toEqual({ ok: true });
    // org-2 registers the same key as one of its clinicians before the last approval.
    expect(s.submit(s.admins[2]!.make('registerKey', { key: contested.publicKey, org: 'org-2', role: 'clinician', subject: 'dr-x' }))).toEqual({ ok: true });
    expect(s.submit(s.admins[3]!.make('approveOrg', { org: 'org-new' }))).toEqual({ ok: false, reason: 'key-taken' });
    expect(s.ledger.app.key(contested.publicKey)).toMatchObject({ org: 'org-2', role: 'clinician', subject: 'dr-x' });
    expect(s.ledger.app.org('org-new')).toBeUndefined();
  });
});

describe('finding 6: the replica checks every block certificate', () => {
  it('finding 6: blocks certified by non-validators, or with a doctored certificate, are refused with a typed reason; none can be omitted', () => {
    const s = setup(112, { agreements: [TREAT_01] });
    s.submit(s.patient.make('grantConsent', grant(s)));
    s.submit(s.patient.make('revokeConsent', { consentId: 'c1' }));
    s.submit(s.clinician.make('requestAccess', request()));
    const blocks = s.ledger.blocks;
    // A server that builds the same chain with keys of its own (same genesis, forged certificates).
    const impostors = s.admins.map(() => new Ed25519Signer(s.prng.bytes(32)));
    const forged = blocks.map((b, i) => (i === 2 ? { ...b, certificate: writeCommitCertificate(impostors, b.header.height, b.header.batchDigest, new Uint8Array(32)) } : b));
    expect(() => new LedgerReplica(s.genesis).sync(forged)).toThrowError(expect.objectContaining({ reason: 'bad-certificate', height: 3 }));
    const stripped = blocks.map((b, i) => (i === 3 ? { ...b, certificate: new Uint8Array([0]) } : b));
    expect(() => new LedgerReplica(s.genesis).sync(stripped)).toThrowError(expect.objectContaining({ reason: 'bad-certificate', height: 4, detail: 'certificate-short' }));
    // Omitting the revocation's block breaks the chain at the next one.
    expect(() => new LedgerReplica(s.genesis).sync(blocks.filter((_, i) => i !== 3))).toThrowError(expect.objectContaining({ reason: 'broken-chain' }));
    const honest = new LedgerReplica(s.genesis);
    honest.sync(blocks);
    expect(honest.app.decision('r1')).toMatchObject({ decision: 'deny', reason: 'consent-revoked' });
  });
});
