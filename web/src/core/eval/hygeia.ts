/// <reference types="fhir" />
// The Hygeia architecture. Access, audit and latency run on the real system (hygeia-cluster.ts): a ClinicNode
// per clinic with its wasm PBFT replica executing the contracts, over the WAN model; requests go through
// ClinicNode.requestAccess (committed decision, release to the requester's node, checked against the
// holder's anchors), the attackers submit what they can sign or capture. Tampering runs on the contracts
// consortium (consortium.ts): the same contracts, RecordStore and anchors, on an in-memory ledger whose blocks
// carry real commit certificates, where the raw database is at hand. Learning on PBFT replicas with the
// default robust rule, detectors and trust.
import { openDB } from 'idb';
import { Ed25519Signer } from '../../../../wasm/index.ts';
import { clientPayload } from '../consensus/index.ts';
import { decodeTx, encodeSigned, TX_DOMAIN, TxAuthor, auditTrail, verifyAuditEntry, verifyAuditCompleteness } from '../ledger/contracts/index.ts';
import { NodeError } from '../node/api.ts';
import type { ClinicNode } from '../node/clinic-node.ts';
import { blockHash, type Block } from '../ledger/block.ts';
import { signingBytes } from '../codec/index.ts';
import { validateExchange } from '../records/index.ts';
import { Prng, fromHex } from '../util/index.ts';
import type { AccessOutcome, Architecture, ArchitectureRun, AuditOutcome, ExchangeOutcome, RunContext, TamperOutcome } from './architecture.ts';
import { MINUTE } from './baseline-common.ts';
import { Consortium, type Clinic, type EnrolledPatient } from './consortium.ts';
import { federatedTraining } from './fl-eval.ts';
import { startCluster, type NodeCluster } from './hygeia-cluster.ts';
import { hygeiaLatency } from './hygeia-latency.ts';
import { patientIdentifiers, type AccessAttempt, type TamperAttempt, type Workload } from './workload.ts';

export class HygeiaRunError extends Error {
  override readonly name = 'HygeiaRunError';
}

export const hygeia: Architecture = {
  name: 'hygeia',
  async run(w: Workload, ctx: RunContext): Promise<ArchitectureRun> {
    const tamper = await tamperOnConsortium(w, ctx);
    ctx.progress('hygeia: starting ClinicNodes with PBFT over the WAN model');
    const cluster = await startCluster(w, `${ctx.dbPrefix}-nodes`);
    let access: AccessOutcome[];
    let exchanges: ExchangeOutcome[];
    let audit: AuditOutcome[];
    let latencyMs: number[];
    try {
      const patients = await enrolOnCluster(w, cluster, ctx);
      ctx.progress(`hygeia: ${w.patients.length} patients imported at their clinics, every record anchored, patient keys on the ledger`);
      ctx.progress('hygeia: latency');
      latencyMs = await hygeiaLatency(w, cluster);
      const ran = await accessOnCluster(w, cluster, patients, ctx);
      access = ran.access;
      exchanges = ran.exchanges;
      // The audit reads every clinic's copy of the chain: let each reach the head the first one committed (a
      // clinic that fell behind during the attempts is still catching up when the last answer comes back).
      const heightOf = (n: ClinicNode): number => n.snapshot().ledger.height;
      const head = Math.max(...cluster.nodes.map(heightOf));
      await cluster.until(() => cluster.nodes.every((n) => heightOf(n) >= head), `every clinic at height ${head}`, 60_000);
      audit = auditOnCluster(w, cluster, ran.events, patients);
    } finally {
      await cluster.stop();
    }
    ctx.progress('hygeia: FL (default robust rule, detectors, trust, PBFT)');
    const fl = await federatedTraining(w, ctx, 'default', 'pbft');
    return { access, tamper, exchanges, audit, latencyMs, fl };
  },
};

/** The tamper attempts on the contracts consortium: every record anchored, the holder's store attacked. */
async function tamperOnConsortium(w: Workload, ctx: RunContext): Promise<TamperOutcome[]> {
  ctx.progress('hygeia: contracts consortium for the tamper attempts');
  const c = await Consortium.create({ seed: w.seed, dbPrefix: `${ctx.dbPrefix}-hygeia`, size: w.clinics.length });
  try {
    if (c.clinics.map((x) => x.id).join() !== w.clinics.join()) throw new HygeiaRunError('the consortium and the workload name different clinics');
    const enrolled: EnrolledPatient[] = [];
    for (const p of w.patients) {
      const clinic = c.clinic(p.clinic);
      enrolled.push(await c.enrol(clinic, p.bundle));
      await anchorAll(
        c,
        clinic,
        p.bundle.entry!.map((x) => x.resource!),
      );
    }
    c.sync();
    const tamper: TamperOutcome[] = [];
    for (const [i, t] of w.tamper.entries()) {
      tamper.push(await tamperOnce(c, w, t, enrolled[t.patient]!));
      if ((i + 1) % 20 === 0) ctx.progress(`hygeia: tamper ${i + 1}/${w.tamper.length}`);
    }
    return tamper;
  } finally {
    c.close();
  }
}

interface NodePatient {
  readonly pseudonym: string;
  readonly key: TxAuthor;
}

/** How long a set-up transaction may take to commit before the run gives up (the cluster has stalled). */
const COMMIT_WAIT_MS = 120_000;

/**
 * Submits a set-up transaction and waits for it to commit. A 'replay' outcome for our own unique transaction
 * means it was applied earlier: a node that caught up by state transfer re-sends what it had pending and hears
 * the contracts refuse the second copy (LedgerService); `applied` checks the effect in that case.
 */
async function must(node: ClinicNode, tx: Uint8Array, what: string, applied: () => boolean): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stalled = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HygeiaRunError(`${what} did not commit within ${COMMIT_WAIT_MS / 1000} s`)), COMMIT_WAIT_MS);
  });
  try {
    const o = await Promise.race([node.ledger.submit(tx), stalled]);
    if (!o.ok && !(o.reason === 'replay' && applied())) throw new HygeiaRunError(`${what} was rejected: ${o.reason}`);
  } finally {
    clearTimeout(timer);
  }
}

/** Each patient imported (and anchored) at its clinic, its key registered by the clinic; emergency lists set. */
async function enrolOnCluster(w: Workload, cluster: NodeCluster, ctx: RunContext): Promise<NodePatient[]> {
  const prng = new Prng(w.seed).fork('patient-keys');
  const out: NodePatient[] = [];
  for (const p of w.patients) {
    const node = cluster.node(p.clinic);
    const r = await node.importBundle(p.bundle);
    if (r.rejected.length > 0 || r.anchored !== p.bundle.entry!.length) throw new HygeiaRunError('an import was not fully stored and anchored');
    const pseudonym = node.store.pseudonym(p.patientId);
    const key = new TxAuthor(new Ed25519Signer(prng.bytes(32)), { now: () => Date.now() });
    await must(
      node,
      node.authors.node.make('registerKey', { key: key.publicKey, org: node.orgId, role: 'patient', subject: pseudonym }),
      'a patient key',
      () => node.contracts.key(key.publicKey) !== undefined,
    );
    out.push({ pseudonym, key });
    if (out.length % 10 === 0) ctx.progress(`hygeia: ${out.length}/${w.patients.length} patients imported and enrolled`);
  }
  for (const c of w.clinics) {
    const node = cluster.node(c);
    await must(
      node,
      node.authors.node.make('setEmergencyPolicy', { orgs: [...w.emergencyPartners[c]!], maxPerClinicianPerDay: 1000, maxPerPatientPerDay: 1000 }),
      'an emergency policy',
      () => node.contracts.emergencyPolicy(c) !== undefined,
    );
  }
  return out;
}

interface ClusterEvent {
  readonly id: string;
  readonly requestId: string;
  readonly patient: number;
}

async function accessOnCluster(
  w: Workload,
  cluster: NodeCluster,
  patients: readonly NodePatient[],
  ctx: RunContext,
): Promise<{ access: AccessOutcome[]; exchanges: ExchangeOutcome[]; events: ClusterEvent[] }> {
  const heldBy = new Map(
    w.clinics.map((cl) => [cl, new Set(w.patients.filter((p) => p.clinic === cl).flatMap((p) => p.bundle.entry!.map((e) => `${e.resource!.resourceType}/${e.resource!.id}`)))]),
  );
  const access: (AccessOutcome | undefined)[] = new Array(w.access.length);
  const exchanges: (ExchangeOutcome | undefined)[] = new Array(w.access.length);
  const events: (ClusterEvent | undefined)[] = new Array(w.access.length);
  const signed = new Map<string, Uint8Array>();
  // Attempts run LANES at a time. Two attempts about the same patient and requester never overlap (each meets
  // only its own consent), and a replay starts after the request it replays: so the outcome of each attempt does
  // not depend on the interleaving.
  const pending = [...w.access.keys()];
  const running = new Set<string>();
  const done = new Set<string>();
  let finished = 0;
  const keyOf = (i: number): string => `${w.access[i]!.patient}/${w.access[i]!.requester}`;
  const next = (): number | undefined => {
    const k = pending.findIndex((i) => {
      const a = w.access[i]!;
      return !running.has(keyOf(i)) && (a.replayOf === undefined || done.has(a.replayOf));
    });
    return k < 0 ? undefined : pending.splice(k, 1)[0];
  };
  const lane = async (): Promise<void> => {
    while (pending.length > 0) {
      const i = next();
      if (i === undefined) {
        await sleep(5);
        continue;
      }
      const a = w.access[i]!;
      running.add(keyOf(i));
      try {
        const r = await attemptOnCluster(cluster, w, a, patients[a.patient]!, signed, new Prng(w.seed).fork(`attacker/${a.id}`));
        access[i] = r.outcome;
        if (r.requestId !== null) events[i] = { id: a.id, requestId: r.requestId, patient: a.patient };
        if (r.received.length > 0) {
          const report = await validateExchange(r.received, { resolve: (ref) => heldBy.get(a.holder)!.has(ref) });
          exchanges[i] = { id: a.id, resources: r.received.length, valid: report.valid };
        }
      } finally {
        running.delete(keyOf(i));
        done.add(a.id);
      }
      if (++finished % 10 === 0) ctx.progress(`hygeia: access ${finished}/${w.access.length}`);
    }
  };
  await Promise.all(Array.from({ length: LANES }, lane));
  const defined = <T>(x: T | undefined): x is T => x !== undefined;
  return { access: access.filter(defined), exchanges: exchanges.filter(defined), events: events.filter(defined) };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Access attempts in flight at once on the cluster. */
const LANES = 6;

async function attemptOnCluster(
  cluster: NodeCluster,
  w: Workload,
  a: AccessAttempt,
  p: NodePatient,
  signed: Map<string, Uint8Array>,
  prng: Prng,
): Promise<{ outcome: AccessOutcome; requestId: string | null; received: fhir4.Resource[] }> {
  const holder = cluster.node(a.holder);
  const requester = cluster.node(a.requester);
  const consentId = `${a.id}-consent`;
  if (a.consent.state !== 'none') {
    const expired = a.consent.state === 'expired';
    const end = Date.now() + (expired ? 1500 : 600_000);
    await must(
      holder,
      p.key.make('grantConsent', {
        consentId,
        patient: p.pseudonym,
        granteeOrg: a.requester,
        granteePractitioner: '',
        purpose: a.consent.purpose,
        resourceTypes: [...a.consent.resourceTypes],
        start: Date.now() - MINUTE,
        end,
      }),
      'a consent',
      () => holder.contracts.consent(consentId) !== undefined,
    );
    if (a.consent.state === 'revoked') await must(holder, p.key.make('revokeConsent', { consentId }), 'a revocation', () => holder.contracts.consent(consentId)?.revoked === true);
    if (expired) while (Date.now() <= end + 100) await sleep(50);
  }
  try {
    if (a.kind === 'insider') {
      const text = await rawDatabaseText(holder.store.db.name);
      const found = patientIdentifiers(w.patients[a.patient]!).some((x) => text.includes(x));
      return { outcome: { id: a.id, obtained: found, event: false, reason: found ? 'plaintext in the database' : 'ciphertext only' }, requestId: null, received: [] };
    }
    if (a.kind === 'stolen-credentials' || a.kind === 'replayed-credentials') {
      // Stolen: the attacker has what phishing yields (a name and a password, no signing key) and signs with its own key.
      // Replayed: the attacker captured an earlier consented request's signed bytes and sends them again.
      const requestId = globalThis.crypto.randomUUID();
      const fresh = requester.authors.clinician.make('requestAccess', {
        requestId,
        requesterOrg: a.requester,
        holderOrg: a.holder,
        patient: p.pseudonym,
        resourceTypes: [...a.resourceTypes],
        purpose: a.purpose,
        breakGlass: false,
        emergencyReason: '',
      });
      const tx = a.kind === 'stolen-credentials' ? reSign(fresh, new TxAuthor(new Ed25519Signer(prng.bytes(32)), { now: () => Date.now() })) : signed.get(a.replayOf!);
      if (tx === undefined) throw new HygeiaRunError('no captured request to replay');
      const o = await holder.ledger.submit(tx);
      // A committed permit would release to the clinic's node over its authenticated channel, not to the attacker;
      // counted as obtained all the same, to be safe.
      const id = o.ok ? (decodeTx(tx).tx.payload as { requestId: string }).requestId : null;
      const permitted = id !== null && holder.contracts.decision(id)?.decision === 'permit';
      return {
        outcome: { id: a.id, obtained: permitted, event: o.ok, reason: o.ok ? (holder.contracts.decision(id!)?.reason ?? 'committed') : o.reason },
        requestId: o.ok ? id : null,
        received: [],
      };
    }
    if (a.kind === 'forged-consent') {
      // Another member writes the consent the patient never gave: only the patient's (or guardian's) key may.
      await requester.ledger.submit(
        requester.authors.clinician.make('grantConsent', {
          consentId: `${a.id}-forged`,
          patient: p.pseudonym,
          granteeOrg: a.requester,
          granteePractitioner: '',
          purpose: a.purpose,
          resourceTypes: [...a.resourceTypes],
          start: Date.now() - MINUTE,
          end: Date.now() + 600_000,
        }),
      );
    }
    let result;
    try {
      result = await requester.requestAccess({
        holder: a.holder,
        patient: p.pseudonym,
        purpose: a.purpose,
        resourceTypes: [...a.resourceTypes],
        breakGlass: a.breakGlass,
        ...(a.breakGlass ? { reason: 'unconscious' } : {}),
      });
    } catch (e) {
      if (e instanceof NodeError) return { outcome: { id: a.id, obtained: false, event: false, reason: e.code }, requestId: null, received: [] };
      throw e;
    }
    if (a.kind === 'consented') {
      const tx = committedRequest(cluster, w.clinics.indexOf(a.requester), result.requestId);
      if (tx !== null) signed.set(a.id, tx);
    }
    const received = result.resources > 0 ? ((await requester.received()).find((x) => x.requestId === result.requestId)?.resources ?? []) : [];
    return { outcome: { id: a.id, obtained: result.resources > 0, event: true, reason: result.reason }, requestId: result.requestId, received };
  } finally {
    // Each attempt meets only its own consent: one still in force is revoked once the attempt is over.
    if (a.consent.state === 'active')
      await must(holder, p.key.make('revokeConsent', { consentId }), 'a clean-up revocation', () => holder.contracts.consent(consentId)?.revoked === true);
  }
}

/** The contract transaction of a committed access request, as it travelled (what a network attacker captures). */
function committedRequest(cluster: NodeCluster, node: number, requestId: string): Uint8Array | null {
  for (const b of [...cluster.blocks[node]!.values()].reverse()) {
    for (const t of b.txs) {
      const payload = clientPayload(t);
      if (payload === null) continue;
      try {
        const d = decodeTx(payload);
        if (d.tx.kind === 'requestAccess' && (d.tx.payload as { requestId: string }).requestId === requestId) return payload;
      } catch {
        continue;
      }
    }
  }
  return null;
}

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

/** Everything an insider with access to the clinic's database files sees: every object store, keys and values, as text. */
async function rawDatabaseText(name: string): Promise<string> {
  const db = await openDB(name);
  try {
    const parts: string[] = [];
    const latin1 = new TextDecoder('latin1');
    const dump = (v: unknown): string =>
      v instanceof Uint8Array
        ? latin1.decode(v)
        : v !== null && typeof v === 'object'
          ? Object.values(v as object)
              .map(dump)
              .join(' ')
          : String(v);
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
function auditOnCluster(w: Workload, cluster: NodeCluster, events: readonly ClusterEvent[], patients: readonly NodePatient[]): AuditOutcome[] {
  const chainOf = (k: number): Block[] => [...cluster.blocks[k]!.values()].sort((x, y) => x.header.height - y.header.height);
  const reference = cluster.nodes.findIndex((_, k) => w.clinics[k] !== w.insiderClinic);
  const contracts = cluster.nodes[reference]!.contracts;
  const truth = new Map(events.map((e) => [e.requestId, contracts.decision(e.requestId)!]));
  const involved = new Set([...truth].filter(([, d]) => d.requesterOrg === w.insiderClinic || d.holderOrg === w.insiderClinic).map(([id]) => id));
  const copies = w.clinics.map((clinic, k) => {
    const chain = chainOf(k);
    if (clinic !== w.insiderClinic) return chain;
    return chain.map((b) => ({
      ...b,
      txs: b.txs.filter((t) => {
        const payload = clientPayload(t);
        if (payload === null) return true;
        try {
          const d = decodeTx(payload);
          return !(d.tx.kind === 'requestAccess' && involved.has((d.tx.payload as { requestId: string }).requestId));
        } catch {
          return true;
        }
      }),
    }));
  });
  const verified = new Map(chainOf(reference).map((b) => [b.header.height, blockHash(b.header)]));
  const out: AuditOutcome[] = [];
  const byPatient = new Map<number, ClusterEvent[]>();
  for (const e of events) byPatient.set(e.patient, [...(byPatient.get(e.patient) ?? []), e]);
  for (const [patient, list] of byPatient) {
    const p = patients[patient]!;
    const holder = w.clinics.indexOf(w.patients[patient]!.clinic);
    // A copy whose chain does not verify, or whose trail is not the whole of the patient's log, is refused.
    let trail: ReturnType<typeof auditTrail> | null = null;
    for (const k of [holder, ...w.clinics.map((_, k) => k).filter((k) => k !== holder)]) {
      try {
        const t = auditTrail(copies[k]!, cluster.contractsGenesis, p.pseudonym, { payloadOf: clientPayload });
        if (!verifyAuditCompleteness(contracts.patientLog(p.pseudonym), t, clientPayload)) continue;
        trail = t;
        break;
      } catch {
        continue;
      }
    }
    const complete = trail !== null;
    for (const e of list) {
      const entry = trail?.find((x) => x.kind === 'requestAccess' && x.subject === e.requestId);
      const hash = entry === undefined ? undefined : verified.get(entry.height);
      const ok = entry !== undefined && hash !== undefined && complete && entry.decision?.decision === truth.get(e.requestId)!.decision && verifyAuditEntry(entry, hash);
      out.push({ id: e.id, reconstructed: ok });
    }
  }
  return out;
}
