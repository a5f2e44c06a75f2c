// The patient ↔ clinic protocol on channel L (0x4C), over the authenticated peer link (the transport has
// already proven which key is at the other end, so nothing here carries a signature of its own; what must be
// provable to third parties travels as signed transactions, certificates and Merkle proofs inside).
//
//   frame = uint(0x4C) ‖ uint(type) ‖ uint(id) ‖ body
//
// `id` pairs a reply with its request. Each type's body is a fixed sequence of canonical fields (below); a
// frame that does not decode exactly is dropped with a typed error.
import { Reader, Writer } from '../codec/index.ts';

export const CHANNEL_PATIENT = 0x4c; // 'L'
const MAX_FRAME = 32 << 20;
const MAX_TEXT = 512;
const MAX_ITEMS = 20_000;

export const PatientMsg = {
  LinkRequest: 1,
  LinkReply: 2,
  Submit: 3,
  Outcome: 4,
  ProofRequest: 5,
  ProofReply: 6,
  RecordsRequest: 7,
  RecordsReply: 8,
  Failure: 9,
  ConsultInvite: 10,
  ConsultAnswer: 11,
  ConsultEnd: 12,
} as const;

export type PatientMessage =
  | { type: typeof PatientMsg.LinkRequest; id: number; code: string }
  | { type: typeof PatientMsg.LinkReply; id: number; org: string; clinicName: string; pseudonym: string; displayName: string; role: 'patient' | 'guardian' }
  | { type: typeof PatientMsg.Submit; id: number; tx: Uint8Array }
  | { type: typeof PatientMsg.Outcome; id: number; ok: boolean; reason: string; height: number; index: number }
  | { type: typeof PatientMsg.ProofRequest; id: number; pseudonym: string }
  | { type: typeof PatientMsg.ProofReply; id: number; bundle: Uint8Array }
  | { type: typeof PatientMsg.RecordsRequest; id: number; pseudonym: string }
  | { type: typeof PatientMsg.RecordsReply; id: number; resources: Uint8Array[] }
  | { type: typeof PatientMsg.Failure; id: number; code: string; message: string }
  | { type: typeof PatientMsg.ConsultInvite; id: number; consultId: string; clinicName: string; mode: string }
  | { type: typeof PatientMsg.ConsultAnswer; id: number; consultId: string; accept: boolean }
  | { type: typeof PatientMsg.ConsultEnd; id: number; consultId: string };

export class PatientWireError extends Error {
  override readonly name = 'PatientWireError';
}

export function encodePatientMessage(m: PatientMessage): Uint8Array {
  const w = new Writer(128);
  w.uint(CHANNEL_PATIENT);
  w.uint(m.type);
  w.uint(m.id);
  switch (m.type) {
    case PatientMsg.LinkRequest:
      w.str(m.code);
      break;
    case PatientMsg.LinkReply:
      w.str(m.org);
      w.str(m.clinicName);
      w.str(m.pseudonym);
      w.str(m.displayName);
      w.str(m.role);
      break;
    case PatientMsg.Submit:
      w.bytes(m.tx);
      break;
    case PatientMsg.Outcome:
      w.bool(m.ok);
      w.str(m.reason);
      w.uint(m.height);
      w.uint(m.index);
      break;
    case PatientMsg.ProofRequest:
    case PatientMsg.RecordsRequest:
      w.str(m.pseudonym);
      break;
    case PatientMsg.ProofReply:
      w.bytes(m.bundle);
      break;
    case PatientMsg.RecordsReply:
      w.uint(m.resources.length);
      for (const r of m.resources) w.bytes(r);
      break;
    case PatientMsg.Failure:
      w.str(m.code);
      w.str(m.message);
      break;
    case PatientMsg.ConsultInvite:
      w.str(m.consultId);
      w.str(m.clinicName);
      w.str(m.mode);
      break;
    case PatientMsg.ConsultAnswer:
      w.str(m.consultId);
      w.bool(m.accept);
      break;
    case PatientMsg.ConsultEnd:
      w.str(m.consultId);
      break;
  }
  return w.finish();
}

/** Decodes a channel-L frame; throws PatientWireError for anything that is not exactly one message. */
export function decodePatientMessage(frame: Uint8Array): PatientMessage {
  if (frame.length > MAX_FRAME) throw new PatientWireError('frame too large');
  const r = new Reader(frame, MAX_FRAME);
  if (r.uint() !== CHANNEL_PATIENT) throw new PatientWireError('not a patient-protocol frame');
  const type = r.uint(255);
  const id = r.uint();
  let m: PatientMessage;
  switch (type) {
    case PatientMsg.LinkRequest:
      m = { type, id, code: r.str(64) };
      break;
    case PatientMsg.LinkReply: {
      const org = r.str(MAX_TEXT);
      const clinicName = r.str(MAX_TEXT);
      const pseudonym = r.str(MAX_TEXT);
      const displayName = r.str(MAX_TEXT);
      const role = r.str(16);
      if (role !== 'patient' && role !== 'guardian') throw new PatientWireError('unknown role');
      m = { type, id, org, clinicName, pseudonym, displayName, role };
      break;
    }
    case PatientMsg.Submit:
      m = { type, id, tx: r.bytes(128 * 1024) };
      break;
    case PatientMsg.Outcome:
      m = { type, id, ok: r.bool(), reason: r.str(MAX_TEXT), height: r.uint(), index: r.uint() };
      break;
    case PatientMsg.ProofRequest:
    case PatientMsg.RecordsRequest:
      m = { type, id, pseudonym: r.str(MAX_TEXT) };
      break;
    case PatientMsg.ProofReply:
      m = { type, id, bundle: r.bytes(MAX_FRAME) };
      break;
    case PatientMsg.RecordsReply: {
      const n = r.count(MAX_ITEMS);
      const resources: Uint8Array[] = [];
      for (let i = 0; i < n && r.ok; i++) resources.push(r.bytes(1 << 20));
      m = { type, id, resources };
      break;
    }
    case PatientMsg.Failure:
      m = { type, id, code: r.str(64), message: r.str(MAX_TEXT) };
      break;
    case PatientMsg.ConsultInvite:
      m = { type, id, consultId: r.str(64), clinicName: r.str(MAX_TEXT), mode: r.str(16) };
      break;
    case PatientMsg.ConsultAnswer:
      m = { type, id, consultId: r.str(64), accept: r.bool() };
      break;
    case PatientMsg.ConsultEnd:
      m = { type, id, consultId: r.str(64) };
      break;
    default:
      throw new PatientWireError(`unknown message type ${type}`);
  }
  if (!r.end()) throw new PatientWireError(`message does not decode (${r.error ?? 'trailing bytes'})`);
  return m;
}

/** One-time enrolment codes: 10 characters of Crockford base32 (50 bits), shown as XXXXX-XXXXX. */
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export function newEnrolmentCode(): string {
  const b = globalThis.crypto.getRandomValues(new Uint8Array(10));
  let s = '';
  for (const x of b) s += CROCKFORD[x & 31];
  return `${s.slice(0, 5)}-${s.slice(5)}`;
}

/** Upper-cases, drops separators and maps the look-alikes (O→0, I/L→1) as Crockford's alphabet says. */
export function normaliseEnrolmentCode(code: string): string | null {
  const s = code.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  return /^[0-9A-HJKMNP-TV-Z]{10}$/.test(s) ? s : null;
}
