/// <reference types="fhir" />
// The clinic tablet's composition root: its records (encrypted FHIR store), its replica of the ledger (the
// contracts under PBFT), its staff keys, and the protocols that use both (anchoring imports, releasing records
// against committed permits, serving phones). Every other subsystem knows only its own job; this is where
// they meet. It runs the same in a page (WebRTC) and in Node (SimNetwork), so tests and the evaluation drive
// the real thing.
import type { Clock, ConsensusEvent, TimerPolicy } from '../consensus/index.ts';
import { HygeiaContracts, decodeTx, type AccessDecision, type ConsentRecord } from '../ledger/contracts/index.ts';
import type { LedgerStore } from '../ledger/store.ts';
import type { PeerId, Transport } from '../net/transport.ts';
import { RecordStore } from '../records/index.ts';
import { fromHex, toHex } from '../util/index.ts';
import { ed25519PublicKey } from '../../../../wasm/index.ts';
import {
  NodeError,
  type AccessRequest,
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
  private readonly received = new Map<string, { holder: string; patient: string; receivedAt: number; resources: fhir4.Resource[] }>();
  /** Pseudonym (as the ledger names a patient of ours) → our patient id. */
  private readonly patientsByPseudonym = new Map<string, string>();
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
  }

  static async start(opts: ClinicNodeOptions): Promise<ClinicNode> {
    const store = await RecordStore.open(`${opts.dbPrefix}-records`, opts.clinicKey);
    const node = new ClinicNode(opts, store);
    await node.ledger.start();
    node.unsubscribers.push(node.ledger.onCommitted((c) => node.onCommitted(c)));
    node.unsubscribers.push(opts.transport.onMessage((from, bytes) => node.onFrame(from, bytes)));
    node.unsubscribers.push(opts.transport.onPeer(() => node.emit()));
    node.status = 'ready';
    void node.registerStaffKeys();
    return node;
  }

  async stop(): Promise<void> {
    for (const u of this.unsubscribers) u();
    this.unsubscribers = [];
    await this.ledger.stop();
    this.store.close();
    this.listeners.clear();
  }

  // ---- the snapshot ------------------------------------------------------------------------------------

  private nameOfKey(keyHex: string): string {
    const org = this.contracts.key(fromHex(keyHex, 32))?.org;
    return org ? this.orgName(org) : `unknown:${keyHex.slice(0, 8)}`;
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
    this.received.set(requestId, { holder: this.orgName(d.holderOrg), patient: d.patient, receivedAt: this.opts.clock.now(), resources: checked.accepted });
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

  /** The received records of every permitted request this tablet made. */
  receivedRecords(): { requestId: string; holder: string; patient: string; receivedAt: number; resources: fhir4.Resource[] }[] {
    return [...this.received].map(([requestId, r]) => ({ requestId, ...r }));
  }

  // ---- committed blocks ---------------------------------------------------------------------------------

  private onCommitted(c: CommittedBlock): void {
    for (const t of c.txs) {
      if (!t.result.ok) continue;
      // A permit for our records: release exactly what it grants to the requesting clinic.
      const d = decisionOf(this.contracts, t.tx);
      if (d && d.holderOrg === this.orgId && d.decision === 'permit') void this.release(d);
    }
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

  private onFrame(from: PeerId, bytes: Uint8Array): void {
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
