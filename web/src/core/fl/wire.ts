// What travels on the FL channel (frames whose first byte is CHANNEL_FL), and the digests the ledger holds.
// Update bytes go peer to peer; only their SHA-256 goes on the ledger (flCommitUpdate), and a receiver keeps
// bytes only against a committed digest. Global weights travel the same way, addressed by weightsDigest, for
// a node that missed a round.
import { decode, encode } from '../codec/index.ts';
import { sha256 } from '../../../../wasm/index.ts';
import { toHex } from '../util/index.ts';
import type { ClientUpdate } from './aggregation.ts';

/** The FL channel's first byte ('F'); net/channels.ts lists every channel. */
export const CHANNEL_FL = 0x46;

/** The largest update or weights blob (bytes). */
export const MAX_BLOB_BYTES = 16 << 20;
const MAX_ID = 256;

export const BLOB_UPDATE = 1;
export const BLOB_WEIGHTS = 2;
const MSG_BLOB = 1;
const MSG_WANT = 2;

/** A clinic's update as aggregation weighs it, with the round it is for. */
export interface UpdateMessage extends ClientUpdate {
  readonly task: string;
  readonly round: number;
  readonly clinic: string;
}

function f32Bytes(v: Float32Array): Uint8Array {
  const raw = new Uint8Array(v.length * 4);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < v.length; i++) view.setFloat32(i * 4, v[i]!, true);
  return raw;
}

function f32From(raw: Uint8Array): Float32Array {
  if (raw.length % 4 !== 0) throw new RangeError('float32 bytes have a length that is not a multiple of 4');
  const out = new Float32Array(raw.length >> 2);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

/** Canonical update bytes: kind, task, round, clinic, samples, then the float32 delta (little-endian). */
export function encodeUpdate(u: UpdateMessage): Uint8Array {
  return encode((w) => {
    w.uint(BLOB_UPDATE);
    w.str(u.task);
    w.uint(u.round);
    w.str(u.clinic);
    w.uint(u.samples);
    w.bytes(f32Bytes(u.delta));
  });
}

/** Decodes update bytes; throws CodecError on anything else. */
export function decodeUpdate(bytes: Uint8Array): UpdateMessage {
  return decode(
    bytes,
    (r) => {
      if (r.uint() !== BLOB_UPDATE) r.fail('OutOfRange');
      const task = r.str(MAX_ID);
      const round = r.uint();
      const clinic = r.str(MAX_ID);
      const samples = r.uint();
      const raw = r.bytes(MAX_BLOB_BYTES);
      if (raw.length % 4 !== 0) r.fail('OutOfRange');
      const delta = f32From(raw.subarray(0, raw.length & ~3));
      return { task, round, clinic, samples, delta };
    },
    MAX_BLOB_BYTES + 1024,
  );
}

/** Model weights as bytes: float32 little-endian in the model's layer order (their SHA-256 is weightsDigest). */
export function weightsBytes(weights: Float32Array): Uint8Array {
  return f32Bytes(weights);
}

export function weightsFromBytes(bytes: Uint8Array): Float32Array {
  return f32From(bytes);
}

export function digestHex(bytes: Uint8Array): string {
  return toHex(sha256(bytes));
}

/** Digest of a model's weights: SHA-256 over their float32 little-endian bytes. */
export function weightsDigest(weights: Float32Array): string {
  return digestHex(f32Bytes(weights));
}

export type FlMessage = { type: 'blob'; bytes: Uint8Array } | { type: 'want'; digest: Uint8Array };

export function encodeFlMessage(m: FlMessage): Uint8Array {
  const body = encode((w) => {
    if (m.type === 'blob') {
      w.uint(MSG_BLOB);
      w.bytes(m.bytes);
    } else {
      w.uint(MSG_WANT);
      w.fixed(m.digest);
    }
  });
  const out = new Uint8Array(body.length + 1);
  out[0] = CHANNEL_FL;
  out.set(body, 1);
  return out;
}

/** Decodes a frame's payload (after the channel byte); throws CodecError on anything that is not one message. */
export function decodeFlMessage(payload: Uint8Array): FlMessage {
  return decode(
    payload,
    (r) => {
      const type = r.uint();
      if (type === MSG_BLOB) return { type: 'blob' as const, bytes: r.bytes(MAX_BLOB_BYTES) };
      if (type !== MSG_WANT) r.fail('OutOfRange');
      return { type: 'want' as const, digest: r.fixed(32) };
    },
    MAX_BLOB_BYTES + 64,
  );
}
