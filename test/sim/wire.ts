// The replica's wire format read and written from TypeScript, independently of the wasm codec: what the
// simulator's Byzantine replicas, the replica's unit tests and the benches use to look inside messages and to
// send what an honest replica never would, signed with real keys (equivocating pre-prepares, forged senders,
// out-of-watermark votes, doctored new-views). Layouts: wasm/assembly/pbft/messages.ts.

import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { Reader, Writer, signingBytes } from '../../web/src/core/codec/index.ts';
import { batchDigestOfHashes, txHash } from '../../web/src/core/ledger/block.ts';
import { MsgType } from '../../wasm/face/replica-boundary.ts';

ed.hashes.sha512 = sha512;

export { MsgType };

const MAX = 64 << 20;

const TAGS: Record<number, string> = {
  [MsgType.PrePrepare]: 'hygeia/pbft/preprepare/v1',
  [MsgType.Prepare]: 'hygeia/pbft/prepare/v1',
  [MsgType.Commit]: 'hygeia/pbft/commit/v1',
  [MsgType.Checkpoint]: 'hygeia/pbft/checkpoint/v1',
  [MsgType.ViewChange]: 'hygeia/pbft/viewchange/v1',
  [MsgType.NewView]: 'hygeia/pbft/newview/v1',
  [MsgType.Suspect]: 'hygeia/pbft/suspect/v1',
};

/** Types whose messages carry their sender's signature (a forwarded request, a commit proof and a fetch do not). */
export const isSigned = (type: number): boolean => type in TAGS;

/** uint(type) ‖ bytes(body) [‖ sig64] [‖ tail]; only a pre-prepare has a tail (its batch). */
export interface Envelope {
  type: number;
  body: Uint8Array;
  sig: Uint8Array;
  tail: Uint8Array;
}

export function parseEnvelope(wire: Uint8Array): Envelope | null {
  const r = new Reader(wire, MAX);
  const type = r.uint(255);
  const body = r.bytes(MAX);
  if (!r.ok || type === 0) return null;
  if (!isSigned(type)) return r.end() ? { type, body, sig: new Uint8Array(0), tail: new Uint8Array(0) } : null;
  const sig = r.fixed(64);
  if (!r.ok) return null;
  return { type, body, sig, tail: wire.slice(wire.length - r.remaining()) };
}

export function encodeEnvelope(e: { type: number; body: Uint8Array; sig?: Uint8Array; tail?: Uint8Array }): Uint8Array {
  const w = new Writer(e.body.length + (e.tail?.length ?? 0) + 80);
  w.uint(e.type);
  w.bytes(e.body);
  if (e.sig) w.fixed(e.sig);
  if (e.tail) w.fixed(e.tail);
  return w.finish();
}

/** A quick look at a message: its type, sender, and the two uints after it (view and seq; seq for a checkpoint). */
export function header(wire: Uint8Array): { type: number; sender: number; a: number; b: number } {
  const e = parseEnvelope(wire);
  if (!e) throw new Error('not a replica message');
  const r = new Reader(e.body, MAX);
  return { type: e.type, sender: r.uint(), a: r.uint(), b: e.type === MsgType.Checkpoint ? 0 : r.uint() };
}

/** The id of the default epoch (a replica started without `epoch`): 32 zero bytes. */
export const DEFAULT_EPOCH = new Uint8Array(32);

export function publicKeyOf(seed: Uint8Array): Uint8Array {
  return ed.getPublicKey(seed);
}

/** Signs `body` as message `type` with a replica's seed, as a replica of `epoch` does: signingBytes(tag, epoch ‖ body). */
export function sign(type: number, body: Uint8Array, seed: Uint8Array, epoch: Uint8Array = DEFAULT_EPOCH): Uint8Array {
  const msg = new Uint8Array(epoch.length + body.length);
  msg.set(epoch);
  msg.set(body, epoch.length);
  return ed.sign(signingBytes(TAGS[type]!, msg), seed);
}

export function resign(e: Envelope, seed: Uint8Array, epoch: Uint8Array = DEFAULT_EPOCH): Envelope {
  return { ...e, sig: sign(e.type, e.body, seed, epoch) };
}

/** A message signed by `seed`, as a (possibly Byzantine) sender would build it. */
export function forge(type: number, body: Uint8Array, seed: Uint8Array, tail?: Uint8Array, epoch?: Uint8Array): Uint8Array {
  return encodeEnvelope({ type, body, sig: sign(type, body, seed, epoch), ...(tail ? { tail } : {}) });
}

// ---- bodies ------------------------------------------------------------------------------------------------

// The fixed bodies are fields in wire order: uints (a sender is one below 256) and 32-byte digests, each read
// and written by one codec from its layout (an object's keys keep their order); a body's type follows from it.
type FieldKind = 'sender' | 'uint' | 'digest';
type BodyOf<L extends Record<string, FieldKind>> = { -readonly [K in keyof L]: L[K] extends 'digest' ? Uint8Array : number };

function fixedBody<L extends Record<string, FieldKind>>(layout: L): { read(body: Uint8Array): BodyOf<L> | null; write(m: BodyOf<L>): Uint8Array } {
  const fields = Object.entries(layout) as [keyof L, FieldKind][];
  return {
    read(body) {
      const r = new Reader(body, 4096);
      const m = {} as Record<keyof L, number | Uint8Array>;
      for (const [name, kind] of fields) m[name] = kind === 'digest' ? r.fixed(32) : kind === 'sender' ? r.uint(255) : r.uint();
      return r.end() ? (m as BodyOf<L>) : null;
    },
    write(m) {
      const w = new Writer(96);
      for (const [name, kind] of fields) {
        if (kind === 'digest') w.fixed(m[name] as Uint8Array);
        else w.uint(m[name] as number);
      }
      return w.finish();
    },
  };
}

const PRE_PREPARE = { sender: 'sender', view: 'uint', seq: 'uint', time: 'uint', digest: 'digest' } as const;
export type PrePrepareBody = BodyOf<typeof PRE_PREPARE>;
const prePrepare = fixedBody(PRE_PREPARE);
export const readPrePrepare = prePrepare.read;
export const writePrePrepare = prePrepare.write;

/** A prepare's or a commit's body. */
const VOTE = { sender: 'sender', view: 'uint', seq: 'uint', digest: 'digest' } as const;
export type VoteBody = BodyOf<typeof VOTE>;
const vote = fixedBody(VOTE);
export const readVote = vote.read;
export const writeVote = vote.write;

const CHECKPOINT = { sender: 'sender', seq: 'uint', stateDigest: 'digest', replicaDigest: 'digest' } as const;
export type CheckpointBody = BodyOf<typeof CHECKPOINT>;
const checkpoint = fixedBody(CHECKPOINT);
export const readCheckpoint = checkpoint.read;
export const writeCheckpoint = checkpoint.write;

const SUSPECT = { sender: 'sender', view: 'uint' } as const;
export type SuspectBody = BodyOf<typeof SUSPECT>;
const suspect = fixedBody(SUSPECT);
export const readSuspect = suspect.read;
export const writeSuspect = suspect.write;

/** A pre-prepare's tail: uint(count) ‖ bytes(request)… */
export function readBatch(tail: Uint8Array): Uint8Array[] | null {
  return readList(tail);
}

export function writeBatch(requests: readonly Uint8Array[]): Uint8Array {
  return writeList(requests);
}

/** A certificate: uint(count) ‖ bytes(signed message)… */
export function readCertificate(cert: Uint8Array): Uint8Array[] | null {
  return readList(cert);
}

export function writeCertificate(messages: readonly Uint8Array[]): Uint8Array {
  return writeList(messages);
}

/** uint(count) ‖ bytes(item)… inside a larger value. */
function readItems(r: Reader, maxCount: number): Uint8Array[] {
  const n = r.uint(maxCount);
  const out: Uint8Array[] = [];
  for (let i = 0; i < n && r.ok; i++) out.push(r.bytes(MAX));
  return out;
}

function writeItems(w: Writer, items: readonly Uint8Array[]): void {
  w.uint(items.length);
  for (const q of items) w.bytes(q);
}

function readList(bytes: Uint8Array): Uint8Array[] | null {
  const r = new Reader(bytes, MAX);
  const out = readItems(r, 1 << 16);
  return r.end() ? out : null;
}

function writeList(items: readonly Uint8Array[]): Uint8Array {
  const w = new Writer();
  writeItems(w, items);
  return w.finish();
}

export function batchDigest(time: number, requests: readonly Uint8Array[]): Uint8Array {
  return batchDigestOfHashes(time, requests.map(txHash));
}

/** NewView body: uint sender ‖ uint view ‖ uint v ‖ v × bytes(view-change) ‖ uint o ‖ o × bytes(pre-prepare). */
export interface NewViewBody {
  sender: number;
  view: number;
  viewChanges: Uint8Array[];
  prePrepares: Uint8Array[];
}

export function readNewView(body: Uint8Array): NewViewBody | null {
  const r = new Reader(body, MAX);
  const sender = r.uint(255);
  const view = r.uint();
  const viewChanges = readItems(r, 1024);
  const prePrepares = readItems(r, 1 << 16);
  return r.end() ? { sender, view, viewChanges, prePrepares } : null;
}

export function writeNewView(m: NewViewBody): Uint8Array {
  const w = new Writer();
  w.uint(m.sender);
  w.uint(m.view);
  writeItems(w, m.viewChanges);
  writeItems(w, m.prePrepares);
  return w.finish();
}
