/// <reference types="fhir" />
// The patient's phone: a key made on the device, linked to the patient's record at a clinic by a one-time code;
// consents granted and revoked by transactions the phone signs itself (the clinic only carries them to the
// ledger); and the audit trail of every access to the patient's records, each entry checked on the phone
// against the ledger's proofs. The phone holds no patient data but what its clinics release to it.
import { openDB, type IDBPDatabase } from 'idb';
import { Ed25519Signer, ed25519PublicKey } from '../../../../wasm/index.ts';
import { TxAuthor, type AccessDecision, type ConsentRecord } from '../ledger/contracts/index.ts';
import type { PeerId, Transport } from '../net/transport.ts';
import { decodeOrNull } from '../codec/index.ts';
import { toHex } from '../util/index.ts';
import {
  NodeError,
  type AuditEntryView,
  type ConsentView,
  type ConsultSession,
  type ConsultView,
  type PatientApi,
  type PatientLink,
  type PatientSnapshot,
  type PurposeOfUse,
} from './api.ts';
import type { Genesis } from './genesis.ts';
import { decodeProofBundle, type ProofBundle } from './patient-proofs.ts';
import { enrolmentCodeHash } from './patient-service.ts';
import { consentViewOf } from './clinic-views.ts';
import { CHANNEL_CONSULT, LiveConsult, decodeChat, type MediaLink } from './consult.ts';
import { CHANNEL_PATIENT, PatientMsg, PatientWireError, decodePatientMessage, encodePatientMessage, normaliseEnrolmentCode, type PatientMessage } from './patient-wire.ts';

const REQUEST_TIMEOUT_MS = 20_000;

/** How the phone reaches clinics: its main link (the patients' room) and, for linking, a code's enrolment room. */
export interface PhoneNetwork {
  readonly main: Transport;
  enrolment(codeHash: string): Promise<{ transport: Transport; close(): Promise<void> }>;
}

/** Checks a proof bundle from a clinic: which entries this phone verified itself. */
export type BundleVerifier = (bundle: ProofBundle, pseudonym: string) => { verifiedKeys: Set<string>; height: number; headHash: string; conflict?: boolean; complete?: boolean };

export interface PatientClientOptions {
  readonly genesis: Genesis;
  readonly seed: Uint8Array;
  readonly network: PhoneNetwork;
  /** IndexedDB name for the phone's links (not secret: clinic names and pseudonyms). */
  readonly dbName: string;
  readonly now?: () => number;
  readonly verify: BundleVerifier;
}

interface Waiting {
  readonly resolve: (m: PatientMessage) => void;
  readonly reject: (e: Error) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

export class PatientClient implements PatientApi {
  readonly publicKey: string;
  private readonly author: TxAuthor;
  private links: PatientLink[] = [];
  private stopped = false;
  private readonly waiting = new Map<number, Waiting>();
  private readonly listeners = new Set<(s: PatientSnapshot) => void>();
  private nextId = 1;
  private ledger = { height: 0, headHash: '' };
  private problem: string | null = null;
  private consultInvite: PatientSnapshot['consultInvite'] = null;
  /** Who sent the pending invitation (a clinic's node key). */
  private inviter: PeerId | null = null;
  private readonly consultsById = new Map<string, { session: LiveConsult; view: ConsultView; peer: PeerId }>();
  private readonly unsubscribe: () => void;

  private constructor(
    private readonly opts: PatientClientOptions,
    private readonly db: IDBPDatabase,
  ) {
    this.publicKey = toHex(ed25519PublicKey(opts.seed));
    this.author = new TxAuthor(new Ed25519Signer(opts.seed), { now: () => this.now() });
    this.unsubscribe = this.listen(opts.network.main);
    opts.network.main.onPeer(() => this.emit());
  }

  static async start(opts: PatientClientOptions): Promise<PatientClient> {
    const db = await openDB(opts.dbName, 1, {
      upgrade(d) {
        d.createObjectStore('links');
      },
    });
    const c = new PatientClient(opts, db);
    c.links = ((await db.getAll('links')) as PatientLink[]).sort((a, b) => a.linkedAt - b.linkedAt);
    return c;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe();
    for (const w of this.waiting.values()) {
      clearTimeout(w.timer);
      w.reject(new NodeError('offline', 'The phone app stopped.'));
    }
    this.waiting.clear();
    this.db.close();
    this.listeners.clear();
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  // ---- the snapshot ------------------------------------------------------------------------------------

  private clinicName(key: PeerId): string {
    return this.opts.genesis.clinics.find((c) => c.nodeKey === key)?.name ?? `peer:${key.slice(0, 8)}`;
  }

  snapshot(): PatientSnapshot {
    const peers = this.opts.network.main.peers();
    return {
      role: 'patient',
      name: this.links[0]?.displayName ?? 'Patient',
      peers: peers.map((p) => this.clinicName(p)).sort(),
      ledger: { height: this.ledger.height, headHash: this.ledger.headHash, view: 0, validators: this.opts.genesis.clinics.filter((c) => c.validator).map((c) => c.name) },
      status: this.links.length === 0 ? 'ready' : peers.length === 0 ? 'offline' : 'ready',
      publicKey: this.publicKey,
      relay: 'idle',
      problem: this.problem,
      links: [...this.links],
      consultInvite: this.consultInvite,
    };
  }

  subscribe(fn: (s: PatientSnapshot) => void): () => void {
    this.listeners.add(fn);
    fn(this.snapshot());
    return () => this.listeners.delete(fn);
  }

  private emit(): void {
    const s = this.snapshot();
    for (const l of this.listeners) l(s);
  }

  // ---- requests over channel L ----------------------------------------------------------------------------

  private listen(t: Transport): () => void {
    return t.onMessage((from, bytes) => {
      if (bytes[0] === CHANNEL_CONSULT) {
        const chat = decodeChat(bytes);
        const c = chat ? this.consultsById.get(chat.consultId) : undefined;
        if (chat && c && c.peer === from) c.session.received(c.view.clinic, chat.text);
        return;
      }
      if (bytes[0] !== CHANNEL_PATIENT) return;
      const m = decodeOrNull(decodePatientMessage, bytes, PatientWireError);
      if (m === null) return;
      if (m.type === PatientMsg.ConsultInvite) {
        // Only a clinic's tablet may invite; the name shown is the genesis name of the key that sent it.
        if (!this.opts.genesis.clinics.some((c) => c.nodeKey === from)) return;
        this.consultInvite = { consultId: m.consultId, clinic: this.clinicName(from), startedAt: this.now() };
        this.inviter = from;
        this.emit();
        return;
      }
      if (m.type === PatientMsg.ConsultEnd) {
        if (this.consultInvite?.consultId === m.consultId) {
          this.consultInvite = null;
          this.inviter = null;
        }
        const c = this.consultsById.get(m.consultId);
        if (c && c.peer === from) void c.session.end();
        this.emit();
        return;
      }
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      clearTimeout(w.timer);
      // A reply only counts from a clinic's node key (checked by the caller against who it asked).
      w.resolve(Object.assign(m, { from }));
    });
  }

  private request(t: Transport, peer: PeerId, make: (id: number) => PatientMessage): Promise<PatientMessage & { from?: PeerId }> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new NodeError('timeout', 'The clinic did not answer in time.'));
      }, REQUEST_TIMEOUT_MS);
      this.waiting.set(id, {
        resolve: (m) => (m.type === PatientMsg.Failure ? reject(new NodeError(failureCode(m.code), m.message)) : resolve(m)),
        reject,
        timer,
      });
      t.send(peer, encodePatientMessage(make(id)));
    });
  }

  /** The connected tablets of a linked clinic (its node keys as the genesis names them). */
  private clinicPeers(org: string): PeerId[] {
    const keys = new Set(this.opts.genesis.clinics.filter((c) => c.id === org).map((c) => c.nodeKey));
    return this.opts.network.main.peers().filter((p) => keys.has(p));
  }

  /**
   * The connected tablets of a clinic, waiting a little for one: right after linking, or after the phone woke
   * up, the relay admits it to the patients' room and the link to a tablet is still being made.
   */
  private async reachable(org: string, waitMs = 15_000): Promise<PeerId[]> {
    const until = Date.now() + waitMs;
    let peers = this.clinicPeers(org);
    while (peers.length === 0 && Date.now() < until && !this.stopped) {
      await new Promise((r) => setTimeout(r, 100));
      peers = this.clinicPeers(org);
    }
    return peers;
  }

  private async ask(link: PatientLink, make: (id: number) => PatientMessage): Promise<PatientMessage> {
    const org = this.orgOf(link.clinic);
    const peers = await this.reachable(org);
    if (peers.length === 0) throw new NodeError('offline', `${link.clinic} is not reachable right now.`);
    return this.request(this.opts.network.main, peers[0]!, make);
  }

  private orgOf(name: string): string {
    const c = this.opts.genesis.clinics.find((x) => x.name === name || x.id === name);
    if (!c) throw new NodeError('not-found', `No clinic named ${name}.`);
    return c.id;
  }

  private linkFor(clinic?: string): PatientLink {
    const l = clinic === undefined ? this.links[0] : this.links.find((x) => x.clinic === clinic || this.orgOf(x.clinic) === clinic);
    if (!l) throw new NodeError('not-linked', 'Link this phone to your clinic first.');
    return l;
  }

  // ---- linking ------------------------------------------------------------------------------------------

  async link(code: string): Promise<PatientLink> {
    const normalised = normaliseEnrolmentCode(code);
    if (!normalised) throw new NodeError('bad-code', 'That does not look like a clinic code (10 letters and digits).');
    const room = await this.opts.network.enrolment(enrolmentCodeHash(normalised));
    const unlisten = room.transport === this.opts.network.main ? () => {} : this.listen(room.transport);
    try {
      const clinics = new Set(this.opts.genesis.clinics.map((c) => c.nodeKey));
      const deadline = this.now() + REQUEST_TIMEOUT_MS;
      let peers: PeerId[] = [];
      while ((peers = room.transport.peers().filter((p) => clinics.has(p))).length === 0) {
        if (this.now() > deadline) throw new NodeError('offline', 'The clinic that gave this code cannot be reached.');
        await new Promise((r) => setTimeout(r, 100));
      }
      const replies = await Promise.allSettled(peers.map((p) => this.request(room.transport, p, (id) => ({ type: PatientMsg.LinkRequest, id, code }))));
      const ok = replies.find((r): r is PromiseFulfilledResult<PatientMessage & { from?: PeerId }> => r.status === 'fulfilled' && r.value.type === PatientMsg.LinkReply);
      if (!ok) {
        const first = replies.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        throw first?.reason instanceof Error ? first.reason : new NodeError('bad-code', 'No clinic accepted that code.');
      }
      const m = ok.value as Extract<PatientMessage, { type: typeof PatientMsg.LinkReply }> & { from?: PeerId };
      // The reply must come from the node key of the clinic it names.
      const named = this.opts.genesis.clinics.find((c) => c.id === m.org);
      if (!named || named.nodeKey !== m.from) throw new NodeError('invalid', 'A device that is not the clinic answered the link.');
      const link: PatientLink = { clinic: named.name, pseudonym: m.pseudonym, displayName: m.displayName, role: m.role, linkedAt: this.now() };
      await this.db.put('links', link, `${m.org}|${m.pseudonym}`);
      this.links = [...this.links.filter((l) => !(l.clinic === link.clinic && l.pseudonym === link.pseudonym)), link];
      this.emit();
      return link;
    } finally {
      unlisten();
      await room.close();
    }
  }

  // ---- consents -----------------------------------------------------------------------------------------

  private async submit(link: PatientLink, tx: Uint8Array): Promise<void> {
    const m = await this.ask(link, (id) => ({ type: PatientMsg.Submit, id, tx }));
    if (m.type !== PatientMsg.Outcome) throw new NodeError('invalid', 'The clinic answered something else.');
    if (!m.ok) throw new NodeError('rejected', `The ledger refused it (${m.reason}).`);
  }

  async grantConsent(c: { grantee: string; purpose: PurposeOfUse; resourceTypes: string[]; end: number; start?: number; clinic?: string }): Promise<{ consentId: string }> {
    const link = this.linkFor(c.clinic);
    const granteeOrg = this.orgOf(c.grantee);
    if (c.resourceTypes.length === 0) throw new NodeError('invalid', 'Choose at least one kind of record to share.');
    const start = c.start ?? this.now() - 60_000;
    if (!(c.end > start)) throw new NodeError('invalid', 'The end date must be after the start.');
    const consentId = toHex(globalThis.crypto.getRandomValues(new Uint8Array(16)));
    const tx = this.author.make('grantConsent', {
      consentId,
      patient: link.pseudonym,
      granteeOrg,
      granteePractitioner: '',
      purpose: c.purpose,
      resourceTypes: [...c.resourceTypes],
      start,
      end: c.end,
    });
    await this.submit(link, tx);
    return { consentId };
  }

  async revokeConsent(consentId: string): Promise<void> {
    const all = await this.consents();
    const c = all.find((x) => x.consentId === consentId);
    if (!c) throw new NodeError('not-found', 'That consent is not one of yours.');
    const link = this.links.find((l) => l.pseudonym === c.patient);
    if (!link) throw new NodeError('not-linked', 'That consent belongs to a clinic this phone is no longer linked to.');
    await this.submit(link, this.author.make('revokeConsent', { consentId }));
  }

  /** The proofs of one link, checked on this phone. */
  private async proofs(link: PatientLink): Promise<{ bundle: ProofBundle; verified: Set<string> }> {
    const m = await this.ask(link, (id) => ({ type: PatientMsg.ProofRequest, id, pseudonym: link.pseudonym }));
    if (m.type !== PatientMsg.ProofReply) throw new NodeError('invalid', 'The clinic answered something else.');
    const bundle = decodeProofBundle(m.bundle);
    const v = this.opts.verify(bundle, link.pseudonym);
    if (v.conflict) this.problem = `${link.clinic} served a ledger that contradicts one already checked here; its entries are not trusted.`;
    else if (v.complete === false && bundle.header.length > 0) this.problem = `${link.clinic}'s answer could not be checked in full here; its entries are shown unverified.`;
    else this.problem = null;
    if (v.height >= this.ledger.height) this.ledger = { height: v.height, headHash: v.headHash };
    return { bundle, verified: v.verifiedKeys };
  }

  async consents(): Promise<ConsentView[]> {
    const out: ConsentView[] = [];
    for (const link of this.links) {
      const { bundle } = await this.proofs(link);
      for (const l of bundle.leaves) {
        if (!l.key.startsWith('consent/')) continue;
        const c = l.value as ConsentRecord;
        if (c.patient !== link.pseudonym) continue;
        out.push(consentViewOf(c, link.clinic, this.nameOfOrg(c.granteeOrg), link.role));
      }
    }
    return out.sort((a, b) => b.grantedAt - a.grantedAt);
  }

  private nameOfOrg(org: string): string {
    return this.opts.genesis.clinics.find((c) => c.id === org)?.name ?? org;
  }

  async auditTrail(): Promise<{ entries: AuditEntryView[] }> {
    const entries: AuditEntryView[] = [];
    for (const link of this.links) {
      const { bundle, verified } = await this.proofs(link);
      const released = new Map<string, number>();
      for (const l of bundle.leaves) {
        if (l.key.startsWith('release/')) {
          const r = l.value as { requestId: string; count: number };
          released.set(r.requestId, (released.get(r.requestId) ?? 0) + r.count);
        }
      }
      for (const l of bundle.leaves) {
        if (!l.key.startsWith('access/')) continue;
        const d = l.value as AccessDecision;
        if (d.patient !== link.pseudonym) continue;
        entries.push({
          time: d.time,
          actor: this.nameOfOrg(d.requesterOrg),
          purpose: d.purpose,
          decision: d.decision,
          verified: verified.has(l.key),
          requestId: d.requestId,
          holder: this.nameOfOrg(d.holderOrg),
          resourceTypes: d.decision === 'permit' ? [...d.grantedTypes] : [...d.requestedTypes],
          breakGlass: d.breakGlass,
          reason: d.reason,
          released: released.get(d.requestId) ?? 0,
        });
      }
    }
    return { entries: entries.sort((a, b) => b.time - a.time) };
  }

  async myRecords(): Promise<{ clinic: string; resources: fhir4.Resource[] }[]> {
    const out: { clinic: string; resources: fhir4.Resource[] }[] = [];
    const utf8 = new TextDecoder();
    for (const link of this.links) {
      const m = await this.ask(link, (id) => ({ type: PatientMsg.RecordsRequest, id, pseudonym: link.pseudonym }));
      if (m.type !== PatientMsg.RecordsReply) throw new NodeError('invalid', 'The clinic answered something else.');
      out.push({ clinic: link.clinic, resources: m.resources.map((b) => JSON.parse(utf8.decode(b)) as fhir4.Resource) });
    }
    return out;
  }

  /** Asks the clinic (by name; the only linked one by default) to erase this patient's records, on the ledger. */
  async requestErasure(clinic?: string): Promise<void> {
    const candidates = clinic === undefined ? this.links : this.links.filter((l) => l.clinic === clinic);
    if (candidates.length === 0) throw new NodeError('not-linked', clinic === undefined ? 'Link this phone to your clinic first.' : `This phone is not linked to ${clinic}.`);
    if (candidates.length > 1) throw new NodeError('invalid', 'Choose which clinic should erase your records.');
    const link = candidates[0]!;
    await this.submit(link, this.author.make('requestErasure', { patient: link.pseudonym }));
  }

  // ---- consults -----------------------------------------------------------------------------------------

  private answer(consultId: string, accept: boolean): PeerId {
    const inv = this.consultInvite;
    const peer = this.inviter;
    if (!inv || inv.consultId !== consultId || !peer) throw new NodeError('not-found', 'That consult is no longer waiting for you.');
    this.opts.network.main.send(peer, encodePatientMessage({ type: PatientMsg.ConsultAnswer, id: 0, consultId, accept }));
    this.consultInvite = null;
    this.inviter = null;
    this.emit();
    return peer;
  }

  async joinConsult(consultId: string, opts: { media: MediaStream | null }): Promise<ConsultSession> {
    const clinic = this.consultInvite?.clinic ?? '';
    const peer = this.answer(consultId, true);
    const main = this.opts.network.main;
    const view: ConsultView = { consultId, patient: this.links[0]?.displayName ?? 'Patient', clinic, startedAt: this.now(), endedAt: null, mode: 'chat', encounterId: null };
    const session: LiveConsult = new LiveConsult({
      consultId,
      peer,
      selfName: 'you',
      send: (b) => main.send(peer, b),
      media: 'addMedia' in main ? (main as unknown as MediaLink) : null,
      local: opts.media,
      onEnd: async () => {
        main.send(peer, encodePatientMessage({ type: PatientMsg.ConsultEnd, id: 0, consultId }));
        const e = this.consultsById.get(consultId);
        if (e) e.view = { ...e.view, endedAt: this.now(), mode: session.state().mode };
        return { encounterId: null };
      },
    });
    this.consultsById.set(consultId, { session, view: { ...view, mode: session.state().mode }, peer });
    session.begin();
    return session;
  }

  async declineConsult(consultId: string): Promise<void> {
    this.answer(consultId, false);
  }

  async consults(): Promise<ConsultView[]> {
    return [...this.consultsById.values()].map((c) => c.view).sort((a, b) => b.startedAt - a.startedAt);
  }
}

function failureCode(code: string): NodeError['code'] {
  const known: NodeError['code'][] = ['locked', 'wrong-passphrase', 'not-member', 'not-linked', 'bad-code', 'rejected', 'timeout', 'offline', 'not-found', 'invalid', 'busy'];
  return (known as string[]).includes(code) ? (code as NodeError['code']) : 'rejected';
}
