/// <reference types="fhir" />
// The Hygeia architecture. Access, tampering and audit run on the contracts consortium (consortium.ts): the
// real contracts executing real signed transactions in blocks with real commit certificates, each clinic's
// own verified replica, its encrypted RecordStore with every record anchored on the ledger, and the real
// release path (releaseRecords). Latency runs on real ClinicNodes with PBFT replicas over the WAN model
// (hygeia-latency.ts); learning on PBFT replicas with the default robust rule, detectors and trust.
import { openDB } from 'idb';
import { decodeTx, encodeSigned, TX_DOMAIN, auditTrail, verifyAuditEntry, verifyAuditCompleteness, type TxAuthor } from '../ledger/contracts/index.ts';
import { blockHash, type Block } from '../ledger/block.ts';
import { signingBytes } from '../codec/index.ts';
import { validateExchange } from '../records/index.ts';
import { fromHex } from '../util/index.ts';
import { ReleaseError, releaseRecords } from './attack-support.ts';
import type { AccessOutcome, Architecture, ArchitectureRun, AuditOutcome, ExchangeOutcome, RunContext, TamperOutcome } from './architecture.ts';
import { CONSENT_MS, MINUTE } from './baseline-common.ts';
import { Consortium, type Clinic, type EnrolledPatient } from './consortium.ts';
import { federatedTraining } from './fl-eval.ts';
import { hygeiaLatency } from './hygeia-latency.ts';
import type { AccessAttempt, TamperAttempt, Workload } from './workload.ts';

export class HygeiaRunError extends Error {
  override readonly name = 'HygeiaRunError';
}

export const hygeia: Architecture = {
  name: 'hygeia',
  async run(w: Workload, ctx: RunContext): Promise<ArchitectureRun> {
    ctx.progress('hygeia: contracts consortium');
    const c = await Consortium.create({ seed: w.seed, dbPrefix: `${ctx.dbPrefix}-hygeia`, size: w.clinics.length });
    try {
      const ids = c.clinics.map((x) => x.id);
      if (ids.join() !== w.clinics.join()) throw new HygeiaRunError('the consortium and the workload name different clinics');
      for (let a = 0; a < ids.length; a++) for (let b = a + 1; b < ids.length; b++) c.agree(c.clinic(ids[a]!), c.clinic(ids[b]!), `agr-${ids[a]}-${ids[b]}`, ['TREAT', 'HRESCH']);
      for (const id of ids) c.must(c.clinic(id).admin.make('setEmergencyPolicy', { orgs: [...w.emergencyPartners[id]!], maxPerClinicianPerDay: 1000, maxPerPatientPerDay: 1000 }));
      const enrolled: EnrolledPatient[] = [];
      for (const p of w.patients) {
        const clinic = c.clinic(p.clinic);
        const e = await c.enrol(clinic, p.bundle);
        await anchorAll(c, clinic, p.bundle.entry!.map((x) => x.resource!));
        enrolled.push(e);
      }
      c.sync();
      ctx.progress(`hygeia: ${w.patients.length} patients enrolled, every record anchored`);
      const heldBy = new Map(w.clinics.map((cl) => [cl, new Set(w.patients.filter((p) => p.clinic === cl).flatMap((p) => p.bundle.entry!.map((e) => `${e.resource!.resourceType}/${e.resource!.id}`)))]));

      const access: AccessOutcome[] = [];
      const exchanges: ExchangeOutcome[] = [];
      const events: { id: string; patient: number }[] = [];
      const signed = new Map<string, Uint8Array>();
      const base = c.time;
      for (const [i, a] of w.access.entries()) {
        c.time = Math.max(c.time, base + (i + 1) * MINUTE);
        const r = await attempt(c, a, enrolled[a.patient]!, signed);
        access.push(r.outcome);
        if (r.outcome.event) events.push({ id: a.id, patient: a.patient });
        if (r.released.length > 0) {
          const report = await validateExchange(r.released, { resolve: (ref) => heldBy.get(a.holder)!.has(ref) });
          exchanges.push({ id: a.id, resources: r.released.length, valid: report.valid });
        }
        if ((i + 1) % 25 === 0) ctx.progress(`hygeia: access ${i + 1}/${w.access.length}`);
      }

      const tamper: TamperOutcome[] = [];
      for (const [i, t] of w.tamper.entries()) {
        tamper.push(await tamperOnce(c, w, t, enrolled[t.patient]!));
        if ((i + 1) % 20 === 0) ctx.progress(`hygeia: tamper ${i + 1}/${w.tamper.length}`);
      }

      const audit = auditAfterInsider(c, w, events, enrolled);

      ctx.progress('hygeia: latency on ClinicNodes with PBFT over the WAN model');
      const latencyMs = await hygeiaLatency(w, ctx);
      ctx.progress('hygeia: FL (default robust rule, detectors, trust, PBFT)');
      const fl = await federatedTraining(w, ctx, 'default', 'pbft');
      return { access, tamper, exchanges, audit, latencyMs, fl };
    } finally {
      c.close();
    }
  },
};

async function anchorAll(c: Consortium, clinic: Clinic, resources: readonly fhir4.Resource[]): Promise<void> {
  const anchors = await clinic.store.anchorsOf(resources.map((r) => ({ resourceType: r.resourceType, id: r.id! })));
  for (let k = 0; k < anchors.length; k += 500) {
    c.must(clinic.node.make('anchorBatch', { anchors: anchors.slice(k, k + 500).map((a) => ({ record: a.anchorId, version: a.version, commitment: a.commitment })) }));
  }
}

/** The same body, signed by someone else's key (what holding a clinician's name without its key allows). */
function reSign(tx: Uint8Array, by: TxAuthor): Uint8Array {
  const d = decodeTx(tx);
  return encodeSigned(d.body, by.signer.sign(signingBytes(TX_DOMAIN, d.body)));
}

async function attempt(c: Consortium, a: AccessAttempt, p: EnrolledPatient, signed: Map<string, Uint8Array>): Promise<{ outcome: AccessOutcome; released: fhir4.Resource[] }> {
  const holder = c.clinic(a.holder);
  const requester = c.clinic(a.requester);
  if (a.consent.state !== 'none') {
    const consentId = `${a.id}-consent`;
    const expired = a.consent.state === 'expired';
    c.must(p.key.make('grantConsent', { consentId, patient: p.pseudonym, granteeOrg: a.requester, granteePractitioner: '', purpose: a.consent.purpose, resourceTypes: [...a.consent.resourceTypes], start: c.time - MINUTE, end: c.time + (expired ? 1500 : CONSENT_MS) }));
    if (a.consent.state === 'revoked') c.must(p.key.make('revokeConsent', { consentId }));
    if (expired) c.time += 3000;
  }
  if (a.kind === 'insider') {
    const text = await rawDatabaseText(holder.store.db.name);
    const found = text.includes(p.patientId);
    return { outcome: { id: a.id, obtained: found, event: false, reason: found ? 'plaintext in the database' : 'ciphertext only' }, released: [] };
  }
  if (a.kind === 'forged-consent') {
    // Another member writes the consent the patient never gave: only the patient's (or guardian's) key may.
    c.submit(requester.clinician.make('grantConsent', { consentId: `${a.id}-forged`, patient: p.pseudonym, granteeOrg: a.requester, granteePractitioner: '', purpose: a.purpose, resourceTypes: [...a.resourceTypes], start: c.time - MINUTE, end: c.time + CONSENT_MS }));
  }
  const request = requester.clinician.make('requestAccess', {
    requestId: a.id,
    requesterOrg: a.requester,
    holderOrg: a.holder,
    patient: p.pseudonym,
    resourceTypes: [...a.resourceTypes],
    purpose: a.purpose,
    breakGlass: a.breakGlass,
    emergencyReason: a.breakGlass ? 'unconscious' : '',
  });
  let tx = request;
  // The attacker holds what phishing gets (a name and a password, no signing key): it signs with its own key.
  if (a.kind === 'stolen-credentials') tx = reSign(request, c.newKey());
  // The attacker captured an earlier consented request's bytes and sends them again.
  if (a.kind === 'replayed-credentials') tx = signed.get(a.replayOf!) ?? request;
  if (a.kind === 'consented') signed.set(a.id, request);
  const committed = c.submit(tx).result;
  if (!committed.ok) return { outcome: { id: a.id, obtained: false, event: false, reason: committed.reason }, released: [] };
  const requestId = a.kind === 'replayed-credentials' && tx !== request ? a.replayOf! : a.id;
  c.sync();
  const d = holder.replica.app.decision(requestId);
  let released: fhir4.Resource[] = [];
  try {
    const rel = await releaseRecords({ replica: holder.replica, holderOrg: holder.id, author: holder.node, store: holder.store, requestId, patientId: p.patientId, now: c.time });
    released = rel.resources;
    if (released.length > 0) c.must(rel.releaseTx);
  } catch (e) {
    if (!(e instanceof ReleaseError)) throw e;
  }
  // A replayed request releases (if at all) to the clinic that signed it, over its authenticated channel: the attacker gets nothing new.
  const toAttacker = a.kind === 'replayed-credentials' && requestId !== a.id ? [] : released;
  return { outcome: { id: a.id, obtained: toAttacker.length > 0, event: requestId === a.id, reason: d?.reason ?? 'no decision' }, released };
}

/** Everything an insider with access to the clinic's database files sees: every object store, keys and values, as text. */
async function rawDatabaseText(name: string): Promise<string> {
  const db = await openDB(name);
  try {
    const parts: string[] = [];
    const latin1 = new TextDecoder('latin1');
    const dump = (v: unknown): string => (v instanceof Uint8Array ? latin1.decode(v) : v !== null && typeof v === 'object' ? Object.values(v as object).map(dump).join(' ') : String(v));
    for (const store of db.objectStoreNames) {
      for (const k of await db.getAllKeys(store)) parts.push(dump(k));
      for (const v of await db.getAll(store)) parts.push(dump(v));
    }
    return parts.join('\n');
  } finally {
    db.close();
  }
}

/**
 * One tampering attempt on the holder's database, by an insider who can write its files and holds a
 * clinician's key, but not the clinic's node key (in the tablet's vault) nor its data keys. Detection: the
 * record checked against its anchor on the clinic's verified replica of the ledger.
 */
async function tamperOnce(c: Consortium, w: Workload, t: TamperAttempt, p: EnrolledPatient): Promise<TamperOutcome> {
  const A = p.clinic;
  const bundle = w.patients[t.patient]!.bundle;
  const target = bundle.entry![t.entry]!.resource!;
  const other = bundle.entry![t.otherEntry]!.resource!;
  const type = target.resourceType;
  const id = target.id!;
  const raw = await openDB(A.store.db.name);
  try {
    const slot = A.store.rowKeyOf(type, id);
    const older = await raw.get('rows', slot);
    // An update through the application first, so an older version exists to roll back to.
    const current = await A.store.read(type, id);
    await A.store.put({ ...current, meta: { ...(current.meta ?? {}), tag: [{ system: 'urn:hygeia:eval', code: `update-${t.id}` }] } });
    const fresh = await A.store.anchor(type, id);
    c.must(A.node.make('anchor', { record: A.store.anchorId(type, id), version: fresh.version, commitment: fresh.commitment }));
    c.sync();
    const onLedger = (): { version: number; commitment: Uint8Array } => {
      const r = A.replica.app.anchorOf(A.id, A.store.anchorId(type, id))!;
      return { version: r.version, commitment: fromHex(r.commitment) };
    };
    if (!(await A.store.verify(type, id, onLedger()))) throw new HygeiaRunError('an untouched record failed verification');
    const row = (await raw.get('rows', slot)) as { o: string; c: Uint8Array };
    const cover = (version: number): void => {
      // The insider tries to make the ledger agree: an anchor signed with the clinician key it holds.
      c.submit(A.clinician.make('anchor', { record: A.store.anchorId(type, id), version, commitment: new Uint8Array(32).fill(7) }));
      c.sync();
    };
    switch (t.kind) {
      case 'flip-bytes': {
        const ct = row.c.slice();
        ct[ct.length >> 1]! ^= 1;
        await raw.put('rows', { o: row.o, c: ct }, slot);
        break;
      }
      case 'edit':
      case 'edit-and-cover':
        await raw.put('rows', { o: row.o, c: await forgedCiphertext(type, id) }, slot);
        if (t.kind === 'edit-and-cover') cover(fresh.version + 1);
        break;
      case 'rollback':
      case 'rollback-and-cover':
        await raw.put('rows', older, slot);
        if (t.kind === 'rollback-and-cover') cover(fresh.version + 1);
        break;
      case 'substitute':
        await raw.put('rows', await raw.get('rows', A.store.rowKeyOf(other.resourceType, other.id!)), slot);
        break;
      case 'delete':
      case 'delete-and-cover':
        await raw.delete('rows', slot);
        if (t.kind === 'delete-and-cover') cover(fresh.version + 1);
        break;
    }
    const detected = !(await A.store.verify(type, id, onLedger()));
    await raw.put('rows', row, slot);
    if (!(await A.store.verify(type, id, onLedger()))) throw new HygeiaRunError('undoing a tamper did not restore the record');
    return { id: t.id, kind: t.kind, detected };
  } finally {
    raw.close();
  }
}

/** Altered content encrypted under a key the attacker made (it has no data key of the clinic's). */
async function forgedCiphertext(type: string, id: string): Promise<Uint8Array> {
  const key = await globalThis.crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, true, ['encrypt']);
  const iv = new Uint8Array(12).fill(5);
  const body = new TextEncoder().encode(`{"h":[{"r":{"resourceType":"${type}","id":"${id}"},"s":"${'00'.repeat(32)}","v":9}],"i":"${id}","k":"r","t":"${type}"}`);
  const ct = new Uint8Array(await globalThis.crypto.subtle.encrypt({ name: 'AES-GCM', iv }, key, body));
  const out = new Uint8Array(12 + ct.length);
  out.set(iv);
  out.set(ct, 12);
  return out;
}

/**
 * The insider administrator of one clinic edits that clinic's copy of the ledger, removing the transactions
 * of every access event involving its clinic. The auditor reconstructs each patient's trail from the holder's
 * copy, replaying it through a fresh replica that checks every certificate; when a copy fails, from another
 * clinic's. An event counts when its entry is there with the decision that was made, its transaction proven
 * in a block whose hash the auditor's verified chain holds, and the trail complete against the patient's log.
 */
function auditAfterInsider(c: Consortium, w: Workload, events: readonly { id: string; patient: number }[], enrolled: readonly EnrolledPatient[]): AuditOutcome[] {
  const honest = c.ledger.blocks;
  const truth = new Map(events.map((e) => [e.id, c.ledger.app.decision(e.id)!.decision]));
  const involved = new Set(events.filter((e) => { const d = c.ledger.app.decision(e.id)!; return d.requesterOrg === w.insiderClinic || d.holderOrg === w.insiderClinic; }).map((e) => e.id));
  const edited: Block[] = honest.map((b) => ({
    ...b,
    txs: b.txs.filter((tx) => {
      try {
        const d = decodeTx(tx);
        return !(d.tx.kind === 'requestAccess' && involved.has(d.tx.payload.requestId as string));
      } catch {
        return true;
      }
    }),
  }));
  const copyOf = (clinic: string): readonly Block[] => (clinic === w.insiderClinic ? edited : honest);
  const out: AuditOutcome[] = [];
  const byPatient = new Map<number, string[]>();
  for (const e of events) byPatient.set(e.patient, [...(byPatient.get(e.patient) ?? []), e.id]);
  for (const [patient, ids] of byPatient) {
    const p = enrolled[patient]!;
    let trail: ReturnType<typeof auditTrail> | null = null;
    for (const source of [copyOf(p.clinic.id), ...w.clinics.filter((x) => x !== p.clinic.id).map(copyOf)]) {
      try {
        trail = auditTrail(source, c.genesis, p.pseudonym);
        break;
      } catch {
        continue;
      }
    }
    const complete = trail !== null && verifyAuditCompleteness(c.ledger.app.patientLog(p.pseudonym), trail);
    for (const id of ids) {
      const entry = trail?.find((e) => e.kind === 'requestAccess' && e.subject === id);
      const ok = entry !== undefined && complete && entry.decision?.decision === truth.get(id) && verifyAuditEntry(entry, blockHash(honest[entry.height - 1]!.header));
      out.push({ id, reconstructed: ok });
    }
  }
  return out;
}
