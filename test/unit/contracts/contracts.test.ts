// The contracts as a LedgerApp: canonical transactions, typed rejections that change nothing, determinism
// (two replicas, snapshot/restore), reconfiguration by 2f+1 organisations, guardians, FHIR Consent mapping.
import { beforeAll, describe, expect, it } from 'vitest';
import { Ed25519Signer, initCore } from '../../../wasm/index.ts';
import {
  HygeiaContracts,
  LedgerReplica,
  MemoryLedger,
  LedgerReplicaError,
  TxAuthor,
  TxDecodeError,
  consentFromFhir,
  consentToFhir,
  decisionToAuditEvent,
  decodeTx,
  encodeBody,
  type GenesisOrg,
} from '../../../web/src/core/ledger/contracts/index.ts';
import { Prng, toHex } from '../../../web/src/core/util/index.ts';

beforeAll(async () => {
  await initCore();
});

function keyFrom(prng: Prng): TxAuthor {
  const sk = new Uint8Array(32);
  for (let i = 0; i < 32; i++) sk[i] = prng.int(256);
  return new TxAuthor(new Ed25519Signer(sk));
}

function setup(seed: number, orgs = 4) {
  const prng = new Prng(seed);
  const admins = Array.from({ length: orgs }, () => keyFrom(prng));
  const genesis: GenesisOrg[] = admins.map((a, i) => ({ id: `org-${i}`, adminKey: a.publicKey, validator: true }));
  const ledger = new MemoryLedger(genesis);
  let time = 1_000_000;
  const submit = (tx: Uint8Array) => ledger.submit(tx, (time += 1000)).result;
  const patient = keyFrom(prng);
  const clinician = keyFrom(prng);
  expect(submit(admins[0]!.make('registerKey', { key: patient.publicKey, org: 'org-0', role: 'patient', subject: 'pseudo-1' }))).toEqual({ ok: true });
  expect(submit(admins[1]!.make('registerKey', { key: clinician.publicKey, org: 'org-1', role: 'clinician', subject: 'dr-1' }))).toEqual({ ok: true });
  return { prng, admins, genesis, ledger, submit, patient, clinician, now: () => time };
}

describe('transactions', () => {
  it('round-trip canonically and refuse trailing or truncated bytes with a typed error', () => {
    const { patient } = setup(1);
    const tx = patient.make('revokeConsent', { consentId: 'c9' });
    const d = decodeTx(tx);
    expect(d.tx.kind).toBe('revokeConsent');
    expect(toHex(encodeBody(d.tx))).toBe(toHex(d.body));
    expect(() => decodeTx(new Uint8Array([...tx, 0]))).toThrow(TxDecodeError);
    expect(() => decodeTx(tx.subarray(0, tx.length - 1))).toThrow(TxDecodeError);
    expect(() => patient.make('grantConsent', { consentId: 'x'.repeat(300) } as never)).toThrow(TypeError);
  });
});

describe('contract rules', () => {
  it('rejections are typed and change nothing', () => {
    const { ledger, submit, patient, clinician, admins, now } = setup(2);
    const before = toHex(ledger.app.stateRoot());
    const grant = { consentId: 'c1', patient: 'pseudo-1', granteeOrg: 'org-1', granteePractitioner: '', purpose: 'TREAT', resourceTypes: ['Condition'], start: now(), end: now() + 10_000_000 };
    expect(submit(clinician.make('grantConsent', grant))).toEqual({ ok: false, reason: 'wrong-role' });
    expect(submit(patient.make('grantConsent', { ...grant, patient: 'pseudo-2' }))).toEqual({ ok: false, reason: 'wrong-patient' });
    expect(submit(patient.make('grantConsent', { ...grant, end: grant.start }))).toEqual({ ok: false, reason: 'bad-period' });
    expect(submit(patient.make('grantConsent', { ...grant, granteeOrg: 'nowhere' }))).toEqual({ ok: false, reason: 'unknown-org' });
    expect(submit(admins[2]!.make('registerKey', { key: new Uint8Array(32).fill(1), org: 'org-2', role: 'superuser', subject: '' }))).toEqual({ ok: false, reason: 'malformed' });
    expect(toHex(ledger.app.stateRoot())).toBe(before);
    const ok = patient.make('grantConsent', grant);
    expect(submit(ok)).toEqual({ ok: true });
    expect(toHex(ledger.app.stateRoot())).not.toBe(before);
    expect(submit(ok)).toEqual({ ok: false, reason: 'replay' });
  });

  it('an agreement is active only when both sides signed, and either may end it', () => {
    const { submit, patient, clinician, admins, now, ledger } = setup(3);
    submit(patient.make('grantConsent', { consentId: 'c1', patient: 'pseudo-1', granteeOrg: 'org-1', granteePractitioner: 'dr-1', purpose: 'TREAT', resourceTypes: ['Condition'], start: now(), end: now() + 1e9 }));
    const ask = (id: string) => {
      submit(clinician.make('requestAccess', { requestId: id, requesterOrg: 'org-1', holderOrg: 'org-0', patient: 'pseudo-1', resourceTypes: ['Condition'], purpose: 'TREAT', breakGlass: false }));
      return ledger.app.decision(id)!;
    };
    expect(submit(admins[1]!.make('proposeAgreement', { agreementId: 'a1', orgA: 'org-1', orgB: 'org-0', purposes: ['TREAT'], end: now() + 1e9 }))).toEqual({ ok: true });
    expect(ask('r1')).toMatchObject({ decision: 'deny', reason: 'no-agreement' });
    expect(submit(admins[2]!.make('signAgreement', { agreementId: 'a1' }))).toEqual({ ok: false, reason: 'not-party' });
    expect(submit(admins[0]!.make('signAgreement', { agreementId: 'a1' }))).toEqual({ ok: true });
    expect(ask('r2')).toMatchObject({ decision: 'permit', grantedTypes: ['Condition'], agreementId: 'a1', consentIds: ['c1'] });
    expect(submit(admins[0]!.make('endAgreement', { agreementId: 'a1' }))).toEqual({ ok: true });
    expect(ask('r3')).toMatchObject({ decision: 'deny', reason: 'no-agreement' });
  });

  it('a guardian grants for their ward only; break-glass is granted, flagged and reviewed by an auditor', () => {
    const { submit, admins, clinician, now, ledger, prng } = setup(4);
    const guardian = keyFrom(prng);
    const auditor = keyFrom(prng);
    submit(admins[0]!.make('registerKey', { key: guardian.publicKey, org: 'org-0', role: 'guardian', subject: 'pseudo-7' }));
    submit(admins[1]!.make('registerKey', { key: auditor.publicKey, org: 'org-1', role: 'auditor', subject: '' }));
    const g = { consentId: 'g1', patient: 'pseudo-7', granteeOrg: 'org-1', granteePractitioner: '', purpose: 'TREAT', resourceTypes: ['Observation'], start: now(), end: now() + 1e9 };
    expect(submit(guardian.make('grantConsent', g))).toEqual({ ok: true });
    expect(submit(guardian.make('grantConsent', { ...g, consentId: 'g2', patient: 'pseudo-1' }))).toEqual({ ok: false, reason: 'wrong-patient' });
    submit(clinician.make('requestAccess', { requestId: 'bg', requesterOrg: 'org-1', holderOrg: 'org-0', patient: 'pseudo-9', resourceTypes: ['AllergyIntolerance'], purpose: 'ETREAT', breakGlass: true }));
    expect(ledger.app.decision('bg')).toMatchObject({ decision: 'permit', breakGlass: true, reason: 'break-glass' });
    expect(ledger.app.breakGlassForReview().map((d) => d.requestId)).toEqual(['bg']);
    expect(decisionToAuditEvent(ledger.app.decision('bg')!).meta?.security?.[0]?.code).toBe('BTG');
    expect(submit(clinician.make('reviewBreakGlass', { requestId: 'bg', verdict: 'justified' }))).toEqual({ ok: false, reason: 'wrong-role' });
    expect(submit(auditor.make('reviewBreakGlass', { requestId: 'bg', verdict: 'justified' }))).toEqual({ ok: true });
    expect(ledger.app.breakGlassForReview()).toEqual([]);
  });

  it('a new organisation joins only with 2f+1 approvals (3 of 4)', () => {
    const { submit, admins, ledger, prng } = setup(5);
    const newAdmin = keyFrom(prng);
    expect(submit(admins[0]!.make('proposeOrg', { org: 'org-new', adminKey: newAdmin.publicKey, validator: true }))).toEqual({ ok: true });
    expect(submit(admins[0]!.make('approveOrg', { org: 'org-new' }))).toEqual({ ok: false, reason: 'already-done' });
    expect(submit(admins[1]!.make('approveOrg', { org: 'org-new' }))).toEqual({ ok: true });
    expect(ledger.app.org('org-new')).toBeUndefined();
    expect(submit(newAdmin.make('registerKey', { key: new Uint8Array(32).fill(3), org: 'org-new', role: 'clinician', subject: 'x' }))).toEqual({ ok: false, reason: 'unknown-key' });
    expect(submit(admins[2]!.make('approveOrg', { org: 'org-new' }))).toEqual({ ok: true });
    expect(ledger.app.org('org-new')).toEqual({ validator: true });
    expect(ledger.app.validatorOrgs()).toHaveLength(5);
  });

  it('anchors only move forward', () => {
    const { submit, admins } = setup(6);
    const rec = 'a'.repeat(64);
    expect(submit(admins[0]!.make('anchor', { record: rec, version: 2, commitment: new Uint8Array(32).fill(1) }))).toEqual({ ok: true });
    expect(submit(admins[0]!.make('anchor', { record: rec, version: 2, commitment: new Uint8Array(32).fill(2) }))).toEqual({ ok: false, reason: 'stale-version' });
    expect(submit(admins[0]!.make('anchor', { record: 'short', version: 3, commitment: new Uint8Array(32) }))).toEqual({ ok: false, reason: 'malformed' });
  });
});

describe('determinism and state transfer', () => {
  it('replicas re-executing the chain agree on every state root; snapshot/restore reproduces the root', () => {
    const { ledger, genesis } = setup(7);
    const replica = new LedgerReplica(genesis);
    replica.sync(ledger.blocks);
    expect(toHex(replica.app.stateRoot())).toBe(toHex(ledger.app.stateRoot()));
    const copy = new HygeiaContracts(genesis);
    copy.restore(ledger.app.snapshot());
    expect(toHex(copy.stateRoot())).toBe(toHex(ledger.app.stateRoot()));
    ledger.verifyChain();
  });

  it('a replica refuses a block whose transactions or state root were altered', () => {
    const { ledger, genesis } = setup(8);
    const forgedTx = { ...ledger.blocks[0]!, txs: [ledger.blocks[1]!.txs[0]!] };
    expect(() => new LedgerReplica(genesis).sync([forgedTx])).toThrow(LedgerReplicaError);
    const badRoot = { ...ledger.blocks[0]!, header: { ...ledger.blocks[0]!.header, stateRoot: new Uint8Array(32) } };
    expect(() => new LedgerReplica(genesis).sync([badRoot])).toThrowError(expect.objectContaining({ reason: 'state-mismatch' }));
    expect(() => new LedgerReplica(genesis).sync([ledger.blocks[1]!])).toThrowError(expect.objectContaining({ reason: 'broken-chain' }));
  });
});

describe('FHIR Consent', () => {
  it('maps a consent to FHIR R4 and back', () => {
    const rec = { consentId: 'c1', patient: 'pseudo-1', granteeOrg: 'org-1', granteePractitioner: '', purpose: 'TREAT', resourceTypes: ['Condition', 'Observation'], start: Date.UTC(2026, 0, 1), end: Date.UTC(2026, 1, 1), grantedAt: Date.UTC(2026, 0, 1), grantedBy: 'ab', revoked: false };
    const fhir = consentToFhir(rec);
    expect(fhir.resourceType).toBe('Consent');
    expect(fhir.status).toBe('active');
    const back = consentFromFhir(fhir, 'ignored');
    expect(back).toEqual({ consentId: 'c1', patient: 'pseudo-1', granteeOrg: 'org-1', granteePractitioner: '', purpose: 'TREAT', resourceTypes: ['Condition', 'Observation'], start: rec.start, end: rec.end });
    expect(consentToFhir({ ...rec, revoked: true }).status).toBe('inactive');
    expect(() => consentFromFhir({ ...fhir, provision: { ...fhir.provision!, period: {} } }, 'x')).toThrow(/period/);
  });
});
