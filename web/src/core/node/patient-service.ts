// The clinic's side of the patient protocol: it links a phone to one of its patients by a one-time code, puts
// the phone's signed transactions on the ledger (the phone's key signs them; the clinic only carries them),
// serves the phone the proofs it needs to check its audit trail itself, and releases the patient's own records
// to the patient's phone (recording that on the ledger).
//
// A phone is only ever trusted as the key the transport authenticated, and only for what the ledger says that
// key may do: a registered patient or guardian key of this clinic, for its own pseudonym.
import { sha256 } from '../../../../wasm/index.ts';
import { canonicalJson, decodeOrNull } from '../codec/index.ts';
import { decodeTx, type HygeiaContracts, type TxAuthor } from '../ledger/contracts/index.ts';
import type { PeerId } from '../net/transport.ts';
import { fromHex, toHex } from '../util/index.ts';
import { NodeError } from './api.ts';
import type { LedgerService } from './ledger-service.ts';
import {
  CHANNEL_PATIENT,
  PatientMsg,
  PatientWireError,
  decodePatientMessage,
  encodePatientMessage,
  newEnrolmentCode,
  normaliseEnrolmentCode,
  type PatientMessage,
} from './patient-wire.ts';

/** How long a one-time code stays valid, and how many wrong tries a phone gets. */
const ENROLMENT_TTL_MS = 15 * 60_000;
const MAX_LINK_TRIES_PER_PEER = 5;
const MAX_PENDING_ENROLMENTS = 256;
/** Transaction kinds a phone may have its clinic carry. */
const PATIENT_KINDS = new Set(['grantConsent', 'revokeConsent', 'requestErasure']);

export type Reply = (bytes: Uint8Array) => void;

interface Enrolment {
  readonly patientId: string;
  readonly role: 'patient' | 'guardian';
  readonly expiresAt: number;
}

/** What a desk of the clinic node knows of the clinic it works for (the patient service, the consult desk). */
export interface ClinicDeskDeps {
  readonly orgId: () => string;
  readonly clinicName: () => string;
  readonly contracts: HygeiaContracts;
}

/** The patient's pseudonym on the ledger and their display name, from the record store (null: not held). */
export type PatientLabel = (patientId: string) => Promise<{ pseudonym: string; displayName: string } | null>;

export interface PatientServiceDeps extends ClinicDeskDeps {
  readonly ledger: LedgerService;
  readonly admin: TxAuthor;
  readonly now: () => number;
  readonly patient: PatientLabel;
  /** Proofs a phone checks its audit trail against (attested header, state proofs, completeness). */
  readonly proofsFor: (pseudonym: string) => Promise<Uint8Array>;
  /** The patient's own records, released to their phone (and recorded as such on the ledger). */
  readonly recordsFor: (pseudonym: string, device: PeerId) => Promise<Uint8Array[]>;
  /** Told of every new code so the page can open its enrolment room at the relay. */
  readonly onEnrolment?: (codeHash: string, expiresAt: number) => void;
  readonly onConsultAnswer?: (from: PeerId, consultId: string, accept: boolean) => void;
  readonly onConsultEnd?: (from: PeerId, consultId: string) => void;
}

/** sha256 of the normalised code: what the relay and the enrolment room know (never the code itself). */
export function enrolmentCodeHash(normalised: string): string {
  return toHex(sha256(new TextEncoder().encode(`hygeia/enrol/v1|${normalised}`)));
}

export class PatientService {
  private readonly enrolments = new Map<string, Enrolment>();
  private readonly tries = new Map<PeerId, number>();

  constructor(private readonly d: PatientServiceDeps) {}

  /** A one-time code that links a phone to `patientId` (as the patient, or as a guardian acting for them). */
  enrol(patientId: string, role: 'patient' | 'guardian'): { code: string; expiresAt: number; codeHash: string } {
    const now = this.d.now();
    for (const [h, e] of this.enrolments) if (e.expiresAt <= now) this.enrolments.delete(h);
    if (this.enrolments.size >= MAX_PENDING_ENROLMENTS) throw new NodeError('busy', 'Too many phone links are waiting; try again in a few minutes.');
    const code = newEnrolmentCode();
    const codeHash = enrolmentCodeHash(normaliseEnrolmentCode(code)!);
    const expiresAt = now + ENROLMENT_TTL_MS;
    this.enrolments.set(codeHash, { patientId, role, expiresAt });
    this.d.onEnrolment?.(codeHash, expiresAt);
    return { code, expiresAt, codeHash };
  }

  /** Handles one channel-L frame from an authenticated peer; `reply` sends back over the same link. */
  handle(from: PeerId, bytes: Uint8Array, reply: Reply): void {
    if (bytes[0] !== CHANNEL_PATIENT) return;
    const m = decodeOrNull(decodePatientMessage, bytes, PatientWireError);
    if (m === null) return;
    const fail = (code: string, message: string): void => reply(encodePatientMessage({ type: PatientMsg.Failure, id: m.id, code, message }));
    void this.dispatch(from, m, reply).catch((e: unknown) => {
      if (e instanceof NodeError) fail(e.code, e.message);
      else fail('failed', 'The clinic could not complete that.');
    });
  }

  private async dispatch(from: PeerId, m: PatientMessage, reply: Reply): Promise<void> {
    switch (m.type) {
      case PatientMsg.LinkRequest:
        return this.link(from, m.id, m.code, reply);
      case PatientMsg.Submit:
        return this.submit(from, m.id, m.tx, reply);
      case PatientMsg.ProofRequest:
        this.requireSubject(from, m.pseudonym);
        return reply(encodePatientMessage({ type: PatientMsg.ProofReply, id: m.id, bundle: await this.d.proofsFor(m.pseudonym) }));
      case PatientMsg.RecordsRequest:
        this.requireSubject(from, m.pseudonym);
        return reply(encodePatientMessage({ type: PatientMsg.RecordsReply, id: m.id, resources: await this.d.recordsFor(m.pseudonym, from) }));
      case PatientMsg.ConsultAnswer:
        this.d.onConsultAnswer?.(from, m.consultId, m.accept);
        return;
      case PatientMsg.ConsultEnd:
        this.d.onConsultEnd?.(from, m.consultId);
        return;
      default:
        return;
    }
  }

  /** The phone's key as the ledger knows it: a live patient or guardian key registered by this clinic. */
  private requireSubject(peer: PeerId, pseudonym: string | null): string {
    let key: Uint8Array;
    try {
      key = fromHex(peer, 32);
    } catch {
      throw new NodeError('not-linked', 'This device is not linked to this clinic.');
    }
    const k = this.d.contracts.key(key);
    if (!k || k.revoked || k.org !== this.d.orgId() || (k.role !== 'patient' && k.role !== 'guardian'))
      throw new NodeError('not-linked', 'This device is not linked to this clinic.');
    if (pseudonym !== null && k.subject !== pseudonym) throw new NodeError('not-linked', 'This device is linked to another patient.');
    return k.subject;
  }

  private async link(from: PeerId, id: number, code: string, reply: Reply): Promise<void> {
    const tries = (this.tries.get(from) ?? 0) + 1;
    this.tries.set(from, tries);
    if (tries > MAX_LINK_TRIES_PER_PEER) throw new NodeError('busy', 'Too many attempts from this device; ask the clinic for a new code.');
    const normalised = normaliseEnrolmentCode(code);
    const hash = normalised ? enrolmentCodeHash(normalised) : '';
    const e = this.enrolments.get(hash);
    if (!e || e.expiresAt <= this.d.now()) throw new NodeError('bad-code', 'That code is not valid; ask the clinic for a new one.');
    // Single use: a second phone with the same code gets nothing, even while the first is being registered.
    this.enrolments.delete(hash);
    const p = await this.d.patient(e.patientId);
    if (!p) throw new NodeError('not-found', "The clinic no longer holds this patient's record.");
    const key = fromHex(from, 32);
    if (!this.d.contracts.key(key)) {
      const o = await this.d.ledger.submit(this.d.admin.make('registerKey', { key, org: this.d.orgId(), role: e.role, subject: p.pseudonym }));
      if (!o.ok) throw new NodeError('rejected', `The ledger refused to register this device (${o.reason}).`);
    } else {
      this.requireSubject(from, p.pseudonym);
    }
    this.tries.delete(from);
    reply(
      encodePatientMessage({
        type: PatientMsg.LinkReply,
        id,
        org: this.d.orgId(),
        clinicName: this.d.clinicName(),
        pseudonym: p.pseudonym,
        displayName: p.displayName,
        role: e.role,
      }),
    );
  }

  private async submit(from: PeerId, id: number, tx: Uint8Array, reply: Reply): Promise<void> {
    this.requireSubject(from, null);
    let decoded;
    try {
      decoded = decodeTx(tx);
    } catch {
      throw new NodeError('invalid', 'That transaction does not decode.');
    }
    if (toHex(decoded.tx.signer) !== from) throw new NodeError('invalid', 'A device may only submit its own transactions.');
    if (!PATIENT_KINDS.has(decoded.tx.kind)) throw new NodeError('invalid', 'A phone cannot submit that kind of transaction.');
    const o = await this.d.ledger.submit(tx);
    reply(encodePatientMessage({ type: PatientMsg.Outcome, id, ok: o.ok, reason: o.reason, height: o.height, index: o.index }));
  }

  /** Sends a consult invitation to a linked phone. */
  invite(consultId: string, mode: string, send: Reply): void {
    send(encodePatientMessage({ type: PatientMsg.ConsultInvite, id: 0, consultId, clinicName: this.d.clinicName(), mode }));
  }

  endConsult(consultId: string, send: Reply): void {
    send(encodePatientMessage({ type: PatientMsg.ConsultEnd, id: 0, consultId }));
  }
}

/** A patient's own resources as canonical JSON bytes, for the records reply. */
export function resourcesToWire(resources: readonly unknown[]): Uint8Array[] {
  const utf8 = new TextEncoder();
  return resources.map((r) => utf8.encode(canonicalJson(r)));
}
