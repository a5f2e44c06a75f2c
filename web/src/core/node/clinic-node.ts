/// <reference types="fhir" />
// The clinic tablet's composition root: its records (encrypted FHIR store), its replica of the ledger (the
// contracts under PBFT), its staff keys, and the protocols that use both (anchoring imports, releasing records
// against committed permits, serving phones, consults). Every other subsystem knows only its own job; this is
// where they meet. It runs the same in a page (WebRTC) and in Node (SimNetwork), so tests and the evaluation
// drive the real thing. Its public methods are the ClinicApi the screens and window.hygeia use.
import { ed25519PublicKey, sha256 } from '../../../../wasm/index.ts';
import type { Clock, ConsensusEvent, TimerPolicy } from '../consensus/index.ts';
import { blockHash } from '../ledger/block.ts';
import { EMERGENCY_REASONS, HygeiaContracts, decodeTx } from '../ledger/contracts/index.ts';
import type { LedgerStore } from '../ledger/store.ts';
import type { PeerId, Transport } from '../net/transport.ts';
import { RecordError, RecordStore, type Anchor } from '../records/index.ts';
import { concatBytes, fromHex, toHex } from '../util/index.ts';
import {
  NodeError,
  type AccessRequest,
  type AccessResult,
  type AccessView,
  type AgreementView,
  type BlockView,
  type ClinicSnapshot,
  type ConsentView,
  type ConsortiumView,
  type ConsultSession,
  type ConsultView,
  type GrantedConsent,
  type HeartRateReading,
  type ImportProgress,
  type ImportResult,
  type NodeStatus,
  type PatientChart,
  type PatientQuery,
  type PatientSummary,
  type AlertView,
  type RoundOptions,
  type RoundView,
  type TrustPoint,
  type ReceivedRecords,
} from './api.ts';
import { accessView, agreementView, consentView, newestFirst } from './clinic-views.ts';
import { CHANNEL_CONSULT } from './consult.ts';
import { ConsultDesk } from './consult-desk.ts';
import { contractsGenesis, type Genesis } from './genesis.ts';
import { LedgerService, type CommittedBlock } from './ledger-service.ts';
import { buildProofBundle } from './patient-verify.ts';
import { PatientService, resourcesToWire } from './patient-service.ts';
import { CHANNEL_PATIENT } from './patient-wire.ts';
import { RelaySync, type RelayLedgerClient } from './relay-sync.ts';
import { ReleaseDesk } from './release-desk.ts';
import { LearningDesk } from './learning-desk.ts';
import type { Trainer } from '../fl/index.ts';
import { CHANNEL_RELEASE } from './release-wire.ts';
import { clinicAuthors, type ClinicAuthors } from './staff-keys.ts';

/** How long a requester waits for the holder's release after a permit commits. */
const RELEASE_WAIT_MS = 30_000;
/** Anchors per transaction (the contracts take at most 600 and a transaction at most 64 KiB). */
const ANCHORS_PER_TX = 400;

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
  /** How long a submitted transaction waits to commit before it is sent again, to every validator (default 3 s). */
  readonly resendMs?: number;
  readonly onEvent?: (e: ConsensusEvent) => void;
  /** The relay's ledger endpoint: the node pushes it the committed blocks it lacks. */
  readonly relay?: RelayLedgerClient;
  /** Told of every one-time code, so the page can register it at the relay and open its enrolment room. */
  readonly onEnrolment?: (codeHash: string, expiresAt: number) => void;
  /** Told after a block that changed who is a member (the page's transports re-check their peers). */
  readonly onMembershipChange?: () => void;
  /** Starts this clinic's FL trainer (a Web Worker in a page, a worker_thread in Node); no FL without it. */
  readonly trainer?: () => Promise<Trainer>;
}

export class ClinicNode {
  readonly publicKey: Uint8Array;
  readonly id: string;
  readonly contracts: HygeiaContracts;
  readonly ledger: LedgerService;
  readonly authors: ClinicAuthors;
  readonly phoneDesk: PatientService;
  private readonly releases: ReleaseDesk;
  readonly consultDesk: ConsultDesk;
  private readonly relaySync: RelaySync | null;
  readonly learning: LearningDesk;
  private trustAfter: ((seq: number) => number[] | undefined) | null = null;
  private readonly listeners = new Set<(s: ClinicSnapshot) => void>();
  /** Pseudonym (as the ledger names a patient of ours) → our patient id. */
  private readonly patientsByPseudonym = new Map<string, string>();
  /** Transports phones reach this clinic on (the members' link in Node, the patients' room in a page). */
  private readonly phoneLinks: Transport[] = [];
  private status: NodeStatus = 'starting';
  private problem: string | null = null;
  private unsubscribers: (() => void)[] = [];

  private constructor(
    private readonly opts: ClinicNodeOptions,
    readonly store: RecordStore,
  ) {
    this.publicKey = ed25519PublicKey(opts.seed);
    this.id = toHex(this.publicKey);
    this.authors = clinicAuthors(opts.seed, () => opts.clock.now());
    this.contracts = new HygeiaContracts(contractsGenesis(opts.genesis));
    this.ledger = new LedgerService({
      genesis: opts.genesis,
      seed: opts.seed,
      publicKey: this.publicKey,
      app: this.contracts,
      transport: opts.transport,
      store: opts.ledgerStore,
      clock: opts.clock,
      ...(opts.timers ? { timers: opts.timers } : {}),
      ...(opts.resendMs ? { resendMs: opts.resendMs } : {}),
      isMember: (peer) => this.isMemberNode(peer),
      trustAfter: (seq) => this.trustAfter?.(seq),
      onEvent: (e) => {
        if (e.kind === 'viewChanged' || e.kind === 'stateInstalled') this.emit();
        this.learning?.observe(e, (i) => this.ledger.validatorIds()[i]);
        opts.onEvent?.(e);
      },
    });
    this.learning = new LearningDesk({
      ledger: this.ledger,
      contracts: this.contracts,
      transport: opts.transport,
      clock: opts.clock,
      author: this.authors.node,
      clinic: () => this.orgId,
      store: this.store,
      trainer: opts.trainer ?? (() => Promise.reject(new NodeError('busy', 'This node has no trainer for federated learning.'))),
    });
    this.trustAfter = this.learning.trustAfter();
    this.phoneDesk = new PatientService({
      orgId: () => this.orgId,
      clinicName: () => this.orgName(this.orgId),
      contracts: this.contracts,
      ledger: this.ledger,
      admin: this.authors.node,
      now: () => opts.clock.now(),
      patient: (id) => this.patientLabel(id),
      proofsFor: (pseudonym) => this.proofBundle(pseudonym),
      recordsFor: (pseudonym, device) => this.ownRecords(pseudonym, device),
      ...(opts.onEnrolment ? { onEnrolment: opts.onEnrolment } : {}),
      onConsultAnswer: (from, consultId, accept) => this.consultDesk.answered(from, consultId, accept),
      onConsultEnd: (from, consultId) => this.consultDesk.ended(from, consultId),
    });
    this.releases = new ReleaseDesk({
      orgId: () => this.orgId,
      contracts: this.contracts,
      ledger: this.ledger,
      transport: opts.transport,
      clock: opts.clock,
      node: this.authors.node,
      source: this.store,
      patientOf: async (pseudonym) => this.patientOfPseudonym(pseudonym),
      nodesOf: (org) => this.nodesOf(org),
      keep: (requestId, holder, patient, resources) => this.store.storeReceived(requestId, this.orgName(holder), resources, { patient, receivedAt: opts.clock.now() }),
      onProblem: (m) => this.setProblem(m),
    });
    this.consultDesk = new ConsultDesk({
      orgId: () => this.orgId,
      clinicName: () => this.orgName(this.orgId),
      contracts: this.contracts,
      clock: opts.clock,
      patients: this.phoneDesk,
      links: () => this.phoneLinks,
      patientLabel: (id) => this.patientLabel(id),
      record: async (encounter) => {
        const r = await this.store.put(encounter);
        await this.anchorAll(r.anchor ? [r.anchor] : []);
        return encounter.id!;
      },
    });
    this.relaySync = opts.relay
      ? new RelaySync({
          client: opts.relay,
          height: () => this.ledger.height,
          read: async (from, to) => {
            const out = [];
            for (let h = from; h <= to; h++) {
              const b = this.ledger.consensus.block(h) ?? (await opts.ledgerStore.getBlock(h));
              if (!b) break;
              out.push(b);
            }
            return out;
          },
          onProblem: (m) => this.setProblem(m),
        })
      : null;
  }

  static async start(opts: ClinicNodeOptions): Promise<ClinicNode> {
    const store = await RecordStore.open(`${opts.dbPrefix}-records`, opts.clinicKey);
    const node = new ClinicNode(opts, store);
    node.unsubscribers.push(node.ledger.onCommitted((c) => node.onCommitted(c)));
    await node.ledger.start();
    node.learning.start();
    node.unsubscribers.push(node.attachPhoneLink(opts.transport, true));
    node.unsubscribers.push(opts.transport.onPeer(() => node.emit()));
    node.status = node.contracts.key(node.publicKey) ? 'ready' : 'not-member';
    void node.registerStaffKeys();
    return node;
  }

  async stop(): Promise<void> {
    this.relaySync?.stop();
    this.learning.stop();
    for (const u of this.unsubscribers) u();
    this.unsubscribers = [];
    await this.ledger.stop();
    this.store.close();
    this.listeners.clear();
  }

  // ---- identity and names ---------------------------------------------------------------------------------

  /** This tablet's organisation, as the ledger names it (a later-admitted clinic learns it by syncing). */
  get orgId(): string {
    return this.contracts.key(this.publicKey)?.org ?? this.opts.genesis.clinics.find((c) => c.nodeKey === this.id)?.id ?? '';
  }

  orgName(org: string): string {
    return this.contracts.org(org)?.name ?? this.opts.genesis.clinics.find((c) => c.id === org)?.name ?? org;
  }

  private orgOfName(name: string): string | undefined {
    return this.contracts.orgs().find((o) => (o.name === name || o.id === name) && !o.removed)?.id;
  }

  private nameOfKey(keyHex: string): string {
    let k;
    try {
      k = this.contracts.key(fromHex(keyHex, 32));
    } catch {
      return `unknown:${keyHex.slice(0, 8)}`;
    }
    if (!k) return `unknown:${keyHex.slice(0, 8)}`;
    if (k.role === 'patient' || k.role === 'guardian') return `patient:${keyHex.slice(0, 8)}`;
    return this.orgName(k.org);
  }

  /** A peer is a member node when the ledger names its key as the node key of a member organisation. */
  isMemberNode(peer: PeerId): boolean {
    return this.contracts.orgs().some((o) => o.nodeKey === peer && !o.removed);
  }

  /** Every member node's key (what isMemberNode admits), for a transport that must answer without asking. */
  memberNodeKeys(): PeerId[] {
    return this.contracts
      .orgs()
      .filter((o) => !o.removed)
      .map((o) => o.nodeKey);
  }

  /** Every phone key isPatientDevice admits, for a transport that must answer without asking. */
  patientDeviceKeys(): PeerId[] {
    return this.contracts
      .orgs()
      .flatMap((o) => this.contracts.keysOf(o.id))
      .filter((k) => !k.revoked && (k.role === 'patient' || k.role === 'guardian') && this.contracts.isMember(k.org))
      .map((k) => k.key);
  }

  /** A patient's or guardian's phone that a member clinic registered on the ledger (and did not revoke). */
  isPatientDevice(peer: PeerId): boolean {
    let k;
    try {
      k = this.contracts.key(fromHex(peer, 32));
    } catch {
      return false;
    }
    return k !== undefined && !k.revoked && (k.role === 'patient' || k.role === 'guardian') && this.contracts.isMember(k.org);
  }

  /** A plain-words problem for the status line (the page's own wiring reports through it too). */
  reportProblem(message: string): void {
    this.setProblem(message);
  }

  /** The peer ids (node keys) of an organisation's tablets. */
  private nodesOf(org: string): PeerId[] {
    const o = this.contracts.org(org);
    return o && !o.removed ? [o.nodeKey] : [];
  }

  // ---- the snapshot ------------------------------------------------------------------------------------

  snapshot(): ClinicSnapshot {
    const primary = this.ledger.primaryKey();
    const c = this.ledger.consensus;
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
      relay: 'relayState' in this.opts.transport ? (this.opts.transport as unknown as { relayState: ClinicSnapshot['relay'] }).relayState : 'idle',
      problem: this.problem,
      validator: c.isValidator,
      primary: primary ? this.nameOfKey(primary) : null,
      epoch: c.epoch.number,
      attestedHeight: 0,
      pendingTransactions: this.ledger.pendingCount,
      interruptedImports: this.store.interruptedImports().map((i) => ({ startedAt: i.startedAt, entries: i.entries, label: i.label })),
      openAlerts: this.learning.alerts().filter((a) => !a.reported).length,
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

  private setProblem(m: string | null): void {
    if (m === this.problem) return;
    this.problem = m;
    this.emit();
  }

  // ---- transactions ---------------------------------------------------------------------------------------

  /** Submits a transaction and resolves once it is committed; a rejection is a NodeError naming the reason. */
  private async commit(tx: Uint8Array): Promise<void> {
    const o = await this.ledger.submit(tx);
    if (!o.ok) throw new NodeError('rejected', `The ledger refused it (${o.reason}).`);
  }

  /** Registers this tablet's clinician and auditor keys under its org, once. */
  private async registerStaffKeys(): Promise<void> {
    const org = this.orgId;
    if (!org) return;
    for (const role of ['clinician', 'auditor'] as const) {
      const author = this.authors[role];
      if (this.contracts.key(author.publicKey)) continue;
      try {
        await this.commit(this.authors.node.make('registerKey', { key: author.publicKey, org, role, subject: `${org}:${role}` }));
      } catch (e) {
        // Another start of this tablet may have registered it first.
        if (!this.contracts.key(author.publicKey)) this.setProblem(e instanceof Error ? e.message : String(e));
      }
    }
    this.emit();
  }

  private async staffReady(): Promise<void> {
    if (this.contracts.key(this.authors.clinician.publicKey) && this.contracts.key(this.authors.auditor.publicKey)) return;
    await this.registerStaffKeys();
    if (!this.contracts.key(this.authors.clinician.publicKey)) throw new NodeError('offline', "This tablet's staff keys are not on the ledger yet.");
  }

  // ---- records ------------------------------------------------------------------------------------------

  async importBundle(bundle: unknown, opts: { onProgress?: (p: ImportProgress) => void } = {}): Promise<ImportResult> {
    const report = await this.store.importBundle(bundle, { onProgress: (p) => opts.onProgress?.(p) });
    for (const id of report.patients) this.patientsByPseudonym.set(this.store.pseudonym(id), id);
    const anchored = await this.anchorAll(report.anchors, opts.onProgress);
    this.emit();
    return { imported: report.imported, rejected: report.rejected.map((r) => ({ ...r })), anchored, patients: report.patients };
  }

  /** Imports a closed page interrupted: the screens show them once, then they are dismissed. */
  async dismissInterruptedImports(): Promise<void> {
    await this.store.dismissInterruptedImports();
    this.emit();
  }

  /** Anchors new record versions on the ledger in batched transactions; returns how many committed. */
  private async anchorAll(anchors: readonly Anchor[], onProgress?: (p: ImportProgress) => void): Promise<number> {
    const todo = anchors.filter((a) => {
      const on = this.contracts.anchorOf(this.orgId, a.anchorId);
      return !on || on.version < a.version;
    });
    let done = 0;
    onProgress?.({ phase: 'anchoring', done, total: todo.length });
    const batches: Anchor[][] = [];
    for (let i = 0; i < todo.length; i += ANCHORS_PER_TX) batches.push(todo.slice(i, i + ANCHORS_PER_TX));
    const outcomes = await Promise.allSettled(
      batches.map(async (batch) => {
        await this.commit(this.authors.node.make('anchorBatch', { anchors: batch.map((a) => ({ record: a.anchorId, version: a.version, commitment: a.commitment })) }));
        done += batch.length;
        onProgress?.({ phase: 'anchoring', done, total: todo.length });
      }),
    );
    const failed = outcomes.reduce((n, o, i) => n + (o.status === 'rejected' ? batches[i]!.length : 0), 0);
    if (failed > 0) this.setProblem(`${failed} of ${todo.length} record anchors did not commit; they will be retried at the next start.`);
    return todo.length - failed;
  }

  /** The patients this clinic holds, searchable by name, birth date and identifier (decrypted here only). */
  /** This clinic's patients (decrypted here), each with the phones the ledger holds live keys for. */
  async patients(query: PatientQuery = {}): Promise<PatientSummary[]> {
    const devices = new Map<string, number>();
    for (const k of this.contracts.keysOf(this.orgId)) {
      if ((k.role === 'patient' || k.role === 'guardian') && !k.revoked && k.subject) devices.set(k.subject, (devices.get(k.subject) ?? 0) + 1);
    }
    return (await this.store.patients(query)).map((p) => ({ ...p, linkedDevices: devices.get(this.store.pseudonym(p.id)) ?? 0 }));
  }

  async patientChart(patientId: string): Promise<PatientChart> {
    try {
      return await this.store.patientChart(patientId);
    } catch (e) {
      if (e instanceof RecordError && (e.reason === 'not-found' || e.reason === 'erased')) throw new NodeError('not-found', 'This clinic holds no such patient.');
      throw e;
    }
  }

  /**
   * Erases a patient's records here (crypto-shredding: their keys and every row go) and records the erasure on
   * the ledger, which answers any erasure request the patient made.
   */
  async erasePatient(patientId: string): Promise<void> {
    const pseudonym = this.store.pseudonym(patientId);
    await this.store.erasePatient(patientId);
    await this.commit(this.authors.node.make('confirmErasure', { patient: pseudonym }));
    this.emit();
  }

  /** Erasure requests patients made from their phones that this clinic has not carried out yet. */
  async erasureRequests(): Promise<{ patientId: string; name: string; requestedAt: number }[]> {
    const out: { patientId: string; name: string; requestedAt: number }[] = [];
    for (const r of this.contracts.erasureRequests(this.orgId, true)) {
      const patientId = await this.patientOfPseudonym(r.patient);
      if (!patientId) continue;
      const s = await this.store.patientSummary(patientId);
      out.push({ patientId, name: s?.name ?? 'Patient', requestedAt: r.requestedAt });
    }
    return out;
  }

  private async patientOfPseudonym(pseudonym: string): Promise<string | null> {
    const known = this.patientsByPseudonym.get(pseudonym);
    if (known) return known;
    // After a restart: find the patient among ours (pseudonyms are keyed hashes, so compute and compare).
    for (const p of await this.store.patients({})) {
      const ps = this.store.pseudonym(p.id);
      this.patientsByPseudonym.set(ps, p.id);
      if (ps === pseudonym) return p.id;
    }
    return null;
  }

  private async patientLabel(patientId: string): Promise<{ pseudonym: string; displayName: string } | null> {
    let p: fhir4.Patient;
    try {
      p = await this.store.read<fhir4.Patient>('Patient', patientId);
    } catch {
      return null;
    }
    const pseudonym = this.store.pseudonym(patientId);
    this.patientsByPseudonym.set(pseudonym, patientId);
    const n = p.name?.[0];
    const displayName = n ? [...(n.given ?? []), n.family ?? ''].join(' ').trim() : 'Patient';
    return { pseudonym, displayName };
  }

  // ---- phones -------------------------------------------------------------------------------------------

  /** Serves phones on a transport (the patients' room, a code's enrolment room); returns the detach. */
  attachPhoneLink(t: Transport, members = false): () => void {
    this.phoneLinks.push(t);
    const off = t.onMessage((from, bytes) => {
      if (bytes[0] === CHANNEL_PATIENT) this.phoneDesk.handle(from, bytes, (reply) => t.send(from, reply));
      else if (bytes[0] === CHANNEL_CONSULT) this.consultDesk.chat(from, bytes);
      else if (members && bytes[0] === CHANNEL_RELEASE) this.releases.onFrame(from, bytes);
    });
    return () => {
      off();
      const i = this.phoneLinks.indexOf(t);
      if (i >= 0) this.phoneLinks.splice(i, 1);
    };
  }

  /** A one-time code (shown as text and QR code) that links a phone to this patient. */
  async enrolPatient(patientId: string, opts: { guardian?: boolean } = {}): Promise<{ code: string; expiresAt: number }> {
    if (!(await this.patientLabel(patientId))) throw new NodeError('not-found', 'This clinic holds no such patient.');
    const { code, expiresAt } = this.phoneDesk.enrol(patientId, opts.guardian ? 'guardian' : 'patient');
    return { code, expiresAt };
  }

  /**
   * The ledger's entries about one patient with their proofs, for the phone to check: at the tip, once this
   * node holds its attestation (a fresh block is attested within moments).
   */
  private async proofBundle(pseudonym: string): Promise<Uint8Array> {
    for (let i = 0; i < 100; i++) {
      const b = buildProofBundle(this.contracts, this.ledger.consensus, pseudonym);
      if (b) return b;
      await sleep(this.opts.clock, 50);
    }
    throw new NodeError('busy', "The ledger's latest block is not attested yet; try again in a moment.");
  }

  /** The patient's own records for their phone; the release is recorded on the ledger (selfAccess). */
  private async ownRecords(pseudonym: string, device: PeerId): Promise<Uint8Array[]> {
    const patientId = await this.patientOfPseudonym(pseudonym);
    if (!patientId) return [];
    const resources = await this.store.search({ patient: patientId });
    const wire = resourcesToWire(resources);
    const types = [...new Set(resources.map((r) => r.resourceType))].sort();
    const digest = sha256(concatBytes(...wire.map((w) => sha256(w))));
    await this.commit(this.authors.node.make('selfAccess', { patient: pseudonym, device: fromHex(device, 32), resourceTypes: types, count: resources.length, digest }));
    return wire;
  }

  // ---- access -------------------------------------------------------------------------------------------

  /** How many record commitments a clinic (this one by default; by name or id) has anchored on the committed ledger. */
  async anchoredRecords(holder?: string): Promise<number> {
    const org = holder === undefined ? this.orgId : this.orgOfName(holder);
    if (org === undefined) throw new NodeError('not-found', `No clinic named ${holder} is a member.`);
    return this.contracts.anchorCount(org);
  }

  /** Live consents on the ledger that name this clinic as grantee. */
  async consentsGranted(): Promise<GrantedConsent[]> {
    return this.contracts.consentsByGrantee(this.orgId, this.opts.clock.now()).map((c) => ({
      consentId: c.consentId,
      patient: c.patient,
      holder: this.orgName(c.holder),
      purpose: c.purpose,
      resourceTypes: [...c.resourceTypes],
    }));
  }

  async requestAccess(req: AccessRequest): Promise<AccessResult> {
    const holderOrg = this.orgOfName(req.holder);
    if (!holderOrg) throw new NodeError('not-found', `No clinic named ${req.holder} is a member.`);
    if (!Array.isArray(req.resourceTypes) || req.resourceTypes.length === 0) throw new NodeError('invalid', 'Choose at least one kind of record.');
    const breakGlass = req.breakGlass === true;
    const emergencyReason = breakGlass ? (req.reason ?? '') : '';
    if (breakGlass && !(EMERGENCY_REASONS as readonly string[]).includes(emergencyReason)) {
      throw new NodeError('invalid', `Break-glass access needs one of these reasons: ${EMERGENCY_REASONS.join(', ')}.`);
    }
    await this.staffReady();
    const requestId = globalThis.crypto.randomUUID();
    const released = this.releases.expect(requestId);
    const tx = this.authors.clinician.make('requestAccess', {
      requestId,
      requesterOrg: this.orgId,
      patient: req.patient,
      holderOrg,
      resourceTypes: [...req.resourceTypes],
      purpose: breakGlass ? 'ETREAT' : req.purpose,
      breakGlass,
      emergencyReason,
    });
    try {
      await this.commit(tx);
    } catch (e) {
      this.releases.forget(requestId);
      throw e;
    }
    const d = this.contracts.decision(requestId);
    if (!d) throw new NodeError('rejected', 'The ledger holds no decision for this request.');
    if (d.decision !== 'permit') {
      this.releases.forget(requestId);
      return { decision: 'deny', reason: d.reason, resources: 0, requestId, grantedTypes: [] };
    }
    const got = await Promise.race([released, sleep(this.opts.clock, RELEASE_WAIT_MS).then(() => null)]);
    this.releases.forget(requestId);
    if (!got) return { decision: 'permit', reason: d.reason, resources: 0, requestId, grantedTypes: d.grantedTypes };
    const { kept } = await this.releases.accept(d, got.message);
    return { decision: 'permit', reason: d.reason, resources: kept, requestId, grantedTypes: d.grantedTypes };
  }

  /** The records received (and verified) for every permitted request this tablet made. */
  async received(): Promise<ReceivedRecords[]> {
    return (await this.store.received()).sort((a, b) => b.receivedAt - a.receivedAt);
  }

  private view = (org: string): string => this.orgName(org);

  /** Access decisions this clinic is party to (as requester or holder), newest first. */
  async accessLog(): Promise<AccessView[]> {
    const mine = new Map([...this.contracts.decisionsByRequester(this.orgId), ...this.contracts.decisionsByHolder(this.orgId)].map((d) => [d.requestId, d]));
    return newestFirst([...mine.values()]).map((d) => accessView(this.contracts, d, this.view));
  }

  /** Break-glass accesses to this clinic's records that no auditor of ours has reviewed. */
  async reviewQueue(): Promise<AccessView[]> {
    return this.contracts.breakGlassReviewQueue(this.orgId).map((d) => accessView(this.contracts, d, this.view));
  }

  async reviewBreakGlass(requestId: string, verdict: 'justified' | 'unjustified'): Promise<void> {
    await this.staffReady();
    await this.commit(this.authors.auditor.make('reviewBreakGlass', { requestId, verdict }));
  }

  /** The ledger's consents and access decisions about one of this clinic's patients. */
  async patientLedger(patientId: string): Promise<{ consents: ConsentView[]; accesses: AccessView[] }> {
    const pseudonym = await this.store.pseudonym(patientId);
    return {
      consents: this.contracts
        .consentsByPatient(pseudonym)
        .map((c) => consentView(this.contracts, c, this.view))
        .sort((a, b) => b.grantedAt - a.grantedAt),
      accesses: newestFirst(this.contracts.decisionsByPatient(pseudonym)).map((d) => accessView(this.contracts, d, this.view)),
    };
  }

  // ---- consults and wearables --------------------------------------------------------------------------

  startConsult(patientId: string, opts: { media: MediaStream | null }): Promise<ConsultSession> {
    return this.consultDesk.start(patientId, opts.media);
  }

  async consults(): Promise<ConsultView[]> {
    return this.consultDesk.list();
  }

  /** Heart-rate readings (a wearable's) as FHIR Observations (LOINC 8867-4) in the patient's record, anchored. */
  async recordHeartRate(patientId: string, readings: HeartRateReading[]): Promise<{ stored: number }> {
    if (!(await this.patientLabel(patientId))) throw new NodeError('not-found', 'This clinic holds no such patient.');
    const observations: fhir4.Observation[] = readings
      .filter((r) => Number.isFinite(r.bpm) && r.bpm > 0 && r.bpm < 300 && Number.isFinite(r.time))
      .map((r) => ({
        resourceType: 'Observation',
        id: globalThis.crypto.randomUUID(),
        status: 'final',
        category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs', display: 'Vital Signs' }] }],
        code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }], text: 'Heart rate' },
        subject: { reference: `Patient/${patientId}` },
        effectiveDateTime: new Date(r.time).toISOString(),
        valueQuantity: { value: Math.round(r.bpm), unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
      }));
    if (observations.length === 0) return { stored: 0 };
    const results = await this.store.putAll(observations);
    await this.anchorAll(results.flatMap((r) => (r.anchor ? [r.anchor] : [])));
    this.emit();
    return { stored: observations.length };
  }

  // ---- the consortium ----------------------------------------------------------------------------------

  async consortium(): Promise<ConsortiumView> {
    const snap = this.snapshot();
    const connected = new Set(this.opts.transport.peers());
    const primary = this.ledger.primaryKey();
    const validators = this.ledger.validatorIds().map((hex) => ({
      name: this.nameOfKey(hex),
      publicKey: hex,
      trust: this.trustOfKey(hex),
      primary: hex === primary,
      connected: hex === this.id || connected.has(hex),
    }));
    const recentBlocks: BlockView[] = [];
    for (let h = snap.ledger.height; h >= 1 && recentBlocks.length < 12; h--) {
      const b = this.ledger.consensus.block(h);
      if (!b) break;
      recentBlocks.push({ height: h, hash: toHex(blockHash(b.header)), time: b.header.time, txCount: b.header.txCount, certified: true, attested: false });
    }
    return {
      validators,
      members: this.contracts
        .orgs()
        .filter((o) => !o.removed)
        .map((o) => ({ name: o.name, validator: o.validator })),
      view: snap.ledger.view,
      epoch: snap.epoch,
      height: snap.ledger.height,
      recentBlocks,
      proposals: this.contracts.membershipProposals().map((p) => ({
        org: p.org,
        kind: p.kind,
        validator: p.validator,
        publicKey: p.nodeKey,
        approvals: p.approvals.map((o) => this.orgName(o)),
        needed: p.needed,
      })),
      relay: snap.relay,
      peers: [...connected].map((p) => ({ name: this.nameOfKey(p), connected: true })),
    };
  }

  private trustOfKey(hex: string): number {
    const org = this.contracts.orgs().find((o) => o.nodeKey === hex)?.id;
    return org ? this.contracts.reports.trust(org, this.opts.clock.now()) : 0;
  }

  // ---- the AI security layer -----------------------------------------------------------------------------

  startRound(o: RoundOptions): Promise<RoundView> {
    return this.learning.startRound(o);
  }

  /** Rounds this clinic is eligible for are joined as they open; this returns the one asked for. */
  async joinRound(roundId: string): Promise<RoundView> {
    const r = this.learning.rounds().find((x) => x.roundId === roundId);
    if (!r) throw new NodeError('not-found', 'No such round on the ledger.');
    return r;
  }

  async rounds(): Promise<RoundView[]> {
    return this.learning.rounds();
  }

  async alerts(): Promise<AlertView[]> {
    return this.learning.alerts();
  }

  async trustHistory(): Promise<TrustPoint[]> {
    return this.learning.trustHistory();
  }

  /** Proposes admitting a clinic (its tablet's public key); it counts as this clinic's approval. */
  async proposeMember(m: { name: string; publicKey: string; validator: boolean }): Promise<void> {
    const org = m.name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 63);
    if (!org) throw new NodeError('invalid', 'Give the clinic a name with letters or digits.');
    let adminKey: Uint8Array;
    try {
      adminKey = fromHex(m.publicKey.trim(), 32);
    } catch {
      throw new NodeError('invalid', "A tablet's public key is 64 hexadecimal characters (it shows it on its set-up screen).");
    }
    await this.commit(this.authors.node.make('proposeOrg', { org, name: m.name.trim().slice(0, 200), adminKey, validator: m.validator }));
  }

  async approveMember(org: string): Promise<void> {
    await this.commit(this.authors.node.make('approveOrg', { org }));
  }

  async proposeRemoval(org: string): Promise<void> {
    await this.commit(this.authors.node.make('proposeRemoval', { org: this.orgOfName(org) ?? org }));
  }

  async approveRemoval(org: string): Promise<void> {
    await this.commit(this.authors.node.make('approveRemoval', { org: this.orgOfName(org) ?? org }));
  }

  // ---- agreements ---------------------------------------------------------------------------------------

  async agreements(): Promise<AgreementView[]> {
    const now = this.opts.clock.now();
    return this.contracts
      .agreementsOf(this.orgId)
      .map((a) => agreementView(a, this.orgId, now, this.view))
      .sort((x, y) => (x.agreementId < y.agreementId ? -1 : 1));
  }

  async proposeAgreement(a: { partner: string; purposes: string[]; end: number; emergency?: boolean }): Promise<{ agreementId: string }> {
    const partner = this.orgOfName(a.partner);
    if (!partner || partner === this.orgId) throw new NodeError('not-found', `No other clinic named ${a.partner}.`);
    if (a.purposes.length === 0) throw new NodeError('invalid', 'Choose at least one purpose.');
    const agreementId = `agr-${globalThis.crypto.randomUUID()}`;
    await this.commit(
      this.authors.node.make('proposeAgreement', {
        agreementId,
        orgA: this.orgId,
        orgB: partner,
        purposes: [...new Set(a.purposes)].sort(),
        end: a.end,
        emergency: a.emergency === true,
      }),
    );
    return { agreementId };
  }

  async signAgreement(agreementId: string): Promise<void> {
    await this.commit(this.authors.node.make('signAgreement', { agreementId }));
  }

  async endAgreement(agreementId: string): Promise<void> {
    await this.commit(this.authors.node.make('endAgreement', { agreementId }));
  }

  // ---- committed blocks ---------------------------------------------------------------------------------

  private onCommitted(c: CommittedBlock): void {
    for (const t of c.txs) {
      if (!t.result.ok) continue;
      const requestId = requestIdOf(t.tx);
      const d = requestId ? this.contracts.decision(requestId) : undefined;
      // A permit for our records: release exactly what it grants to the requesting clinic.
      if (d && d.holderOrg === this.orgId && d.decision === 'permit') void this.releases.release(d);
    }
    if (this.status === 'not-member' && this.contracts.key(this.publicKey)) this.status = 'ready';
    if (c.txs.some((t) => t.result.ok && MEMBERSHIP_KINDS.has(kindOf(t.tx)))) this.opts.onMembershipChange?.();
    this.relaySync?.poke();
    this.emit();
  }
}

// ---- helpers ------------------------------------------------------------------------------------------------

function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.schedule(ms, resolve));
}

/** Transactions after which the transports must re-check who may connect. */
const MEMBERSHIP_KINDS = new Set(['registerKey', 'revokeKey', 'approveOrg', 'approveRemoval', 'proposeOrg', 'proposeRemoval']);

function kindOf(tx: Uint8Array): string {
  try {
    return decodeTx(tx).tx.kind;
  } catch {
    return '';
  }
}

function requestIdOf(tx: Uint8Array): string | undefined {
  try {
    const d = decodeTx(tx);
    return d.tx.kind === 'requestAccess' ? d.tx.payload.requestId : undefined;
  } catch {
    return undefined;
  }
}
