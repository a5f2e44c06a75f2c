// The contracts as a LedgerApp: canonical transactions, typed rejections that change nothing but the
// transaction's consumption, agreements, membership by quorum, anchors, determinism (replicas, snapshot and
// restore), and the FHIR Consent mapping.
import { describe, expect, it } from 'vitest';
import {
  ContractsGenesisError,
  HygeiaContracts,
  LedgerReplica,
  LedgerReplicaError,
  MAX_ANCHORS_PER_TX,
  TxDecodeError,
  consentFromFhir,
  consentToFhir,
  decisionToAuditEvent,
  decodeTx,
  encodeBody,
} from '../../../web/src/core/ledger/contracts/index.ts';
import { toHex } from '../../../web/src/core/util/index.ts';
import { canonicalBytes } from '../../../web/src/core/codec/index.ts';
import { TREAT_01, grant, request, setup } from './helpers.ts';
import { useCore } from '../shared/core.ts';

useCore();

/** The state as a snapshot's entries, without the consumed-transaction ids. */
function stateWithoutSeen(app: HygeiaContracts): string {
  const entries = JSON.parse(new TextDecoder().decode(app.snapshot())) as [string, unknown][];
  return JSON.stringify(entries.filter(([k]) => !k.startsWith('seen/')));
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

  it('a batch of anchors round-trips and stays within the 64 KiB bound', () => {
    const { admins } = setup(1);
    const anchors = Array.from({ length: MAX_ANCHORS_PER_TX }, (_, i) => ({
      record: i.toString(16).padStart(64, '0'),
      version: 2 ** 40 + i,
      commitment: new Uint8Array(32).fill(i & 0xff),
    }));
    const tx = admins[0]!.make('anchorBatch', { anchors });
    expect(tx.length).toBeLessThanOrEqual(64 * 1024);
    const d = decodeTx(tx);
    expect(d.tx.kind === 'anchorBatch' && d.tx.payload.anchors.map((a) => a.version)).toEqual(anchors.map((a) => a.version));
    expect(() => admins[0]!.make('anchorBatch', { anchors: [...anchors, anchors[0]!] })).toThrow(TypeError);
  });
});

describe('contract rules', () => {
  it('rejections are typed and change nothing but the transaction being consumed', () => {
    const s = setup(2);
    const { ledger, submit, patient, clinician, admins } = s;
    const before = stateWithoutSeen(ledger.app);
    const g = grant(s);
    expect(submit(clinician.make('grantConsent', g))).toEqual({ ok: false, reason: 'wrong-role' });
    expect(submit(patient.make('grantConsent', { ...g, patient: 'pseudo-2' }))).toEqual({ ok: false, reason: 'wrong-patient' });
    expect(submit(patient.make('grantConsent', { ...g, end: g.start }))).toEqual({ ok: false, reason: 'bad-period' });
    expect(submit(patient.make('grantConsent', { ...g, granteeOrg: 'nowhere' }))).toEqual({ ok: false, reason: 'unknown-org' });
    expect(submit(patient.make('grantConsent', { ...g, consentId: 'a/b' }))).toEqual({ ok: false, reason: 'malformed' });
    expect(submit(admins[2]!.make('registerKey', { key: new Uint8Array(32).fill(1), org: 'org-2', role: 'superuser', subject: '' }))).toEqual({ ok: false, reason: 'malformed' });
    expect(stateWithoutSeen(ledger.app)).toBe(before);
    const ok = patient.make('grantConsent', g);
    expect(submit(ok)).toEqual({ ok: true });
    expect(stateWithoutSeen(ledger.app)).not.toBe(before);
    expect(submit(ok)).toEqual({ ok: false, reason: 'replay' });
  });

  it('an agreement is active only when both sides signed, and either may end it', () => {
    const s = setup(3);
    const { submit, patient, clinician, admins, ledger, clock } = s;
    submit(patient.make('grantConsent', grant(s, { granteePractitioner: 'dr-1' })));
    const ask = (id: string) => {
      submit(clinician.make('requestAccess', request({ requestId: id })));
      return ledger.app.decision(id)!;
    };
    expect(submit(admins[1]!.make('proposeAgreement', { agreementId: 'a1', orgA: 'org-1', orgB: 'org-0', purposes: ['TREAT'], end: clock.time + 1e9, emergency: false }))).toEqual({
      ok: true,
    });
    expect(ask('r1')).toMatchObject({ decision: 'deny', reason: 'no-agreement' });
    expect(submit(admins[2]!.make('signAgreement', { agreementId: 'a1' }))).toEqual({ ok: false, reason: 'not-party' });
    expect(submit(admins[0]!.make('signAgreement', { agreementId: 'a1' }))).toEqual({ ok: true });
    expect(ask('r2')).toMatchObject({ decision: 'permit', grantedTypes: ['Condition'], agreementId: 'a1', consentIds: ['c1'] });
    expect(submit(admins[0]!.make('endAgreement', { agreementId: 'a1' }))).toEqual({ ok: true });
    expect(ask('r3')).toMatchObject({ decision: 'deny', reason: 'no-agreement' });
    expect(ledger.app.agreementsOf('org-0').map((a) => [a.agreementId, a.ended])).toEqual([['a1', true]]);
  });

  it('a genesis agreement is in force from its start; a decision maps to a FHIR AuditEvent', () => {
    const s = setup(4, { agreements: [TREAT_01] });
    expect(s.submit(s.patient.make('grantConsent', grant(s)))).toEqual({ ok: true });
    expect(s.submit(s.clinician.make('requestAccess', request()))).toEqual({ ok: true });
    const d = s.ledger.app.decision('r1')!;
    expect(d).toMatchObject({ decision: 'permit', agreementId: 'treat-01' });
    expect(decisionToAuditEvent(d)).toMatchObject({ resourceType: 'AuditEvent', outcome: '0', purposeOfEvent: [{ coding: [{ code: 'TREAT' }] }] });
  });

  it('a guardian grants for their ward only', () => {
    const s = setup(5, { agreements: [TREAT_01] });
    const guardian = s.author();
    expect(s.submit(s.admins[0]!.make('registerKey', { key: guardian.publicKey, org: 'org-0', role: 'guardian', subject: 'pseudo-7' }))).toEqual({ ok: true });
    expect(s.submit(guardian.make('grantConsent', grant(s, { consentId: 'g1', patient: 'pseudo-7' })))).toEqual({ ok: true });
    expect(s.submit(guardian.make('grantConsent', grant(s, { consentId: 'g2', patient: 'pseudo-1' })))).toEqual({ ok: false, reason: 'wrong-patient' });
    expect(s.submit(s.clinician.make('requestAccess', request({ patient: 'pseudo-7' })))).toEqual({ ok: true });
    expect(s.ledger.app.decision('r1')).toMatchObject({ decision: 'permit', consentIds: ['g1'] });
  });

  it('a new organisation joins only with quorumSize(4) = 3 approvals', () => {
    const s = setup(6);
    const { submit, admins, ledger } = s;
    const newAdmin = s.author();
    expect(submit(admins[0]!.make('proposeOrg', { org: 'org-new', name: 'New clinic', adminKey: newAdmin.publicKey, validator: true }))).toEqual({ ok: true });
    expect(submit(admins[0]!.make('approveOrg', { org: 'org-new' }))).toEqual({ ok: false, reason: 'already-done' });
    expect(submit(admins[1]!.make('approveOrg', { org: 'org-new' }))).toEqual({ ok: true });
    expect(ledger.app.org('org-new')).toBeUndefined();
    expect(ledger.app.membershipProposals()).toMatchObject([{ org: 'org-new', kind: 'admit', approvals: ['org-0', 'org-1'], needed: 3 }]);
    expect(submit(newAdmin.make('registerKey', { key: new Uint8Array(32).fill(3), org: 'org-new', role: 'clinician', subject: 'x' }))).toEqual({
      ok: false,
      reason: 'unknown-key',
    });
    expect(submit(admins[2]!.make('approveOrg', { org: 'org-new' }))).toEqual({ ok: true });
    expect(ledger.app.org('org-new')).toMatchObject({ id: 'org-new', name: 'New clinic', validator: true, removed: false });
    expect(ledger.app.validatorOrgs()).toHaveLength(5);
    expect(ledger.app.membershipProposals()).toEqual([]);
  });

  it('anchors only move forward, one at a time or in a batch (all or nothing)', () => {
    const s = setup(7);
    const { submit, admins, ledger } = s;
    const rec = (i: number): string => i.toString(16).padStart(64, 'a');
    const c = (b: number): Uint8Array => new Uint8Array(32).fill(b);
    /** Submits one anchorBatch of (record, version, commitment fill) triples. */
    const batch = (...anchors: [number, number, number][]) =>
      submit(admins[0]!.make('anchorBatch', { anchors: anchors.map(([r, version, fill]) => ({ record: rec(r), version, commitment: c(fill) })) }));
    expect(submit(admins[0]!.make('anchor', { record: rec(1), version: 2, commitment: c(1) }))).toEqual({ ok: true });
    expect(submit(admins[0]!.make('anchor', { record: rec(1), version: 2, commitment: c(2) }))).toEqual({ ok: false, reason: 'stale-version' });
    expect(submit(admins[0]!.make('anchor', { record: 'short', version: 3, commitment: c(0) }))).toEqual({ ok: false, reason: 'malformed' });
    expect(batch([2, 1, 3], [3, 1, 4])).toEqual({ ok: true });
    // One rollback in a batch refuses the batch: rec(4) is not anchored either.
    expect(batch([4, 1, 5], [1, 1, 6])).toEqual({ ok: false, reason: 'stale-version' });
    expect(batch([2, 2, 7], [2, 2, 8])).toEqual({ ok: false, reason: 'stale-version' });
    expect(ledger.app.anchorOf('org-0', rec(4))).toBeUndefined();
    expect(ledger.app.anchorsOf('org-0').map((a) => [a.record, a.version])).toEqual([
      [rec(1), 2],
      [rec(2), 1],
      [rec(3), 1],
    ]);
    expect([ledger.app.anchorCount('org-0'), ledger.app.anchorCount('org-1')]).toEqual([3, 0]);
    expect(submit(s.clinician.make('anchorBatch', { anchors: [{ record: rec(9), version: 1, commitment: c(9) }] }))).toEqual({ ok: false, reason: 'wrong-role' });
  });

  it('a contracts genesis that does not validate is refused with the field named', () => {
    const s = setup(8);
    const org = s.genesis.orgs[0]!;
    const bad = (g: object, field: string): void => {
      expect(() => new HygeiaContracts({ ...s.genesis, ...g })).toThrowError(expect.objectContaining({ name: ContractsGenesisError.name, field }));
    };
    bad({ checkpointInterval: 0 }, 'checkpointInterval');
    bad({ orgs: [{ ...org, validator: false }] }, 'orgs');
    bad({ orgs: [org, org] }, 'orgs[1].id');
    bad({ orgs: [{ ...org, id: 'Bad Id' }] }, 'orgs[0].id');
    bad({ agreements: [{ ...TREAT_01, orgB: 'org-9' }] }, 'agreements[0]');
  });
});

describe('determinism and state transfer', () => {
  it('replicas re-executing the chain agree on every state root; snapshot/restore reproduces the root', () => {
    const s = setup(9);
    s.submit(s.patient.make('grantConsent', grant(s)));
    const replica = new LedgerReplica(s.genesis);
    replica.sync(s.ledger.blocks);
    expect(toHex(replica.app.stateRoot())).toBe(toHex(s.ledger.app.stateRoot()));
    const copy = new HygeiaContracts(s.genesis);
    copy.restore(s.ledger.app.snapshot());
    expect(toHex(copy.stateRoot())).toBe(toHex(s.ledger.app.stateRoot()));
    expect(toHex(copy.snapshot())).toBe(toHex(s.ledger.app.snapshot()));
    // The restored copy goes on exactly like the original.
    const next = s.patient.make('revokeConsent', { consentId: 'c1' });
    const ctx = { height: s.ledger.height + 1, index: 0, time: s.clock.time };
    expect(copy.apply(next, ctx)).toEqual(s.ledger.app.apply(next, ctx));
    expect(toHex(copy.stateRoot())).toBe(toHex(s.ledger.app.stateRoot()));
    // A snapshot joins the values' kept encodings: after writes and a restore alike it is canonical JSON, and it
    // restores to the state root of the state it was taken from.
    for (const app of [copy, s.ledger.app]) {
      const snap = app.snapshot();
      expect(toHex(canonicalBytes(JSON.parse(new TextDecoder().decode(snap))))).toBe(toHex(snap));
      const again = new HygeiaContracts(s.genesis);
      again.restore(snap);
      expect(toHex(again.stateRoot())).toBe(toHex(app.stateRoot()));
    }
  });

  it('a snapshot that is not one is refused and leaves the state as it was', () => {
    const s = setup(10);
    const app = new HygeiaContracts(s.genesis);
    const root = toHex(app.stateRoot());
    for (const bad of ['{}', '[["b",1],["a",2]]', '[["a",1]]', '[[1,2]]']) {
      expect(() => app.restore(new TextEncoder().encode(bad))).toThrow();
      expect(toHex(app.stateRoot())).toBe(root);
    }
  });

  it('a replica refuses a block whose transactions or state root were altered, with a typed reason, and keeps its state', () => {
    const s = setup(11);
    const [b1, b2] = s.ledger.blocks;
    const forgedTx = { ...b1!, txs: [b2!.txs[0]!] };
    expect(() => new LedgerReplica(s.genesis).sync([forgedTx])).toThrow(LedgerReplicaError);
    expect(() => new LedgerReplica(s.genesis).sync([forgedTx])).toThrowError(expect.objectContaining({ reason: 'bad-block', detail: 'tx-root-mismatch' }));
    const replica = new LedgerReplica(s.genesis);
    const root = toHex(replica.app.stateRoot());
    const badRoot = { ...b1!, header: { ...b1!.header, stateRoot: new Uint8Array(32) } };
    expect(() => replica.sync([badRoot])).toThrowError(expect.objectContaining({ reason: 'state-mismatch' }));
    expect(toHex(replica.app.stateRoot())).toBe(root);
    // The genuine block is still accepted after the forged one was refused.
    replica.sync([b1!, b2!]);
    expect(replica.syncedHeight).toBe(2);
    expect(() => new LedgerReplica(s.genesis).sync([b2!])).toThrowError(expect.objectContaining({ reason: 'broken-chain' }));
  });
});

describe('FHIR Consent', () => {
  it('maps a consent to FHIR R4 and back', () => {
    const rec = {
      consentId: 'c1',
      patient: 'pseudo-1',
      holder: 'org-0',
      granteeOrg: 'org-1',
      granteePractitioner: '',
      purpose: 'TREAT',
      resourceTypes: ['Condition', 'Observation'],
      start: Date.UTC(2026, 0, 1),
      end: Date.UTC(2026, 1, 1),
      grantedAt: Date.UTC(2026, 0, 1),
      grantedBy: 'ab',
      revoked: false,
      revokedAt: 0,
    };
    const fhir = consentToFhir(rec);
    expect(fhir.resourceType).toBe('Consent');
    expect(fhir.status).toBe('active');
    const back = consentFromFhir(fhir, 'ignored');
    expect(back).toEqual({
      consentId: 'c1',
      patient: 'pseudo-1',
      granteeOrg: 'org-1',
      granteePractitioner: '',
      purpose: 'TREAT',
      resourceTypes: ['Condition', 'Observation'],
      start: rec.start,
      end: rec.end,
    });
    expect(consentToFhir({ ...rec, revoked: true }).status).toBe('inactive');
    expect(() => consentFromFhir({ ...fhir, provision: { ...fhir.provision!, period: {} } }, 'x')).toThrow(/period/);
  });
});

describe('resuming a replica', () => {
  it('resumes from its own snapshot at a head, goes on from there, and refuses a snapshot that does not match the head', () => {
    const s = setup(12, { agreements: [TREAT_01] });
    s.submit(s.patient.make('grantConsent', grant(s)));
    const first = new LedgerReplica(s.genesis);
    first.sync(s.ledger.blocks);
    const head = s.ledger.blocks.at(-1)!.header;
    const resumed = LedgerReplica.resume(s.genesis, first.app.snapshot(), head);
    expect(resumed.syncedHeight).toBe(head.height);
    s.submit(s.patient.make('revokeConsent', { consentId: 'c1' }));
    resumed.sync(s.ledger.blocks);
    expect(resumed.syncedHeight).toBe(s.ledger.height);
    expect(resumed.app.consent('c1')?.revoked).toBe(true);
    expect(() => LedgerReplica.resume(s.genesis, first.app.snapshot(), s.ledger.blocks.at(-1)!.header)).toThrowError(expect.objectContaining({ reason: 'state-mismatch' }));
    expect(() => LedgerReplica.resume(s.genesis, new TextEncoder().encode('[]'), head)).toThrowError(expect.objectContaining({ reason: 'state-mismatch' }));
  });
});
