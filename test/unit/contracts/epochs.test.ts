// The validator set as the ledger decides it (PLAN "Epochs"): the consensus leaf, the checkpoint a change
// takes effect at, which validators certify which height, removal of a member, and a replica that follows
// the set across an epoch change, refusing a block certified by the set it replaced.
import { describe, expect, it } from 'vitest';
import { HygeiaContracts, LedgerReplica } from '../../../web/src/core/ledger/contracts/index.ts';
import { toHex } from '../../../web/src/core/util/index.ts';
import { setup, type Setup } from './helpers.ts';
import { writeCommitCertificate } from '../../../web/src/core/ledger/index.ts';
import { useCore } from '../shared/core.ts';

useCore();

const hex = (s: Setup, i: number): string => toHex(s.admins[i]!.publicKey);

/** Admits org-new (a validator unless said otherwise) with approvals from org-0, org-1, org-2. */
function admit(s: Setup, validator = true): ReturnType<Setup['author']> {
  const joiner = s.author();
  expect(s.submit(s.admins[0]!.make('proposeOrg', { org: 'org-new', name: 'New', adminKey: joiner.publicKey, validator }))).toEqual({ ok: true });
  expect(s.submit(s.admins[1]!.make('approveOrg', { org: 'org-new' }))).toEqual({ ok: true });
  expect(s.submit(s.admins[2]!.make('approveOrg', { org: 'org-new' }))).toEqual({ ok: true });
  return joiner;
}

describe('the consensus leaf', () => {
  it('starts with the genesis validators in genesis order, non-validators left out', () => {
    const s = setup(301, { orgs: 5, validators: 4 });
    expect(s.ledger.app.consensus()).toEqual({ epoch: 0, validators: [0, 1, 2, 3].map((i) => ({ org: `org-${i}`, key: hex(s, i) })), since: 0, next: null });
    const sched = s.ledger.app.validatorSchedule();
    expect(sched.validators.map(toHex)).toEqual([0, 1, 2, 3].map((i) => hex(s, i)));
    expect(sched.next).toBeNull();
  });

  it('an admission committed at block c takes effect at ceil(c/K)*K; heights above it are certified by the new set', () => {
    const s = setup(302, { checkpointInterval: 4 });
    // Blocks 1 and 2 were the set-up; the admission completes at block 5.
    const joiner = admit(s);
    expect(s.ledger.height).toBe(5);
    const leaf = s.ledger.app.consensus();
    expect(leaf.epoch).toBe(0);
    expect(leaf.next).toEqual({ validators: [...[0, 1, 2, 3].map((i) => ({ org: `org-${i}`, key: hex(s, i) })), { org: 'org-new', key: toHex(joiner.publicKey) }], at: 8 });
    expect(s.ledger.app.validatorSchedule().next?.at).toBe(8);
    expect(s.ledger.app.validatorsForHeight(8)).toHaveLength(4);
    expect(s.ledger.app.validatorsForHeight(9)).toHaveLength(5);
    // The leaf folds the change in at the first transaction after block 8.
    s.ledger.addValidatorSigner(joiner.signer);
    for (let h = s.ledger.height; h < 8; h++) s.ledger.commit([], s.clock.time);
    s.submit(s.admins[0]!.make('revokeKey', { key: s.clinician.publicKey }));
    expect(s.ledger.app.consensus()).toMatchObject({ epoch: 1, since: 8, next: null });
    expect(s.ledger.app.consensus().validators.map((v) => v.org)).toEqual(['org-0', 'org-1', 'org-2', 'org-3', 'org-new']);
  });

  it('a change in a block that is a multiple of K takes effect at that block; two changes in one period merge', () => {
    const s = setup(303, { checkpointInterval: 4 });
    // Pad so the admission's last approval lands on block 8.
    s.ledger.commit([], s.clock.time);
    s.ledger.commit([], s.clock.time);
    const joiner = s.author();
    s.submit(s.admins[0]!.make('proposeOrg', { org: 'org-new', name: 'New', adminKey: joiner.publicKey, validator: true }));
    s.submit(s.admins[1]!.make('approveOrg', { org: 'org-new' }));
    s.ledger.commit([], s.clock.time);
    expect(s.ledger.height).toBe(7);
    s.submit(s.admins[2]!.make('approveOrg', { org: 'org-new' }));
    expect(s.ledger.app.consensus().next?.at).toBe(8);
    // A second change committed before the first took effect joins it: one epoch change, both validators.
    const t = setup(304, { checkpointInterval: 16 });
    const j1 = admit(t);
    const j2 = t.author();
    t.submit(t.admins[0]!.make('proposeOrg', { org: 'org-two', name: 'Two', adminKey: j2.publicKey, validator: true }));
    t.submit(t.admins[1]!.make('approveOrg', { org: 'org-two' }));
    t.submit(t.admins[2]!.make('approveOrg', { org: 'org-two' }));
    t.submit(t.admins[3]!.make('approveOrg', { org: 'org-two' }));
    expect(t.ledger.height).toBeLessThanOrEqual(16);
    expect(t.ledger.app.consensus()).toMatchObject({ epoch: 0, next: { at: 16 } });
    expect(t.ledger.app.consensus().next!.validators.map((v) => v.key)).toEqual([...[0, 1, 2, 3].map((i) => hex(t, i)), toHex(j1.publicKey), toHex(j2.publicKey)]);
  });

  it('a non-validator member changes nothing in the set', () => {
    const s = setup(305);
    admit(s, false);
    expect(s.ledger.app.org('org-new')).toMatchObject({ validator: false });
    expect(s.ledger.app.consensus().next).toBeNull();
  });
});

describe('removing a member', () => {
  it("needs a quorum; the removed org's keys stop at once; its validator leaves at the next checkpoint, order kept", () => {
    const s = setup(306, { checkpointInterval: 4 });
    expect(s.submit(s.admins[1]!.make('proposeRemoval', { org: 'org-0' }))).toEqual({ ok: true });
    expect(s.submit(s.admins[1]!.make('approveRemoval', { org: 'org-0' }))).toEqual({ ok: false, reason: 'already-done' });
    expect(s.submit(s.admins[2]!.make('approveOrg', { org: 'org-0' }))).toEqual({ ok: false, reason: 'unknown-proposal' });
    expect(s.ledger.app.membershipProposals()).toMatchObject([{ org: 'org-0', kind: 'remove', approvals: ['org-1'], needed: 3 }]);
    // The patient key org-0 registered still works until the removal commits.
    expect(s.submit(s.admins[2]!.make('approveRemoval', { org: 'org-0' }))).toEqual({ ok: true });
    expect(s.submit(s.admins[3]!.make('approveRemoval', { org: 'org-0' }))).toEqual({ ok: true });
    const at = s.ledger.height;
    expect(s.ledger.app.consensus().next).toEqual({ validators: [1, 2, 3].map((i) => ({ org: `org-${i}`, key: hex(s, i) })), at: Math.ceil(at / 4) * 4 });
    expect(s.ledger.app.org('org-0')).toMatchObject({ removed: true });
    expect(s.ledger.app.isMember('org-0')).toBe(false);
    expect(s.ledger.app.validatorOrgs()).toEqual(['org-1', 'org-2', 'org-3']);
    expect(s.submit(s.admins[0]!.make('registerKey', { key: s.author().publicKey, org: 'org-0', role: 'clinician', subject: 'x' }))).toEqual({ ok: false, reason: 'org-removed' });
    expect(s.submit(s.patient.make('revokeConsent', { consentId: 'none' }))).toEqual({ ok: false, reason: 'org-removed' });
    // The removed org cannot be re-proposed under the same id, nor remove anyone.
    expect(s.submit(s.admins[1]!.make('proposeOrg', { org: 'org-0', name: 'Again', adminKey: s.author().publicKey, validator: true }))).toEqual({ ok: false, reason: 'duplicate' });
  });

  it('the last validator cannot be removed', () => {
    const s = setup(307, { orgs: 2, validators: 1 });
    expect(s.submit(s.admins[0]!.make('proposeRemoval', { org: 'org-0' }))).toEqual({ ok: false, reason: 'last-validator' });
    expect(s.submit(s.admins[0]!.make('proposeRemoval', { org: 'org-1' }))).toEqual({ ok: true });
    expect(s.ledger.app.isMember('org-1')).toBe(false);
  });
});

describe('a replica across an epoch change', () => {
  it('checks each height against its own validators, and refuses a block the replaced set certified after the switch', () => {
    const s = setup(308, { checkpointInterval: 4 });
    // Remove org-0 and admit org-new: from the next checkpoint the set is org-1, org-2, org-3, org-new.
    for (const [i, kind] of [
      [1, 'proposeRemoval'],
      [2, 'approveRemoval'],
      [3, 'approveRemoval'],
    ] as const)
      expect(s.submit(s.admins[i]!.make(kind, { org: 'org-0' }))).toEqual({ ok: true });
    const joiner = s.author();
    expect(s.submit(s.admins[1]!.make('proposeOrg', { org: 'org-new', name: 'New', adminKey: joiner.publicKey, validator: true }))).toEqual({ ok: true });
    // Three validator orgs remain: quorumSize(3) = 2 approvals admit.
    expect(s.submit(s.admins[2]!.make('approveOrg', { org: 'org-new' }))).toEqual({ ok: true });
    s.ledger.addValidatorSigner(joiner.signer);
    const at = s.ledger.app.consensus().next!.at;
    expect(at).toBe(8);
    while (s.ledger.height < 11) s.submit(s.admins[1]!.make('registerKey', { key: s.author().publicKey, org: 'org-1', role: 'clinician', subject: `dr-${s.ledger.height}` }));
    expect(s.ledger.app.consensus()).toMatchObject({ epoch: 1, since: 8 });
    const replica = new LedgerReplica(s.genesis);
    replica.sync(s.ledger.blocks);
    expect(replica.syncedHeight).toBe(11);
    expect(toHex(replica.app.stateRoot())).toBe(toHex(s.ledger.app.stateRoot()));
    // Block 9 certified by the set it replaced (org-0, org-1, org-2 sign it, as they could before the switch): refused.
    const block9 = s.ledger.blocks[8]!;
    const forged = {
      ...block9,
      certificate: writeCommitCertificate(
        s.admins.slice(0, 3).map((a) => a.signer),
        9,
        block9.header.batchDigest,
        new Uint8Array(32),
      ),
    };
    const fresh = new LedgerReplica(s.genesis);
    expect(() => fresh.sync([...s.ledger.blocks.slice(0, 8), forged])).toThrowError(expect.objectContaining({ reason: 'bad-certificate', height: 9 }));
  });
});

describe('the size of the validator set', () => {
  it('refuses a 65th validator organisation (the replica runs at most 64), and a genesis with more', () => {
    const s = setup(309, { orgs: 64, checkpointInterval: 4 });
    expect(s.submit(s.admins[0]!.make('proposeOrg', { org: 'org-65', name: 'One too many', adminKey: s.author().publicKey, validator: true }))).toEqual({
      ok: false,
      reason: 'too-many-validators',
    });
    // A member that does not validate is still welcome.
    expect(s.submit(s.admins[0]!.make('proposeOrg', { org: 'org-65', name: 'Member', adminKey: s.author().publicKey, validator: false }))).toEqual({ ok: true });
    const org = s.genesis.orgs[0]!;
    const many = Array.from({ length: 65 }, (_, i) => ({ ...org, id: `o-${i}`, adminKey: new Uint8Array(32).fill(i + 1) }));
    expect(() => new HygeiaContracts({ ...s.genesis, orgs: many })).toThrowError(expect.objectContaining({ field: 'orgs' }));
  });
});
