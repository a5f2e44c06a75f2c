// The database baselines' parts: the consent rule (the same as the contracts'), and the EHR database's
// integrity check against each kind of tampering an administrator can do (the check sees what does not also
// rewrite the evidence kept beside it, and each undo restores a record that passes).
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decide, type Consent } from '../../../web/src/core/eval/policy.ts';
import { SqlRecords } from '../../../web/src/core/eval/sql-records.ts';
import { TAMPER_KINDS } from '../../../web/src/core/eval/index.ts';

describe("the baselines' consent rule", () => {
  const base: Consent = { id: 'c', patient: 'p', granteeOrg: 'b', purpose: 'TREAT', resourceTypes: ['Condition', 'Observation'], start: 0, end: 100, revoked: false };
  const req = { patient: 'p', requesterOrg: 'b', purpose: 'TREAT', resourceTypes: ['Condition'], breakGlass: false };
  it('permits the consented types only, and says why it denies', () => {
    expect(decide(req, [base], 50, false)).toEqual({ decision: 'permit', grantedTypes: ['Condition'], reason: 'consent' });
    expect(decide({ ...req, resourceTypes: ['Condition', 'Claim'] }, [base], 50, false).grantedTypes).toEqual(['Condition']);
    expect(decide(req, [], 50, false).reason).toBe('no-consent');
    expect(decide(req, [{ ...base, revoked: true }], 50, false).reason).toBe('consent-revoked');
    expect(decide(req, [base], 101, false).reason).toBe('consent-expired');
    expect(decide({ ...req, purpose: 'HRESCH' }, [base], 50, false).reason).toBe('wrong-purpose');
    expect(decide({ ...req, resourceTypes: ['Claim'] }, [base], 50, false).reason).toBe('resource-type-not-consented');
    expect(decide({ ...req, requesterOrg: 'c' }, [base], 50, false).reason).toBe('no-consent');
    expect(decide({ ...req, breakGlass: true }, [], 50, true).decision).toBe('permit');
    expect(decide({ ...req, breakGlass: true }, [base], 50, false).decision).toBe('deny');
  });
});

describe("the EHR database's integrity check", () => {
  let db: PGlite;
  let store: SqlRecords;
  beforeAll(async () => {
    db = await PGlite.create();
    store = new SqlRecords(db, 'ehr');
    await store.init();
    for (const id of ['c1', 'c2']) await store.put({ resourceType: 'Condition', id, code: { text: id }, subject: { reference: 'Patient/p' } } as never, 'p', 'org', 'import');
    await store.put(
      { resourceType: 'Condition', id: 'c1', meta: { tag: [{ code: 'v2' }] }, code: { text: 'c1' }, subject: { reference: 'Patient/p' } } as never,
      'p',
      'org',
      'dr-a',
    );
  }, 60_000);
  afterAll(async () => {
    await db.close();
  });

  it('keeps versions and checksums through the application', async () => {
    expect(await store.check('Condition/c1')).toBe(true);
    expect(await store.check('Condition/c2')).toBe(true);
    expect((await store.resources('p', ['Condition'])).map((r) => r.id)).toEqual(['c1', 'c2']);
  });

  it('detects exactly the kinds that leave the evidence alone, and every undo restores the record', async () => {
    const detected: Record<string, boolean> = {};
    for (const kind of TAMPER_KINDS) {
      const undo = await store.tamper(kind, 'Condition/c1', 'Condition/c2');
      detected[kind] = !(await store.check('Condition/c1'));
      await undo();
      expect(await store.check('Condition/c1')).toBe(true);
    }
    expect(detected).toEqual({
      'flip-bytes': true,
      edit: true,
      'edit-and-cover': false,
      rollback: true,
      'rollback-and-cover': false,
      substitute: true,
      delete: true,
      'delete-and-cover': false,
    });
  });

  it('an insider reads rows in clear; the audit log is one delete away', async () => {
    expect(await store.rawRows('p')).toContain('Patient/p');
    await store.log({ requestId: 'r1', actor: 'dr-a', requesterOrg: 'a', holderOrg: 'org', patient: 'p', decision: 'permit' });
    await store.log({ requestId: 'r2', actor: 'dr-b', requesterOrg: 'b', holderOrg: 'x', patient: 'p', decision: 'deny' });
    expect(await store.eraseAuditOf('org')).toBe(1);
    expect((await store.auditRows()).map((r) => r.requestId)).toEqual(['r2']);
  });
});
