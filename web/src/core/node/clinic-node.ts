/// <reference types="fhir" />
// The clinic tablet's composition root: its records (encrypted FHIR store), its replica of the ledger (the
// contracts under PBFT), its staff keys, and the protocols that use both (anchoring imports, releasing records
// against committed permits, serving phones). Every other subsystem knows only its own job; this is where
// they meet. It runs the same in a page (WebRTC) and in Node (SimNetwork), so tests and the evaluation drive
// the real thing.
import type { Clock, ConsensusEvent, TimerPolicy } from '../consensus/index.ts';
import { HygeiaContracts, decodeTx, type AccessDecision, type AgreementRecord, type ConsentRecord } from '../ledger/contracts/index.ts';
import type { LedgerStore } from '../ledger/store.ts';
import { blockHash } from '../ledger/block.ts';
import { quorumSize } from '../ledger/quorum.ts';
import type { PeerId, Transport } from '../net/transport.ts';
import { RecordStore } from '../records/index.ts';
import { fromHex, toHex } from '../util/index.ts';
import { ed25519PublicKey } from '../../../../wasm/index.ts';
import {
  NodeError,
  type AccessRequest,
  type AccessView,
  type BlockView,
  type ConsentView,
  type ConsortiumView,
  type ReceivedRecords,
  type ConsultSession,
  type ConsultView,
  type HeartRateReading,
  type AgreementView,
  type AccessResult,
  type ClinicSnapshot,
  type GrantedConsent,
  type ImportProgress,
  type ImportResult,
  type NodeStatus,
} from './api.ts';
import { clinicByKey, type Genesis } from './genesis.ts';
import { LedgerService, type CommittedBlock } from './ledger-service.ts';
import { CHANNEL_RELEASE, checkRelease, decodeRelease, encodeRelease, releaseDigest, ReleaseWireError, type ReleaseItem, type ReleaseMessage } from './release-wire.ts';
import { clinicAuthors, type ClinicAuthors } from './staff-keys.ts';
import { RelaySync, type RelayLedgerClient } from './relay-sync.ts';
import { PatientService, resourcesToWire } from './patient-service.ts';
import { CHANNEL_PATIENT } from './patient-wire.ts';
import { encodeProofBundle, type StateLeaf } from './patient-proofs.ts';
import { CHANNEL_CONSULT, LiveConsult, decodeChat, encodeChat, type MediaLink } from './consult.ts';

/** How long a transaction may wait to commit (its signed expiry). */
const TX_LIFETIME_MS = 10 * 60_000;
/** How long a requester waits for the holder's release after a permit commits. */
const RELEASE_WAIT_MS = 30_000;
const MAX_EARLY_RELEASES = 32;

export interface ReleaseSource {
  /** The granted resources of a patient, each with the salt and version its anchor commits to. */
  releasePackage(patientId: string, resourceTypes: readonly string[]): Promise<ReleaseItem[]>;
}

export interface ClinicNodeOptions {
  readonly genesis: Genesis;
  readonly seed: Uint8Array;
  readonly clinicKey: Uint8Array;
  readonly transport: Transport;
  readonly clock: Clock;
  /** Prefix of this node's IndexedDB databases (records, ledger). */
  readonly dbPrefix: string;
  readonly ledgerStore: LedgerStore;
  readonly timers?: Partial<TimerPolicy>;
  readonly onEvent?: (e: ConsensusEvent) => void;
  /** The relay's ledger endpoint: the node pushes it the committed blocks it lacks. */
  readonly relay?: RelayLedgerClient;
  /** Told of every one-time code, so the page can register it at the relay and open its enrolment room. */
  readonly onEnrolment?: (codeHash: string, expiresAt: number) => void;
}

interface WaitingRelease {
  readonly resolve: (m: { from: PeerId; message: ReleaseMessage }) => void;
}

export class ClinicNode {
  readonly publicKey: Uint8Array;
  readonly id: string;
  readonly orgId: string;
  readonly contracts: HygeiaContracts;
  readonly ledger: LedgerService;
  readonly authors: ClinicAuthors;
  private readonly listeners = new Set<(s: ClinicSnapshot) => void>();
  private readonly waitingReleases = new Map<string, WaitingRelease>();
  private readonly earlyReleases = new Map<string, { from: PeerId; message: ReleaseMessage }>();
  private readonly receivedByRequest = new Map<string, { holder: string; patient: string; receivedAt: number; resources: fhir4.Resource[] }>();
  /** Pseudonym (as the ledger names a patient of ours) → our patient id. */
  private readonly patientsByPseudonym = new Map<string, string>();
  readonly patients: PatientService;
  private readonly relaySync: RelaySync | null;
  /** Transports phones reach this clinic on (the members' link in Node, the patients' room in a page). */
  private readonly phoneLinks: Transport[] = [];
  private readonly consultsById = new Map<string, { session: LiveConsult; view: ConsultView; peer: PeerId; answer: ((accept: boolean) => void) | null }>();
  private status: NodeStatus = 'starting';
  private problem: string | null = null;
  private unsubscribers: (() => void)[] = [];

  private constructor(
    private readonly opts: ClinicNodeOptions,
    readonly store: RecordStore & Partial<ReleaseSource>,
  ) {
    this.publicKey = ed25519PublicKey(opts.seed);
    this.id = toHex(this.publicKey);
    const me = clinicByKey(opts.genesis, this.id);
    if (!me) throw new NodeError('not-member', 'This tablet\'s key is not a member of the consortium.');
    this.orgId = me.id;
    this.authors = clinicAuthors(opts.seed);
    this.contracts = new HygeiaContracts(opts.genesis.clinics.map((c) => ({ id: c.id, adminKey: fromHex(c.nodeKey, 32), validator: c.validator })));
    this.ledger = new LedgerService({
      genesis: opts.genesis,
      seed: opts.seed,
      publicKey: this.publicKey,
      app: this.contracts,
      transport: opts.transport,
      store: opts.ledgerStore,
      clock: opts.clock,
      ...(opts.timers ? { timers: opts.timers } : {}),
      isMember: (peer) => this.isMemberNode(peer),
      // One lane until the contracts decide replay on the signed bytes: today a signer's nonces must commit in order.
      lanes: 1,
      onEvent: (e) => {
        if (e.kind === 'viewChanged' || e.kind === 'stateInstalled') this.emit();
        opts.onEvent?.(e);
      },
    });
    this.patients = new PatientService({
      orgId: this.orgId,
      clinicName: () => this.orgName(this.orgId),
      contracts: this.contracts,
      ledger: this.ledger,
      admin: this.authors.node,
      now: () => opts.clock.now(),
      txLifetimeMs: TX_LIFETIME_MS,
      patient: (id) => this.patientLabel(id),
      proofsFor: async (pseudonym) => this.proofBundle(pseudonym),
      recordsFor: async (pseudonym) => this.ownRecords(pseudonym),
      ...(opts.onEnrolment ? { onEnrolment: opts.onEnrolment } : {}),
      onConsultAnswer: (from, consultId, accept) => {
        const c = this.consultsById.get(consultId);
        if (c && c.peer === from && c.answer) c.answer(accept);
      },
      onConsultEnd: (from, consultId) => {
        const c = this.consultsById.get(consultId);
        if (c && c.peer === from) void c.session.end();
      },
    });
    this.relaySync = opts.relay
      ? new RelaySync({
          client: opts.relay,
          height: () => this.ledger.height,
          read: async (from, to) => {
            const out = [];
            for (let h = from; h <= to; h++) {
              const b = this.ledger.consensus?.block(h) ?? (await opts.ledgerStore.getBlock(h));
              if (!b) break;
              out.push(b);
            }
            return out;
          },
          onProblem: (m) => {
            if (m !== this.problem) {
              this.problem = m;
              this.emit();
            }
          },
        })
      : null;
  }

  static async start(opts: ClinicNodeOptions): Promise<ClinicNode> {
    const store = await RecordStore.open(`${opts.dbPrefix}-records`, opts.clinicKey);
    const node = new ClinicNode(opts, store);
    await node.ledger.start();
    node.unsubscribers.push(node.ledger.onCommitted((c) => node.onCommitted(c)));
    node.unsubscribers.push(opts.transport.onMessage((from, bytes) => node.onFrame(from, bytes)));
    node.phoneLinks.push(opts.transport);
    node.unsubscribers.push(opts.transport.onPeer(() => node.emit()));
    node.status = 'ready';
    void node.registerStaffKeys();
    return node;
  }

  async stop(): Promise<void> {
    this.relaySync?.stop();
    for (const u of this.unsubscribers) u();
    this.unsubscribers = [];
    await this.ledger.stop();
    this.store.close();
    this.listeners.clear();
  }

  // ---- the snapshot ------------------------------------------------------------------------------------

  private nameOfKey(keyHex: string): string {
    const k = this.contracts.key(fromHex(keyHex, 32));
    if (!k) return `unknown:${keyHex.slice(0, 8)}`;
    if (k.role === 'patient' || k.role === 'guardian') return `patient:${keyHex.slice(0, 8)}`;
    return this.orgName(k.org);
  }

  orgName(org: string): string {
    return this.opts.genesis.clinics.find((c) => c.id === org)?.name ?? org;
  }

  private orgOfName(name: string): string | undefined {
    return this.opts.genesis.clinics.find((c) => c.name === name || c.id === name)?.id;
  }

  snapshot(): ClinicSnapshot {
    const primary = this.ledger.primaryKey();
    return {
      role: 'clinic',
      name: this.orgName(this.orgId),
      orgId: this.orgId,
      publicKey: this.id,
      peers: this.opts.transport
        .peers()
        .map((p) => this.nameOfKey(p))
        .sort(),
      ledger: this.ledger.summary((k) => this.nameOfKey(k)),
      status: this.status,
      relay: 'idle',
      problem: this.problem,
      validator: this.ledger.consensus !== null,
      primary: primary ? this.nameOfKey(primary) : null,
      epoch: 0,
      attestedHeight: 0,
      pendingTransactions: this.ledger.pendingCount,
      interruptedImports: [],
      openAlerts: 0,
    };
  }

  subscribe(fn: (s: ClinicSnapshot) => void): () => void {
    this.listeners.add(fn);
    fn(this.snapshot());
    return () => this.listeners.delete(fn);
  }

  private emit(): void {
    if (this.listeners.size === 0) return;
    const s = this.snapshot();
    for (const l of this.listeners) l(s);
  }

  // ---- membership ---------------------------------------------------------------------------------------

  /** A peer is a member node when the ledger names its key as a live admin/node key of a known org. */
  isMemberNode(peer: PeerId): boolean {
    let key: Uint8Array;
    try {
      key = fromHex(peer, 32);
    } catch {
      return false;
    }
    const k = this.contracts.key(key);
    return k !== undefined && !k.revoked && (k.role === 'admin' || k.role === 'node') && this.contracts.org(k.org) !== undefined;
  }

  /** The peer ids (node keys) of an org's tablets. */
  private nodesOf(org: string): PeerId[] {
    return this.opts.genesis.clinics.filter((c) => c.id === org).map((c) => c.nodeKey);
  }

  // ---- transactions ---------------------------------------------------------------------------------------

  private expiry(): number {
    return this.opts.clock.now() + TX_LIFETIME_MS;
  }

  private async commit(tx: Uint8Array, notAfter: number): Promise<void> {
    const o = await this.ledger.submit(tx, notAfter);
    if (!o.ok) throw new NodeError('rejected', `The ledger refused the transaction (${o.reason}).`);
  }

  /** Registers this tablet's clinician and auditor keys under its org, once. */
  private async registerStaffKeys(): Promise<void> {
    for (const role of ['clinician', 'auditor'] as const) {
      const author = this.authors[role];
      if (this.contracts.key(author.publicKey)) continue;
      const notAfter = this.expiry();
      try {
        await this.commit(this.authors.node.make('registerKey', { key: author.publicKey, org: this.orgId, role, subject: `${this.orgId}/${role}` }, { notAfter }), notAfter);
      } catch (e) {
        // Another start of this tablet may have registered it first.
        if (!this.contracts.key(author.publicKey)) this.problem = e instanceof Error ? e.message : String(e);
      }
    }
    this.emit();
  }

  private async staffReady(): Promise<void> {
    if (this.contracts.key(this.authors.clinician.publicKey) && this.contracts.key(this.authors.auditor.publicKey)) return;
    await this.registerStaffKeys();
    if (!this.contracts.key(this.authors.clinician.publicKey)) throw new NodeError('offline', 'This tablet\'s staff keys are not on the ledger yet.');
  }

  // ---- records ------------------------------------------------------------------------------------------

  async importBundle(bundle: unknown, opts: { onProgress?: (p: ImportProgress) => void } = {}): Promise<ImportResult> {
    const report = await this.store.importBundle(bundle);
    const entries = bundleResources(bundle);
    const rejectedAt = new Set(report.rejected.map((r) => r.index));
    const kept = entries.filter((e) => !rejectedAt.has(e.index));
    for (const e of kept) if (e.resourceType === 'Patient') this.patientsByPseudonym.set(await this.store.pseudonym(e.id), e.id);
    opts.onProgress?.({ phase: 'anchoring', done: 0, total: kept.length });
    const anchored = await this.anchor(kept, opts.onProgress);
    return {
      imported: report.imported,
      rejected: report.rejected.map((r) => ({ index: r.index, resourceType: entries.find((e) => e.index === r.index)?.resourceType ?? 'Bundle', reason: r.reason })),
      anchored,
      patients: kept.filter((e) => e.resourceType === 'Patient').map((e) => e.id),
    };
  }

  /** Anchors the latest version of each resource not yet anchored at that version; returns how many committed. */
  private async anchor(resources: readonly { resourceType: string; id: string }[], onProgress?: (p: ImportProgress) => void): Promise<number> {
    const txs: { tx: Uint8Array; notAfter: number }[] = [];
    for (const r of resources) {
      const a = await this.store.anchor(r.resourceType, r.id);
      const record = await this.store.anchorId(r.resourceType, r.id);
      const on = this.contracts.anchorOf(this.orgId, record);
      if (on && on.version >= a.version) continue;
      const notAfter = this.expiry();
      txs.push({ tx: this.authors.node.make('anchor', { record, version: a.version, commitment: a.commitment }, { notAfter }), notAfter });
    }
    let done = 0;
    const outcomes = await Promise.allSettled(
      txs.map(async ({ tx, notAfter }) => {
        await this.commit(tx, notAfter);
        onProgress?.({ phase: 'anchoring', done: ++done, total: txs.length });
      }),
    );
    const failed = outcomes.filter((o) => o.status === 'rejected').length;
    if (failed > 0) this.problem = `${failed} of ${txs.length} record anchors did not commit; they will be retried.`;
    return txs.length - failed;
  }

  // ---- phones -------------------------------------------------------------------------------------------

  /** A one-time code (shown as text and QR code) that links a phone to this patient. */
  async enrolPatient(patientId: string, opts: { guardian?: boolean } = {}): Promise<{ code: string; expiresAt: number }> {
    if (!(await this.patientLabel(patientId))) throw new NodeError('not-found', 'This clinic holds no such patient.');
    const { code, expiresAt } = this.patients.enrol(patientId, opts.guardian ? 'guardian' : 'patient');
    return { code, expiresAt };
  }

  private async patientLabel(patientId: string): Promise<{ pseudonym: string; displayName: string } | null> {
    let p: fhir4.Patient;
    try {
      p = await this.store.read<fhir4.Patient>('Patient', patientId);
    } catch {
      return null;
    }
    const pseudonym = await this.store.pseudonym(patientId);
    this.patientsByPseudonym.set(pseudonym, patientId);
    const n = p.name?.[0];
    const displayName = n ? [...(n.given ?? []), n.family ?? ''].join(' ').trim() : 'Patient';
    return { pseudonym, displayName };
  }

  /** The ledger's entries about one patient, as state leaves for the phone to check. */
  private proofBundle(pseudonym: string): Uint8Array {
    const leaves: StateLeaf[] = [];
    const consents = stateEntries<ConsentRecord & { consentId: string }>(this.contracts, 'consent/').filter((c) => c.patient === pseudonym);
    for (const c of consents) leaves.push({ key: `consent/${c.consentId}`, value: c, proof: new Uint8Array() });
    const decisions = stateEntries<AccessDecision>(this.contracts, 'access/').filter((d) => d.patient === pseudonym);
    for (const d of decisions) {
      leaves.push({ key: `access/${d.requestId}`, value: d, proof: new Uint8Array() });
      this.contracts.releases(d.requestId).forEach((r, i) => leaves.push({ key: `release/${d.requestId}/${i}`, value: r, proof: new Uint8Array() }));
    }
    return encodeProofBundle({ header: new Uint8Array(), attestation: new Uint8Array(), leaves });
  }

  private async ownRecords(pseudonym: string): Promise<Uint8Array[]> {
    const patientId = this.patientsByPseudonym.get(pseudonym);
    if (!patientId) return [];
    return resourcesToWire(await this.store.search({ patient: patientId }));
  }

  // ---- consults and wearables --------------------------------------------------------------------------

  /** A live treatment consent from this patient to this clinic, if any. */
  private treatmentConsent(pseudonym: string): ConsentRecord | undefined {
    const now = this.opts.clock.now();
    return this.consentsWhere((c) => c.patient === pseudonym && c.granteeOrg === this.orgId && c.purpose === 'TREAT' && !c.revoked && c.start <= now && now < c.end)[0];
  }

  /** The phones (keys the ledger registered for this pseudonym) connected on one of our links. */
  private phonesOf(pseudonym: string): { peer: PeerId; link: Transport }[] {
    const keys = new Set(
      (JSON.parse(new TextDecoder().decode(this.contracts.snapshot())) as [string, { role: string; subject: string; revoked: boolean }][])
        .filter(([k, v]) => k.startsWith('key/') && (v.role === 'patient' || v.role === 'guardian') && v.subject === pseudonym && !v.revoked)
        .map(([k]) => k.slice(4)),
    );
    const out: { peer: PeerId; link: Transport }[] = [];
    for (const link of this.phoneLinks) for (const peer of link.peers()) if (keys.has(peer) && !out.some((o) => o.peer === peer)) out.push({ peer, link });
    return out;
  }

  /** Starts a video consult with a linked patient: refused unless their treatment consent to us is live. */
  async startConsult(patientId: string, opts: { media: MediaStream | null }): Promise<ConsultSession> {
    const label = await this.patientLabel(patientId);
    if (!label) throw new NodeError('not-found', 'This clinic holds no such patient.');
    if (!this.treatmentConsent(label.pseudonym)) throw new NodeError('rejected', 'The patient has not given this clinic a live consent for treatment.');
    const phone = this.phonesOf(label.pseudonym)[0];
    if (!phone) throw new NodeError('offline', 'The patient\'s phone is not connected.');
    const consultId = randomId();
    const media = 'addMedia' in phone.link ? (phone.link as unknown as MediaLink) : null;
    const startedAt = this.opts.clock.now();
    const view: ConsultView = { consultId, patient: label.displayName, clinic: this.orgName(this.orgId), startedAt, endedAt: null, mode: 'chat', encounterId: null };
    const session = new LiveConsult({
      consultId,
      peer: phone.peer,
      selfName: this.orgName(this.orgId),
      send: (b) => phone.link.send(phone.peer, b),
      media,
      local: opts.media,
      onEnd: async () => {
        this.patients.endConsult(consultId, (b) => phone.link.send(phone.peer, b));
        const encounterId = await this.recordConsult(patientId, startedAt, session.state().mode);
        entry.view = { ...entry.view, endedAt: this.opts.clock.now(), mode: session.state().mode, encounterId };
        return { encounterId };
      },
    });
    const entry = { session, view: { ...view, mode: session.state().mode }, peer: phone.peer, answer: null as ((accept: boolean) => void) | null };
    this.consultsById.set(consultId, entry);
    const accepted = await new Promise<boolean>((resolve) => {
      entry.answer = resolve;
      this.patients.invite(consultId, session.state().mode, (b) => phone.link.send(phone.peer, b));
      this.opts.clock.schedule(90_000, () => resolve(false));
    });
    entry.answer = null;
    if (!accepted) {
      this.consultsById.delete(consultId);
      this.patients.endConsult(consultId, (b) => phone.link.send(phone.peer, b));
      throw new NodeError('rejected', 'The patient did not join the consult.');
    }
    session.begin();
    return session;
  }

  async consults(): Promise<ConsultView[]> {
    return [...this.consultsById.values()].map((c) => c.view).sort((a, b) => b.startedAt - a.startedAt);
  }

  /** The consult as a FHIR Encounter (class virtual) in the patient's record, anchored on the ledger. */
  private async recordConsult(patientId: string, start: number, mode: string): Promise<string> {
    const id = randomUuid();
    const encounter: fhir4.Encounter = {
      resourceType: 'Encounter',
      id,
      status: 'finished',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'VR', display: 'virtual' },
      type: [{ text: `Telemedicine consult (${mode})` }],
      subject: { reference: `Patient/${patientId}` },
      period: { start: new Date(start).toISOString(), end: new Date(this.opts.clock.now()).toISOString() },
      serviceProvider: { display: this.orgName(this.orgId) },
    };
    await this.store.put(encounter);
    await this.anchor([{ resourceType: 'Encounter', id }]);
    return id;
  }

  /** Heart-rate readings (a wearable's) as FHIR Observations (LOINC 8867-4) in the patient's record, anchored. */
  async recordHeartRate(patientId: string, readings: HeartRateReading[]): Promise<{ stored: number }> {
    if (!(await this.patientLabel(patientId))) throw new NodeError('not-found', 'This clinic holds no such patient.');
    const valid = readings.filter((r) => Number.isFinite(r.bpm) && r.bpm > 0 && r.bpm < 300 && Number.isFinite(r.time));
    const stored: { resourceType: string; id: string }[] = [];
    for (const r of valid) {
      const id = randomUuid();
      const obs: fhir4.Observation = {
        resourceType: 'Observation',
        id,
        status: 'final',
        category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs', display: 'Vital Signs' }] }],
        code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }], text: 'Heart rate' },
        subject: { reference: `Patient/${patientId}` },
        effectiveDateTime: new Date(r.time).toISOString(),
        valueQuantity: { value: Math.round(r.bpm), unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
      };
      await this.store.put(obs);
      stored.push({ resourceType: 'Observation', id });
    }
    await this.anchor(stored);
    this.emit();
    return { stored: stored.length };
  }

  // ---- access -------------------------------------------------------------------------------------------

  /** Live consents on the ledger that name this clinic as grantee. */
  async consentsGranted(): Promise<GrantedConsent[]> {
    const now = this.opts.clock.now();
    return this.consentsWhere((c) => c.granteeOrg === this.orgId && !c.revoked && c.start <= now && now < c.end).map((c) => ({
      consentId: c.consentId,
      patient: c.patient,
      holder: this.orgName(this.holderOfConsent(c)),
      purpose: c.purpose,
      resourceTypes: [...c.resourceTypes],
    }));
  }

  private holderOfConsent(c: ConsentRecord): string {
    return this.contracts.key(fromHex(c.grantedBy, 32))?.org ?? '';
  }

  private consentsWhere(pred: (c: ConsentRecord) => boolean): ConsentRecord[] {
    return stateEntries<ConsentRecord>(this.contracts, 'consent/').filter(pred);
  }

  async requestAccess(req: AccessRequest): Promise<AccessResult> {
    const holderOrg = this.orgOfName(req.holder);
    if (!holderOrg) throw new NodeError('not-found', `No clinic named ${req.holder} is a member.`);
    if (!Array.isArray(req.resourceTypes) || req.resourceTypes.length === 0) throw new NodeError('invalid', 'Choose at least one kind of record.');
    await this.staffReady();
    const requestId = randomId();
    const notAfter = this.expiry();
    const released = this.waitForRelease(requestId);
    const tx = this.authors.clinician.make(
      'requestAccess',
      { requestId, requesterOrg: this.orgId, patient: req.patient, holderOrg, resourceTypes: [...req.resourceTypes], purpose: req.purpose, breakGlass: req.breakGlass === true },
      { notAfter },
    );
    try {
      await this.commit(tx, notAfter);
    } catch (e) {
      this.waitingReleases.delete(requestId);
      throw e;
    }
    const d = this.contracts.decision(requestId);
    if (!d) throw new NodeError('rejected', 'The ledger holds no decision for this request.');
    if (d.decision !== 'permit') {
      this.waitingReleases.delete(requestId);
      return { decision: 'deny', reason: d.reason, resources: 0, requestId, grantedTypes: [] };
    }
    const got = await Promise.race([released, sleep(this.opts.clock, RELEASE_WAIT_MS).then(() => null)]);
    this.waitingReleases.delete(requestId);
    if (!got) return { decision: 'permit', reason: d.reason, resources: 0, requestId, grantedTypes: d.grantedTypes };
    const checked = checkRelease(got.message.items, d.grantedTypes, (anchorId) => {
      const a = this.contracts.anchorOf(d.holderOrg, anchorId);
      return a ? { version: a.version, commitment: a.commitment } : undefined;
    });
    this.receivedByRequest.set(requestId, { holder: this.orgName(d.holderOrg), patient: d.patient, receivedAt: this.opts.clock.now(), resources: checked.accepted });
    if (checked.refused.length > 0) this.problem = `${checked.refused.length} released records failed their ledger check and were discarded.`;
    return { decision: 'permit', reason: d.reason, resources: checked.accepted.length, requestId, grantedTypes: d.grantedTypes };
  }

  private waitForRelease(requestId: string): Promise<{ from: PeerId; message: ReleaseMessage }> {
    return new Promise((resolve) => {
      const early = this.earlyReleases.get(requestId);
      if (early) {
        this.earlyReleases.delete(requestId);
        resolve(early);
        return;
      }
      this.waitingReleases.set(requestId, { resolve });
    });
  }

  /** The records received (and verified) for every permitted request this tablet made. */
  async received(): Promise<ReceivedRecords[]> {
    return [...this.receivedByRequest.entries()].map(([requestId, r]) => ({ requestId, ...r })).sort((a, b) => b.receivedAt - a.receivedAt);
  }

  private accessView(d: AccessDecision): AccessView {
    return {
      requestId: d.requestId,
      time: d.time,
      requester: this.orgName(d.requesterOrg),
      holder: this.orgName(d.holderOrg),
      patient: d.patient,
      purpose: d.purpose,
      requestedTypes: [...d.requestedTypes],
      grantedTypes: [...d.grantedTypes],
      decision: d.decision,
      reason: d.reason,
      breakGlass: d.breakGlass,
      reviewed: d.reviewed,
      released: this.contracts.releases(d.requestId).reduce((n, r) => n + r.count, 0),
      height: d.height,
    };
  }

  /** Access decisions this clinic is party to (as requester or holder), newest first. */
  async accessLog(): Promise<AccessView[]> {
    return stateEntries<AccessDecision>(this.contracts, 'access/')
      .filter((d) => d.requesterOrg === this.orgId || d.holderOrg === this.orgId)
      .sort((a, b) => b.height - a.height || b.index - a.index)
      .map((d) => this.accessView(d));
  }

  /** Break-glass accesses to this clinic's records that no auditor of ours has reviewed. */
  async reviewQueue(): Promise<AccessView[]> {
    return this.contracts
      .breakGlassForReview()
      .filter((d) => d.holderOrg === this.orgId)
      .map((d) => this.accessView(d));
  }

  async reviewBreakGlass(requestId: string, verdict: 'justified' | 'unjustified'): Promise<void> {
    await this.staffReady();
    const notAfter = this.expiry();
    await this.commit(this.authors.auditor.make('reviewBreakGlass', { requestId, verdict }, { notAfter }), notAfter);
  }

  /** The ledger's consents and access decisions about one of this clinic's patients. */
  async patientLedger(patientId: string): Promise<{ consents: ConsentView[]; accesses: AccessView[] }> {
    const pseudonym = await this.store.pseudonym(patientId);
    const consents = stateEntries<ConsentRecord>(this.contracts, 'consent/')
      .filter((c) => c.patient === pseudonym)
      .map((c) => ({
        consentId: c.consentId,
        patient: c.patient,
        holder: this.orgName(this.holderOfConsent(c)),
        grantee: this.orgName(c.granteeOrg),
        purpose: c.purpose,
        resourceTypes: [...c.resourceTypes],
        start: c.start,
        end: c.end,
        revoked: c.revoked,
        grantedAt: c.grantedAt,
        grantedBy: this.contracts.key(fromHex(c.grantedBy, 32))?.role ?? 'patient',
      }))
      .sort((a, b) => b.grantedAt - a.grantedAt);
    const accesses = stateEntries<AccessDecision>(this.contracts, 'access/')
      .filter((d) => d.patient === pseudonym)
      .sort((a, b) => b.height - a.height || b.index - a.index)
      .map((d) => this.accessView(d));
    return { consents, accesses };
  }

  // ---- the consortium ----------------------------------------------------------------------------------

  async consortium(): Promise<ConsortiumView> {
    const snap = this.snapshot();
    const connected = new Set(this.opts.transport.peers());
    const primary = this.ledger.primaryKey();
    const validators = this.ledger.validators.map((k) => {
      const hex = toHex(k);
      return { name: this.nameOfKey(hex), publicKey: hex, trust: 0, primary: hex === primary, connected: hex === this.id || connected.has(hex) };
    });
    const orgs = stateEntries<{ validator: boolean }>(this.contracts, 'org/');
    const orgIds = JSON.parse(new TextDecoder().decode(this.contracts.snapshot()))
      .filter(([k]: [string]) => k.startsWith('org/'))
      .map(([k]: [string]) => k.slice(4)) as string[];
    const members = orgIds.map((id, i) => ({ name: this.orgName(id), validator: orgs[i]!.validator }));
    const needed = quorumSize(this.contracts.validatorOrgs().length);
    const proposals = (JSON.parse(new TextDecoder().decode(this.contracts.snapshot())) as [string, { adminKey: string; validator: boolean; approvals: string[]; done?: boolean }][])
      .filter(([k, v]) => k.startsWith('proposal/') && !v.done)
      .map(([k, v]) => ({ org: k.slice('proposal/'.length), kind: 'admit' as const, validator: v.validator, publicKey: v.adminKey, approvals: v.approvals.map((o) => this.orgName(o)), needed }));
    const recentBlocks: BlockView[] = [];
    const c = this.ledger.consensus;
    for (let h = snap.ledger.height; c && h >= 1 && recentBlocks.length < 12; h--) {
      const b = c.block(h);
      if (!b) break;
      recentBlocks.push({ height: h, hash: toHex(blockHash(b.header)), time: b.header.time, txCount: b.header.txCount, certified: true, attested: false });
    }
    return {
      validators,
      members,
      view: snap.ledger.view,
      epoch: snap.epoch,
      height: snap.ledger.height,
      recentBlocks,
      proposals,
      relay: snap.relay,
      peers: [...connected].map((p) => ({ name: this.nameOfKey(p), connected: true })),
    };
  }

  /** Proposes admitting a clinic (its tablet's public key); it counts as this clinic's approval. */
  async proposeMember(m: { name: string; publicKey: string; validator: boolean }): Promise<void> {
    const org = m.name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 63);
    let adminKey: Uint8Array;
    try {
      adminKey = fromHex(m.publicKey.trim(), 32);
    } catch {
      throw new NodeError('invalid', 'A tablet\'s public key is 64 hexadecimal characters (it shows it on its set-up screen).');
    }
    const notAfter = this.expiry();
    await this.commit(this.authors.node.make('proposeOrg', { org, adminKey, validator: m.validator }, { notAfter }), notAfter);
  }

  async approveMember(org: string): Promise<void> {
    const notAfter = this.expiry();
    await this.commit(this.authors.node.make('approveOrg', { org }, { notAfter }), notAfter);
  }

  // ---- agreements ---------------------------------------------------------------------------------------

  async agreements(): Promise<AgreementView[]> {
    const now = this.opts.clock.now();
    return stateEntries<AgreementRecord>(this.contracts, 'agreement/')
      .filter((a) => a.orgA === this.orgId || a.orgB === this.orgId)
      .map((a) => {
        const ours = a.orgA === this.orgId;
        const state: AgreementView['state'] = a.ended
          ? 'ended'
          : a.end <= now
            ? 'expired'
            : a.signedA && a.signedB
              ? 'active'
              : ours
                ? 'proposed-by-us'
                : 'awaiting-our-signature';
        return { agreementId: a.agreementId, partner: this.orgName(ours ? a.orgB : a.orgA), purposes: [...a.purposes], end: a.end, state, emergency: a.purposes.includes('ETREAT') };
      })
      .sort((x, y) => (x.agreementId < y.agreementId ? -1 : 1));
  }

  async proposeAgreement(a: { partner: string; purposes: string[]; end: number; emergency?: boolean }): Promise<{ agreementId: string }> {
    const partner = this.orgOfName(a.partner);
    if (!partner || partner === this.orgId) throw new NodeError('not-found', `No other clinic named ${a.partner}.`);
    if (a.purposes.length === 0) throw new NodeError('invalid', 'Choose at least one purpose.');
    const agreementId = `agr-${randomId().slice(0, 16)}`;
    const purposes = [...new Set([...a.purposes, ...(a.emergency ? ['ETREAT'] : [])])].sort();
    const notAfter = this.expiry();
    await this.commit(this.authors.node.make('proposeAgreement', { agreementId, orgA: this.orgId, orgB: partner, purposes, end: a.end }, { notAfter }), notAfter);
    return { agreementId };
  }

  async signAgreement(agreementId: string): Promise<void> {
    const notAfter = this.expiry();
    await this.commit(this.authors.node.make('signAgreement', { agreementId }, { notAfter }), notAfter);
  }

  async endAgreement(agreementId: string): Promise<void> {
    const notAfter = this.expiry();
    await this.commit(this.authors.node.make('endAgreement', { agreementId }, { notAfter }), notAfter);
  }

  // ---- committed blocks ---------------------------------------------------------------------------------

  private onCommitted(c: CommittedBlock): void {
    for (const t of c.txs) {
      if (!t.result.ok) continue;
      // A permit for our records: release exactly what it grants to the requesting clinic.
      const d = decisionOf(this.contracts, t.tx);
      if (d && d.holderOrg === this.orgId && d.decision === 'permit') void this.release(d);
    }
    this.relaySync?.poke();
    this.emit();
  }

  private async release(d: AccessDecision): Promise<void> {
    const patientId = this.patientsByPseudonym.get(d.patient);
    if (!patientId || !this.store.releasePackage) return;
    const items = await this.store.releasePackage(patientId, d.grantedTypes);
    const frame = encodeRelease({ requestId: d.requestId, items });
    for (const peer of this.nodesOf(d.requesterOrg)) this.opts.transport.send(peer, frame);
    const notAfter = Math.min(d.expiresAt, this.expiry());
    const tx = this.authors.node.make(
      'recordRelease',
      { requestId: d.requestId, resourceTypes: d.grantedTypes, count: items.length, digest: releaseDigest(items) },
      { notAfter },
    );
    await this.commit(tx, notAfter).catch((e: unknown) => {
      this.problem = e instanceof Error ? e.message : String(e);
    });
  }

  /** Serves phones on another transport too (the patients' room, a code's enrolment room). */
  attachPhoneLink(t: Transport): () => void {
    this.phoneLinks.push(t);
    const off = t.onMessage((from, bytes) => {
      if (bytes[0] === CHANNEL_PATIENT) this.patients.handle(from, bytes, (reply) => t.send(from, reply));
      else if (bytes[0] === CHANNEL_CONSULT) this.onChat(from, bytes);
    });
    return () => {
      off();
      const i = this.phoneLinks.indexOf(t);
      if (i >= 0) this.phoneLinks.splice(i, 1);
    };
  }

  private onChat(from: PeerId, bytes: Uint8Array): void {
    const m = decodeChat(bytes);
    const c = m ? this.consultsById.get(m.consultId) : undefined;
    if (m && c && c.peer === from) c.session.received('patient', m.text);
  }

  private onFrame(from: PeerId, bytes: Uint8Array): void {
    if (bytes[0] === CHANNEL_PATIENT) {
      this.patients.handle(from, bytes, (reply) => this.opts.transport.send(from, reply));
      return;
    }
    if (bytes[0] === CHANNEL_CONSULT) {
      this.onChat(from, bytes);
      return;
    }
    if (bytes[0] !== CHANNEL_RELEASE) return;
    let message: ReleaseMessage;
    try {
      message = decodeRelease(bytes);
    } catch (e) {
      if (e instanceof ReleaseWireError || (e instanceof Error && e.name === 'CodecError')) return;
      throw e;
    }
    // Only the holding clinic's tablet may answer a request of ours.
    const d = this.contracts.decision(message.requestId);
    if (d && !this.nodesOf(d.holderOrg).includes(from)) return;
    const w = this.waitingReleases.get(message.requestId);
    if (w) {
      this.waitingReleases.delete(message.requestId);
      w.resolve({ from, message });
    } else if (this.earlyReleases.size < MAX_EARLY_RELEASES) {
      // The holder committed the permit before we did: keep it until our own replica has the decision.
      this.earlyReleases.set(message.requestId, { from, message });
    }
  }
}

// ---- helpers ------------------------------------------------------------------------------------------------

function randomUuid(): string {
  return globalThis.crypto.randomUUID();
}

function randomId(): string {
  return toHex(globalThis.crypto.getRandomValues(new Uint8Array(16)));
}

function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.schedule(ms, resolve));
}

/** The (resourceType, id, index) of each entry of a bundle, as the store keys them. */
function bundleResources(bundle: unknown): { resourceType: string; id: string; index: number }[] {
  const entries = (bundle as { entry?: { resource?: { resourceType?: unknown; id?: unknown } }[] } | null)?.entry;
  if (!Array.isArray(entries)) return [];
  const out: { resourceType: string; id: string; index: number }[] = [];
  entries.forEach((e, index) => {
    const r = e?.resource;
    if (r && typeof r.resourceType === 'string' && typeof r.id === 'string') out.push({ resourceType: r.resourceType, id: r.id, index });
  });
  return out;
}

/** The access decision a committed requestAccess transaction produced, if it is one. */
function decisionOf(contracts: HygeiaContracts, tx: Uint8Array): AccessDecision | undefined {
  const requestId = requestIdOf(tx);
  return requestId ? contracts.decision(requestId) : undefined;
}

function requestIdOf(tx: Uint8Array): string | undefined {
  try {
    const d = decodeTx(tx);
    return d.tx.kind === 'requestAccess' ? d.tx.payload.requestId : undefined;
  } catch {
    return undefined;
  }
}

/** Until the contracts expose typed reads by prefix: the committed state's entries under a prefix. */
function stateEntries<T>(contracts: HygeiaContracts, prefix: string): T[] {
  const all = JSON.parse(new TextDecoder().decode(contracts.snapshot())) as [string, T][];
  return all.filter(([k]) => k.startsWith(prefix)).map(([, v]) => v);
}
