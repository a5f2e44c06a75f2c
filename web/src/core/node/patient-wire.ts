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

/** How a body field of type V is written: a string or bytes with its largest length, a list of byte strings. */
type FieldSpec<V> = [V] extends [string]
  ? { readonly str: number }
  : [V] extends [boolean]
    ? 'bool'
    : [V] extends [number]
      ? 'uint'
      : [V] extends [Uint8Array]
        ? { readonly bytes: number }
        : [V] extends [Uint8Array[]]
          ? { readonly list: number; readonly each: number }
          : never;
type BodyOf<M> = { readonly [K in Exclude<keyof M, 'type' | 'id'>]-?: FieldSpec<M[K]> };
type Field = 'bool' | 'uint' | { readonly str: number } | { readonly bytes: number } | { readonly list: number; readonly each: number };

/** Each message type's body: its fields in wire order, one table for encoding and decoding. */
const BODIES: { readonly [M in PatientMessage as M['type']]: BodyOf<M> } = {
  [PatientMsg.LinkRequest]: { code: { str: 64 } },
  [PatientMsg.LinkReply]: { org: { str: MAX_TEXT }, clinicName: { str: MAX_TEXT }, pseudonym: { str: MAX_TEXT }, displayName: { str: MAX_TEXT }, role: { str: 16 } },
  [PatientMsg.Submit]: { tx: { bytes: 128 * 1024 } },
  [PatientMsg.Outcome]: { ok: 'bool', reason: { str: MAX_TEXT }, height: 'uint', index: 'uint' },
  [PatientMsg.ProofRequest]: { pseudonym: { str: MAX_TEXT } },
  [PatientMsg.ProofReply]: { bundle: { bytes: MAX_FRAME } },
  [PatientMsg.RecordsRequest]: { pseudonym: { str: MAX_TEXT } },
  [PatientMsg.RecordsReply]: { resources: { list: MAX_ITEMS, each: 1 << 20 } },
  [PatientMsg.Failure]: { code: { str: 64 }, message: { str: MAX_TEXT } },
  [PatientMsg.ConsultInvite]: { consultId: { str: 64 }, clinicName: { str: MAX_TEXT }, mode: { str: 16 } },
  [PatientMsg.ConsultAnswer]: { consultId: { str: 64 }, accept: 'bool' },
  [PatientMsg.ConsultEnd]: { consultId: { str: 64 } },
};

const fieldsOf = (type: PatientMessage['type']): [string, Field][] => Object.entries(BODIES[type]);

function writeField(w: Writer, f: Field, v: unknown): void {
  if (f === 'bool') w.bool(v as boolean);
  else if (f === 'uint') w.uint(v as number);
  else if ('str' in f) w.str(v as string);
  else if ('bytes' in f) w.bytes(v as Uint8Array);
  else w.list(v as Uint8Array[], (w, b) => w.bytes(b));
}

function readField(r: Reader, f: Field): unknown {
  if (f === 'bool') return r.bool();
  if (f === 'uint') return r.uint();
  if ('str' in f) return r.str(f.str);
  if ('bytes' in f) return r.bytes(f.bytes);
  return r.list(f.list, (r) => r.bytes(f.each));
}

export function encodePatientMessage(m: PatientMessage): Uint8Array {
  const w = new Writer(128);
  w.uint(CHANNEL_PATIENT);
  w.uint(m.type);
  w.uint(m.id);
  const fields = m as unknown as Record<string, unknown>;
  for (const [name, f] of fieldsOf(m.type)) writeField(w, f, fields[name]);
  return w.finish();
}

/** Decodes a channel-L frame; throws PatientWireError for anything that is not exactly one message. */
export function decodePatientMessage(frame: Uint8Array): PatientMessage {
  if (frame.length > MAX_FRAME) throw new PatientWireError('frame too large');
  const r = new Reader(frame, MAX_FRAME);
  if (r.uint() !== CHANNEL_PATIENT) throw new PatientWireError('not a patient-protocol frame');
  const type = r.uint(255);
  const id = r.uint();
  if (!Object.hasOwn(BODIES, type)) throw new PatientWireError(`unknown message type ${type}`);
  const m: Record<string, unknown> = { type, id };
  for (const [name, f] of fieldsOf(type as PatientMessage['type'])) m[name] = readField(r, f);
  if (type === PatientMsg.LinkReply && m.role !== 'patient' && m.role !== 'guardian') throw new PatientWireError('unknown role');
  if (!r.end()) throw new PatientWireError(`message does not decode (${r.error ?? 'trailing bytes'})`);
  return m as unknown as PatientMessage;
}

/** One-time enrolment codes: 10 characters of Crockford base32 (50 bits), shown as two groups of five, such as 7K3QA-M9T2H. */
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
