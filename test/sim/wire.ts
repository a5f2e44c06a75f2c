// The replica's wire format, read and written from TypeScript so that the simulator's Byzantine replicas can
// send what an honest replica never would, signed with their real keys: equivocating pre-prepares, forged
// senders, out-of-watermark proposals, doctored new-views. (Layouts: wasm/assembly/pbft/messages.ts.)

import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { batchDigestOfHashes, txHash } from '../../web/src/core/ledger/block.ts';
import { Reader, Writer, signingBytes } from '../../web/src/core/ledger/primitives.ts';

ed.hashes.sha512 = sha512;

export const Msg = { Request: 1, PrePrepare: 2, Prepare: 3, Commit: 4, Checkpoint: 5, ViewChange: 6, NewView: 7 } as const;

const TAGS: Record<number, string> = {
  2: 'hygeia/pbft/preprepare/v1',
  3: 'hygeia/pbft/prepare/v1',
  4: 'hygeia/pbft/commit/v1',
  5: 'hygeia/pbft/checkpoint/v1',
  6: 'hygeia/pbft/viewchange/v1',
  7: 'hygeia/pbft/newview/v1',
};

export interface Envelope {
  type: number;
  body: Uint8Array;
  sig: Uint8Array;
  tail: Uint8Array;
}

export function parseEnvelope(wire: Uint8Array): Envelope | null {
  const r = new Reader(wire, 64 << 20);
  const type = r.uint(7);
  const body = r.bytes(64 << 20);
  if (!r.ok || type === 0) return null;
  if (type === Msg.Request) return r.end() ? { type, body, sig: new Uint8Array(0), tail: new Uint8Array(0) } : null;
  const sig = r.fixed(64);
  if (!r.ok) return null;
  const tail = wire.slice(wire.length - r.remaining());
  return { type, body, sig, tail };
}

export function encodeEnvelope(e: Envelope): Uint8Array {
  const w = new Writer(e.body.length + e.tail.length + 80);
  w.uint(e.type);
  w.bytes(e.body);
  w.fixed(e.sig);
  w.fixed(e.tail);
  return w.finish();
}

export function publicKeyOf(seed: Uint8Array): Uint8Array {
  return ed.getPublicKey(seed);
}

/** The default epoch's id (a replica started without `epoch`): 32 zero bytes. */
export const DEFAULT_EPOCH = new Uint8Array(32);

/** Signs `body` as message `type` with a replica's seed, as a replica of `epoch` does. */
export function sign(type: number, body: Uint8Array, seed: Uint8Array, epoch: Uint8Array = DEFAULT_EPOCH): Uint8Array {
  const msg = new Uint8Array(epoch.length + body.length);
  msg.set(epoch);
  msg.set(body, epoch.length);
  return ed.sign(signingBytes(TAGS[type]!, msg), seed);
}

export function resign(e: Envelope, seed: Uint8Array, epoch: Uint8Array = DEFAULT_EPOCH): Envelope {
  return { ...e, sig: sign(e.type, e.body, seed, epoch) };
}

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

export function readBatch(tail: Uint8Array): Uint8Array[] | null {
  const r = new Reader(tail, 64 << 20);
  const n = r.uint(1 << 16);
  const out: Uint8Array[] = [];
  for (let i = 0; i < n && r.ok; i++) out.push(r.bytes(64 << 20));
  return r.end() ? out : null;
}

export function writeBatch(requests: readonly Uint8Array[]): Uint8Array {
  const w = new Writer();
  w.uint(requests.length);
  for (const q of requests) w.bytes(q);
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
  const r = new Reader(body, 64 << 20);
  const sender = r.uint(255);
  const view = r.uint();
  const v = r.uint(1024);
  const viewChanges: Uint8Array[] = [];
  for (let i = 0; i < v && r.ok; i++) viewChanges.push(r.bytes(64 << 20));
  const o = r.uint(1 << 16);
  const prePrepares: Uint8Array[] = [];
  for (let i = 0; i < o && r.ok; i++) prePrepares.push(r.bytes(64 << 20));
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
