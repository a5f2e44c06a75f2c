// The attack suite: against four clinics on one ledger, tries every way in the issue lists and measures
// what happened. An attempt "succeeds" only if it got something it must not: a committed unauthorized
// state change, a permit it has no right to, records released, or a tampered record that still verifies.
// Every number in the report is counted from outcomes, none is written down in advance.
import { openDB } from 'idb';
import type { ApplyResult } from '../ledger/index.ts';
import type { Payload } from '../ledger/contracts/index.ts';
import { ReleaseError, releaseRecords } from '../ledger/contracts/index.ts';
import { Consortium, DAY, type Clinic } from './consortium.ts';
import { Prng, fromHex } from '../util/index.ts';
import { RecordStore } from '../records/index.ts';

export type Outcome = 'rejected' | 'denied' | 'refused' | 'detected' | 'flagged' | 'succeeded';

export interface AttackCase {
  readonly name: string;
  readonly category: 'transaction' | 'access' | 'release' | 'membership' | 'tamper';
  readonly outcome: Outcome;
  /** The typed reason the system gave (a rejection, a deny reason, a release refusal), or what got through. */
  readonly reason: string;
}

export interface AttackReport {
  tried: number;
  succeeded: number;
  detected: number;
  tamper: { tried: number; detected: number };
  breakGlass: { granted: number; flaggedForReview: number };
  /** Authorized actions run beside the attacks, to show the measurement can see a success: all should succeed. */
  controls: { tried: number; succeeded: number };
  cases: AttackCase[];
}

export async function runAttacks(opts: { seed: number; dbPrefix: string; bundles: unknown[] }): Promise<AttackReport> {
  const c = await Consortium.create({ seed: opts.seed, dbPrefix: opts.dbPrefix });
  const cases: AttackCase[] = [];
  const [A, B, C, D] = [c.clinic('clinic-a'), c.clinic('clinic-b'), c.clinic('clinic-c'), c.clinic('clinic-d')];
  const holder = await c.enrol(A, opts.bundles[0]);
  const other = await c.enrol(B, opts.bundles[1]);
  if (opts.bundles[2] !== undefined) await c.enrol(C, opts.bundles[2]);
  c.agree(B, A, 'agr-ba', ['TREAT', 'HRESCH']);
  c.agree(C, A, 'agr-ca-unsigned', ['TREAT'], false);
  let n = 0;
  const rid = (): string => `req-${++n}`;
  /** A requestAccess payload: by default clinic B asks A for the holder's Conditions, to treat, no break-glass
   * (a fresh request id unless one is given). */
  const accessRequest = (over: Partial<Payload<'requestAccess'>> = {}): Payload<'requestAccess'> => ({
    requesterOrg: B.id,
    holderOrg: A.id,
    patient: holder.pseudonym,
    resourceTypes: ['Condition'],
    purpose: 'TREAT',
    breakGlass: false,
    emergencyReason: '',
    ...over,
    requestId: over.requestId ?? rid(),
  });

  /** A transaction attack: it must be rejected (result not ok); its reason is recorded. */
  const txAttack = (name: string, category: AttackCase['category'], tx: Uint8Array): ApplyResult => {
    const r = c.submit(tx).result;
    cases.push({ name, category, outcome: r.ok ? 'succeeded' : 'rejected', reason: r.ok ? 'committed' : r.reason });
    return r;
  };
  /** An access attack: the request may commit, but it must not be permitted, and the holder must release nothing. */
  const accessAttack = async (
    name: string,
    clinic: Clinic,
    payload: { patient: string; resourceTypes: string[]; purpose: string; holderOrg?: string; breakGlass?: boolean },
    mustNotGrant?: string[],
  ): Promise<void> => {
    const requestId = rid();
    const r = c.submit(
      clinic.clinician.make('requestAccess', {
        requestId,
        requesterOrg: clinic.id,
        holderOrg: payload.holderOrg ?? A.id,
        patient: payload.patient,
        resourceTypes: payload.resourceTypes,
        purpose: payload.purpose,
        breakGlass: payload.breakGlass ?? false,
        emergencyReason: payload.breakGlass ? 'unconscious' : '',
      }),
    );
    if (!r.result.ok) return void cases.push({ name, category: 'access', outcome: 'rejected', reason: r.result.reason });
    c.sync();
    const d = A.replica.app.decision(requestId)!;
    const forbidden = mustNotGrant ?? payload.resourceTypes;
    const leakedByDecision = d.grantedTypes.filter((t) => forbidden.includes(t));
    let released: string[] = [];
    try {
      const rel = await releaseRecords({ replica: A.replica, holderOrg: A.id, author: A.node, store: A.store, requestId, patientId: holder.patientId, now: c.time });
      released = [...new Set(rel.resources.map((x) => x.resourceType))].filter((t) => forbidden.includes(t));
    } catch (e) {
      if (!(e instanceof ReleaseError)) throw e;
    }
    const bad = leakedByDecision.length > 0 || released.length > 0;
    cases.push({ name, category: 'access', outcome: bad ? 'succeeded' : 'denied', reason: bad ? `granted ${[...leakedByDecision, ...released].join(',')}` : d.reason });
  };
  const grant = (patientKey: typeof holder.key, consentId: string, granteeOrg: string, purpose: string, types: string[], days = 30): void => {
    c.must(
      patientKey.make('grantConsent', {
        consentId,
        patient: holder.pseudonym,
        granteeOrg,
        granteePractitioner: '',
        purpose,
        resourceTypes: types,
        start: c.time,
        end: c.time + days * DAY,
      }),
    );
  };

  // ---- access without a right ------------------------------------------------------------------------------
  await accessAttack('no consent', B, { patient: holder.pseudonym, resourceTypes: ['Condition'], purpose: 'TREAT' });
  grant(holder.key, 'c-b-treat', B.id, 'TREAT', ['Condition']);
  await accessAttack('wrong resource type', B, { patient: holder.pseudonym, resourceTypes: ['Claim', 'Immunization'], purpose: 'TREAT' });
  await accessAttack('consented type plus an unconsented one', B, { patient: holder.pseudonym, resourceTypes: ['Condition', 'ExplanationOfBenefit'], purpose: 'TREAT' }, [
    'ExplanationOfBenefit',
  ]);
  await accessAttack('wrong purpose', B, { patient: holder.pseudonym, resourceTypes: ['Condition'], purpose: 'HRESCH' });
  await accessAttack('break-glass flag with a routine purpose', B, { patient: holder.pseudonym, resourceTypes: ['Claim'], purpose: 'TREAT', breakGlass: true });
  c.must(holder.key.make('revokeConsent', { consentId: 'c-b-treat' }));
  await accessAttack('revoked consent', B, { patient: holder.pseudonym, resourceTypes: ['Condition'], purpose: 'TREAT' });
  txAttack(
    'replayed consent grant after revocation',
    'transaction',
    c.ledger.blocks.flatMap((b) => b.txs).find((_, i, all) => i >= 0 && isGrant(all[i]!, 'c-b-treat'))!,
  );
  await accessAttack('revoked consent after replayed grant', B, { patient: holder.pseudonym, resourceTypes: ['Condition'], purpose: 'TREAT' });
  grant(holder.guardian, 'c-b-short', B.id, 'TREAT', ['Observation'], 1);
  c.time += 2 * DAY;
  await accessAttack('expired consent', B, { patient: holder.pseudonym, resourceTypes: ['Observation'], purpose: 'TREAT' });
  grant(holder.key, 'c-c-treat', C.id, 'TREAT', ['Condition']);
  await accessAttack('agreement signed by one side only', C, { patient: holder.pseudonym, resourceTypes: ['Condition'], purpose: 'TREAT' });
  grant(holder.key, 'c-d-treat', D.id, 'TREAT', ['Condition']);
  await accessAttack('no agreement', D, { patient: holder.pseudonym, resourceTypes: ['Condition'], purpose: 'TREAT' });
  c.agree(D, A, 'agr-da', ['TREAT']);
  c.must(A.admin.make('endAgreement', { agreementId: 'agr-da' }));
  await accessAttack('ended agreement', D, { patient: holder.pseudonym, resourceTypes: ['Condition'], purpose: 'TREAT' });

  // ---- forged, replayed, unknown, wrong keys -----------------------------------------------------------------
  const good = B.clinician.make('requestAccess', accessRequest());
  const forged = good.slice();
  forged[forged.length - 5]! ^= 0x40;
  txAttack('forged signature (one bit)', 'transaction', forged);
  const mallory = c.newKey();
  txAttack("signature by another key under a clinician's name", 'transaction', reSign(good, mallory));
  txAttack('unknown key', 'transaction', mallory.make('requestAccess', accessRequest()));
  c.submit(good);
  txAttack('replayed transaction', 'transaction', good);
  txAttack(
    'malformed bytes',
    'transaction',
    Uint8Array.from({ length: 120 }, (_, i) => (i * 37 + opts.seed) & 0xff),
  );
  txAttack('expired transaction', 'transaction', B.clinician.make('requestAccess', accessRequest(), { notAfter: c.time - DAY }));
  txAttack(
    "a patient's key used for another patient (grant)",
    'transaction',
    other.key.make('grantConsent', {
      consentId: 'c-evil',
      patient: holder.pseudonym,
      granteeOrg: D.id,
      granteePractitioner: '',
      purpose: 'TREAT',
      resourceTypes: ['Condition'],
      start: c.time,
      end: c.time + DAY,
    }),
  );
  grant(holder.key, 'c-b-treat-2', B.id, 'TREAT', ['Condition']);
  txAttack("a patient's key used for another patient (revoke)", 'transaction', other.key.make('revokeConsent', { consentId: 'c-b-treat-2' }));
  txAttack(
    'a clinician grants consent',
    'transaction',
    B.clinician.make('grantConsent', {
      consentId: 'c-clin',
      patient: holder.pseudonym,
      granteeOrg: B.id,
      granteePractitioner: '',
      purpose: 'TREAT',
      resourceTypes: ['Claim'],
      start: c.time,
      end: c.time + DAY,
    }),
  );
  txAttack('a patient requests access as a clinician', 'transaction', holder.key.make('requestAccess', accessRequest({ requesterOrg: A.id, resourceTypes: ['Claim'] })));
  txAttack('a clinician of one organisation acting for another', 'transaction', B.clinician.make('requestAccess', accessRequest({ requesterOrg: A.id, resourceTypes: ['Claim'] })));
  txAttack(
    'an admin registering a key in another organisation',
    'transaction',
    B.admin.make('registerKey', { key: mallory.publicKey, org: A.id, role: 'clinician', subject: 'dr-mallory' }),
  );
  txAttack("an admin signing another organisation's agreement", 'transaction', B.admin.make('signAgreement', { agreementId: 'agr-ca-unsigned' }));
  txAttack('a clinician reviews break-glass', 'transaction', B.clinician.make('reviewBreakGlass', { requestId: 'req-1', verdict: 'justified' }));
  const device = c.newKey();
  c.must(A.admin.make('registerKey', { key: device.publicKey, org: A.id, role: 'device', subject: holder.pseudonym }));
  c.must(A.admin.make('revokeKey', { key: device.publicKey }));
  txAttack('a revoked device key', 'transaction', device.make('anchor', { record: 'f'.repeat(64), version: 1, commitment: new Uint8Array(32) }));
  const fired = c.newKey();
  c.must(B.admin.make('registerKey', { key: fired.publicKey, org: B.id, role: 'clinician', subject: 'dr-fired' }));
  c.must(B.admin.make('revokeKey', { key: fired.publicKey }));
  txAttack('a revoked clinician key', 'transaction', fired.make('requestAccess', accessRequest()));

  // ---- membership ---------------------------------------------------------------------------------------------
  const rogue = c.newKey();
  c.submit(D.admin.make('proposeOrg', { org: 'rogue-clinic', name: 'rogue-clinic', adminKey: rogue.publicKey, validator: true }));
  const r1 = c.submit(rogue.make('registerKey', { key: mallory.publicKey, org: 'rogue-clinic', role: 'clinician', subject: 'dr-rogue' })).result;
  const r2 = c.submit(D.admin.make('approveOrg', { org: 'rogue-clinic' })).result;
  const joined = c.ledger.app.org('rogue-clinic') !== undefined;
  cases.push({
    name: 'one organisation adds a validator organisation alone',
    category: 'membership',
    outcome: joined || r1.ok || r2.ok ? 'succeeded' : 'rejected',
    reason: `${r1.ok ? 'ok' : r1.reason}; ${r2.ok ? 'ok' : r2.reason}`,
  });

  // ---- the holder asked to release without a valid decision ---------------------------------------------------
  c.sync();
  const tryRelease = async (name: string, clinic: Clinic, requestId: string, now = c.time): Promise<void> => {
    try {
      const rel = await releaseRecords({ replica: clinic.replica, holderOrg: clinic.id, author: clinic.node, store: clinic.store, requestId, patientId: holder.patientId, now });
      cases.push({ name, category: 'release', outcome: rel.resources.length > 0 ? 'succeeded' : 'refused', reason: `released ${rel.resources.length}` });
    } catch (e) {
      if (!(e instanceof ReleaseError)) throw e;
      cases.push({ name, category: 'release', outcome: 'refused', reason: e.reason });
    }
  };
  await tryRelease('release without any decision', A, 'req-never-made');
  await tryRelease('release against a denied decision', A, 'req-1');
  const okReq = rid();
  c.must(B.clinician.make('requestAccess', accessRequest({ requestId: okReq })));
  c.sync();
  const controls = { tried: 0, succeeded: 0 };
  controls.tried++;
  try {
    const legit = await releaseRecords({ replica: A.replica, holderOrg: A.id, author: A.node, store: A.store, requestId: okReq, patientId: holder.patientId, now: c.time });
    if (legit.resources.length > 0 && legit.resources.every((r) => r.resourceType === 'Condition') && c.submit(legit.releaseTx).result.ok) controls.succeeded++;
  } catch (e) {
    if (!(e instanceof ReleaseError)) throw e;
  }
  await tryRelease('release by a clinic that is not the holder', C, okReq);
  await tryRelease('release after the permit expired', A, okReq, c.time + 2 * DAY);
  const uncommitted = rid();
  B.clinician.make('requestAccess', accessRequest({ requestId: uncommitted }));
  await tryRelease('release against a signed but uncommitted request', A, uncommitted);
  const relTx = c.submit(A.node.make('recordRelease', { requestId: okReq, resourceTypes: ['Claim'], count: 1, digest: new Uint8Array(32) })).result;
  cases.push({ name: 'a release record for types not granted', category: 'release', outcome: relTx.ok ? 'succeeded' : 'rejected', reason: relTx.ok ? 'committed' : relTx.reason });

  // ---- break-glass: granted, flagged, listed for review --------------------------------------------------------
  const bg = rid();
  c.must(A.admin.make('setEmergencyPolicy', { orgs: [D.id], maxPerClinicianPerDay: 3, maxPerPatientPerDay: 2 }));
  c.must(
    D.clinician.make(
      'requestAccess',
      accessRequest({ requestId: bg, requesterOrg: D.id, resourceTypes: ['AllergyIntolerance', 'Condition'], purpose: 'ETREAT', breakGlass: true, emergencyReason: 'unconscious' }),
    ),
  );
  c.sync();
  const bgd = A.replica.app.decision(bg)!;
  const listed = A.replica.app.breakGlassReviewQueue(A.id).some((d) => d.requestId === bg);
  controls.tried++;
  if (bgd.decision === 'permit') controls.succeeded++;
  const breakGlass = { granted: bgd.decision === 'permit' ? 1 : 0, flaggedForReview: listed ? 1 : 0 };
  cases.push({
    name: 'break-glass emergency access',
    category: 'access',
    outcome: listed && bgd.breakGlass ? 'flagged' : 'succeeded',
    reason: listed ? 'granted, flagged, listed for review' : 'not listed for review',
  });

  // ---- direct edits of the record database -----------------------------------------------------------------------
  const tamperCases = await tamperAttacks(c, A, holder.patientId, opts.seed);
  cases.push(...tamperCases);

  c.close();
  const succeeded = cases.filter((x) => x.outcome === 'succeeded').length;
  const tamper = cases.filter((x) => x.category === 'tamper');
  return {
    tried: cases.length,
    succeeded,
    detected: cases.filter((x) => x.outcome !== 'succeeded').length,
    tamper: { tried: tamper.length, detected: tamper.filter((x) => x.outcome === 'detected').length },
    breakGlass,
    controls,
    cases,
  };
}

function isGrant(tx: Uint8Array, consentId: string): boolean {
  try {
    const d = decodeTxSafe(tx);
    return d !== null && d.tx.kind === 'grantConsent' && d.tx.payload.consentId === consentId;
  } catch {
    return false;
  }
}

import { decodeTx, encodeSigned, TX_DOMAIN, type TxAuthor, type DecodedTx } from '../ledger/contracts/index.ts';
import { signingBytes } from '../codec/index.ts';

function decodeTxSafe(tx: Uint8Array): DecodedTx | null {
  try {
    return decodeTx(tx);
  } catch {
    return null;
  }
}

/** The same body, signed by someone else's key. */
function reSign(tx: Uint8Array, by: TxAuthor): Uint8Array {
  const d = decodeTx(tx);
  return encodeSigned(d.body, by.signer.sign(signingBytes(TX_DOMAIN, d.body)));
}

/**
 * Anchors a seeded sample of the holder's records on the ledger, then edits the database directly in every
 * way we know (a flipped bit, another record's row moved in, the row rolled back to its valid older
 * version, the row filed under another owner, the row deleted or truncated, re-encryption under a key the
 * attacker made, a replaced wrapped key) and checks each record against its ledger anchor.
 */
async function tamperAttacks(c: Consortium, A: Clinic, patientId: string, seed: number): Promise<AttackCase[]> {
  const prng = new Prng(seed ^ 0x5eed);
  const resources = await A.store.search({ patient: patientId });
  const sample: { type: string; id: string }[] = [];
  const pool = [...resources];
  while (sample.length < 8 && pool.length > 0) {
    const r = pool.splice(prng.int(pool.length), 1)[0]!;
    sample.push({ type: r.resourceType, id: r.id! });
  }
  const raw = await openDB(A.store.db.name);
  // A second version for each, so "an older version" exists to roll back to (the attacker kept the old row).
  const older = new Map<string, unknown>();
  for (const s of sample) {
    older.set(`${s.type}/${s.id}`, await raw.get('rows', A.store.rowKeyOf(s.type, s.id)));
    const r = await A.store.read(s.type, s.id);
    await A.store.put({ ...r, meta: { ...(r.meta ?? {}), tag: [{ system: 'urn:hygeia:test', code: 'v2' }] } });
    const anchor = await A.store.anchor(s.type, s.id);
    c.must(A.node.make('anchor', { record: A.store.anchorId(s.type, s.id), version: anchor.version, commitment: anchor.commitment }));
  }
  c.sync();
  const rowKeys = (await raw.getAllKeys('rows')) as string[];
  const cases: AttackCase[] = [];
  const check = async (name: string, s: { type: string; id: string }, edit: () => Promise<() => Promise<void>>, afterRestart = false): Promise<void> => {
    const onLedger = A.replica.app.anchorOf(A.id, A.store.anchorId(s.type, s.id))!;
    const commitment = fromHex(onLedger.commitment);
    if (!(await A.store.verify(s.type, s.id, commitment))) throw new Error('an untouched record failed verification');
    const undo = await edit();
    // An edit of the wrapped keys only shows once the clinic reopens its store (unwrapped keys live in memory).
    const verifier = afterRestart ? await RecordStore.open(A.store.db.name, A.clinicKey) : A.store;
    const passes = await verifier.verify(s.type, s.id, commitment);
    if (afterRestart) verifier.close();
    cases.push({ name, category: 'tamper', outcome: passes ? 'succeeded' : 'detected', reason: passes ? 'verified despite the edit' : 'commitment mismatch' });
    await undo();
    if (!(await A.store.verify(s.type, s.id, commitment))) throw new Error('undoing a tamper did not restore the record');
  };
  const ownerKeys = (await raw.getAllKeys('owners')) as string[];
  for (const [i, s] of sample.entries()) {
    const slot = A.store.rowKeyOf(s.type, s.id);
    const row = (await raw.get('rows', slot)) as { o: string; c: Uint8Array };
    const restore = (): Promise<void> => raw.put('rows', row, slot).then(() => undefined);
    const kind = i % 8;
    if (kind === 0)
      await check('flip one ciphertext bit', s, async () => {
        const ct = row.c.slice();
        ct[prng.int(ct.length)]! ^= 1 << prng.int(8);
        await raw.put('rows', { o: row.o, c: ct }, slot);
        return restore;
      });
    if (kind === 1)
      await check("roll the record's row back to its older version", s, async () => {
        await raw.put('rows', older.get(`${s.type}/${s.id}`), slot);
        return restore;
      });
    if (kind === 2)
      await check("copy another record's ciphertext", s, async () => {
        const otherKey = rowKeys.find((k) => k !== slot)!;
        await raw.put('rows', await raw.get('rows', otherKey), slot);
        return restore;
      });
    if (kind === 3)
      await check('file the row under another owner', s, async () => {
        await raw.put('rows', { o: ownerKeys.find((o) => o !== row.o)!, c: row.c }, slot);
        return restore;
      });
    if (kind === 4)
      await check('delete the record', s, async () => {
        await raw.delete('rows', slot);
        return restore;
      });
    if (kind === 5)
      await check('truncate the ciphertext', s, async () => {
        await raw.put('rows', { o: row.o, c: row.c.slice(0, row.c.length - 16) }, slot);
        return restore;
      });
    if (kind === 6)
      await check('re-encrypt altered content under a key the attacker made', s, async () => {
        const key = await globalThis.crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, true, ['encrypt']);
        const iv = globalThis.crypto.getRandomValues(new Uint8Array(12));
        const body = new TextEncoder().encode(`{"h":[{"r":{"resourceType":"${s.type}","id":"${s.id}"},"s":"${'00'.repeat(32)}","v":2}],"i":"${s.id}","k":"r","t":"${s.type}"}`);
        const forged = new Uint8Array(await globalThis.crypto.subtle.encrypt({ name: 'AES-GCM', iv }, key, body));
        const c2 = new Uint8Array(12 + forged.length);
        c2.set(iv);
        c2.set(forged, 12);
        await raw.put('rows', { o: row.o, c: c2 }, slot);
        return restore;
      });
    if (kind === 7)
      await check(
        "replace the patient's wrapped data key",
        s,
        async () => {
          const saved = new Map<string, unknown>();
          for (const k of ownerKeys) saved.set(k, await raw.get('owners', k));
          for (const k of ownerKeys) await raw.put('owners', { ...(saved.get(k) as object), w: new Uint8Array(40).fill(9) }, k);
          return async () => {
            for (const [k, v] of saved) await raw.put('owners', v, k);
          };
        },
        true,
      );
  }
  raw.close();
  return cases;
}
