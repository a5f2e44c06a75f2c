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

export interface PrePrepareBody {
  sender: number;
  view: number;
  seq: number;
  time: number;
  digest: Uint8Array;
}

export function readPrePrepare(body: Uint8Array): PrePrepareBody | null {
  const r = new Reader(body, 4096);
  const m = { sender: r.uint(255), view: r.uint(), seq: r.uint(), time: r.uint(), digest: r.fixed(32) };
  return r.end() ? m : null;
}

export function writePrePrepare(m: PrePrepareBody): Uint8Array {
  const w = new Writer(64);
  w.uint(m.sender);
  w.uint(m.view);
  w.uint(m.seq);
  w.uint(m.time);
  w.fixed(m.digest);
  return w.finish();
}

/** A prepare's or a commit's body. */
export interface VoteBody {
  sender: number;
  view: number;
  seq: number;
  digest: Uint8Array;
}

export function readVote(body: Uint8Array): VoteBody | null {
  const r = new Reader(body, 4096);
  const m = { sender: r.uint(255), view: r.uint(), seq: r.uint(), digest: r.fixed(32) };
  return r.end() ? m : null;
}

export function writeVote(m: VoteBody): Uint8Array {
  const w = new Writer(64);
  w.uint(m.sender);
  w.uint(m.view);
  w.uint(m.seq);
  w.fixed(m.digest);
  return w.finish();
}

export interface CheckpointBody {
  sender: number;
  seq: number;
  stateDigest: Uint8Array;
  replicaDigest: Uint8Array;
}

export function writeCheckpoint(m: CheckpointBody): Uint8Array {
  const w = new Writer(80);
  w.uint(m.sender);
  w.uint(m.seq);
  w.fixed(m.stateDigest);
  w.fixed(m.replicaDigest);
  return w.finish();
}

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

function readList(bytes: Uint8Array): Uint8Array[] | null {
  const r = new Reader(bytes, MAX);
  const n = r.uint(1 << 16);
  const out: Uint8Array[] = [];
  for (let i = 0; i < n && r.ok; i++) out.push(r.bytes(MAX));
  return r.end() ? out : null;
}

function writeList(items: readonly Uint8Array[]): Uint8Array {
  const w = new Writer();
  w.uint(items.length);
  for (const q of items) w.bytes(q);
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
  const v = r.uint(1024);
  const viewChanges: Uint8Array[] = [];
  for (let i = 0; i < v && r.ok; i++) viewChanges.push(r.bytes(MAX));
  const o = r.uint(1 << 16);
  const prePrepares: Uint8Array[] = [];
  for (let i = 0; i < o && r.ok; i++) prePrepares.push(r.bytes(MAX));
  return r.end() ? { sender, view, viewChanges, prePrepares } : null;
}

export function writeNewView(m: NewViewBody): Uint8Array {
  const w = new Writer();
  w.uint(m.sender);
  w.uint(m.view);
  w.uint(m.viewChanges.length);
  for (const v of m.viewChanges) w.bytes(v);
  w.uint(m.prePrepares.length);
  for (const p of m.prePrepares) w.bytes(p);
  return w.finish();
}
