// What the consensus node puts on a Transport. The transport is shared with other subsystems, so every frame
// starts with one channel byte (net/channels.ts); a node ignores channels it does not own. PBFT frames carry
// the replica's signed message bytes untouched; attestation frames an encoded attestation
// (ledger/attestation.ts); state-transfer frames the requests and replies below, canonically encoded.
// Nothing here is trusted: state-transfer replies are verified block by block against the validators of
// each height and the checkpoint digest the replica proved.

import { MAX_ATTESTATION_CERTIFICATE_BYTES } from '../ledger/index.ts';
import { CHANNEL_PBFT } from '../net/index.ts';
import { Reader, Writer } from '../codec/index.ts';

const MAX_FRAME_BYTES = 64 << 20;
export const MAX_BLOCKS_PER_REPLY = 256;
const MAX_BLOCK_BYTES = 64 << 20;
const MAX_BLOB_BYTES = 48 << 20;

/** Ask a peer for blocks [fromHeight, toHeight] (it replies with the highest ones it has, at most a page),
 * and, if snapshotSeq > 0, for its stable snapshot at that seq whose block hash is snapshotDigest. */
export interface StateRequest {
  readonly type: 'request';
  readonly id: number;
  readonly fromHeight: number;
  readonly toHeight: number;
  readonly snapshotSeq: number;
  readonly snapshotDigest: Uint8Array;
}

export interface StateReply {
  readonly type: 'reply';
  readonly id: number;
  /** The height the peer's app is at (a follower learns from it how far there is to go). */
  readonly tip: number;
  /** Encoded blocks, ascending and contiguous, ending at the highest height asked for that the peer has. */
  readonly blocks: Uint8Array[];
  /** The attestation certificate of each block, where the peer has one (aligned with `blocks`). */
  readonly attestations: (Uint8Array | null)[];
  readonly snapshot: { readonly app: Uint8Array; readonly replicaState: Uint8Array; readonly certificate: Uint8Array } | null;
}

export type StateMessage = StateRequest | StateReply;

export class FrameError extends Error {
  override readonly name = 'FrameError';
  constructor(readonly reason: 'malformed' | 'oversize' | 'unknown-type') {
    super(`state-transfer frame rejected: ${reason}`);
  }
}

export function encodeStateMessage(m: StateMessage): Uint8Array {
  const w = new Writer(256);
  if (m.type === 'request') {
    w.uint(1);
    w.uint(m.id);
    w.uint(m.fromHeight);
    w.uint(m.toHeight);
    w.uint(m.snapshotSeq);
    w.fixed(m.snapshotDigest);
  } else {
    if (m.attestations.length !== m.blocks.length) throw new FrameError('malformed');
    w.uint(2);
    w.uint(m.id);
    w.uint(m.tip);
    w.uint(m.blocks.length);
    m.blocks.forEach((b, i) => {
      w.bytes(b);
      w.option(m.attestations[i], (x, a) => x.bytes(a));
    });
    w.bool(m.snapshot !== null);
    if (m.snapshot) {
      w.bytes(m.snapshot.app);
      w.bytes(m.snapshot.replicaState);
      w.bytes(m.snapshot.certificate);
    }
  }
  return w.finish();
}

export function decodeStateMessage(bytes: Uint8Array): StateMessage {
  const r = new Reader(bytes, MAX_FRAME_BYTES);
  if (!r.ok) throw new FrameError('oversize');
  const type = r.uint(255);
  let m: StateMessage;
  if (type === 1) {
    m = {
      type: 'request',
      id: r.uint(),
      fromHeight: r.uint(),
      toHeight: r.uint(),
      snapshotSeq: r.uint(),
      snapshotDigest: r.fixed(32),
    };
  } else if (type === 2) {
    const id = r.uint();
    const tip = r.uint();
    const count = r.uint(MAX_BLOCKS_PER_REPLY);
    const blocks: Uint8Array[] = [];
    const attestations: (Uint8Array | null)[] = [];
    for (let i = 0; i < count && r.ok; i++) {
      blocks.push(r.bytes(MAX_BLOCK_BYTES));
      attestations.push(r.bool() ? r.bytes(MAX_ATTESTATION_CERTIFICATE_BYTES) : null);
    }
    const has = r.bool();
    const snapshot = has ? { app: r.bytes(MAX_BLOB_BYTES), replicaState: r.bytes(MAX_BLOB_BYTES), certificate: r.bytes(1 << 20) } : null;
    m = { type: 'reply', id, tip, blocks, attestations, snapshot };
  } else {
    if (r.ok) throw new FrameError('unknown-type');
    throw new FrameError('malformed');
  }
  if (!r.end()) throw new FrameError(r.error === 'Oversize' ? 'oversize' : 'malformed');
  return m;
}

/**
 * What travels on CHANNEL_ATTEST: a validator's vote (an encoded attestation), or a block's whole certificate,
 * sent back to a validator whose vote came after the height was certified (it executed that block late, and
 * would otherwise never gather the quorum itself).
 */
export type AttestMessage =
  | { readonly type: 'vote'; readonly attestation: Uint8Array }
  | { readonly type: 'certificate'; readonly height: number; readonly blockHash: Uint8Array; readonly certificate: Uint8Array };

export function encodeAttestMessage(m: AttestMessage): Uint8Array {
  const w = new Writer(m.type === 'vote' ? m.attestation.length + 4 : m.certificate.length + 48);
  if (m.type === 'vote') {
    w.uint(1);
    w.bytes(m.attestation);
  } else {
    w.uint(2);
    w.uint(m.height);
    w.fixed(m.blockHash);
    w.bytes(m.certificate);
  }
  return w.finish();
}

export function decodeAttestMessage(bytes: Uint8Array): AttestMessage {
  const r = new Reader(bytes, MAX_ATTESTATION_CERTIFICATE_BYTES + 64);
  const type = r.uint(255);
  let m: AttestMessage;
  if (type === 1) m = { type: 'vote', attestation: r.bytes(256) };
  else if (type === 2) m = { type: 'certificate', height: r.uint(), blockHash: r.fixed(32), certificate: r.bytes(MAX_ATTESTATION_CERTIFICATE_BYTES) };
  else throw new FrameError(r.ok ? 'unknown-type' : 'malformed');
  if (!r.end()) throw new FrameError('malformed');
  return m;
}

/**
 * A PBFT frame: CHANNEL_PBFT ‖ uint(epoch number) ‖ the replica's message bytes (one copy), so a node drops
 * (or, for the next epoch, briefly holds) messages of another epoch before its replica ever reads them.
 */
export function pbftFrame(epoch: number, message: Uint8Array): Uint8Array {
  if (!Number.isSafeInteger(epoch) || epoch < 0) throw new FrameError('malformed');
  let n = 1;
  for (let v = epoch; v >= 0x80; v = Math.floor(v / 128)) n++;
  const out = new Uint8Array(1 + n + message.length);
  out[0] = CHANNEL_PBFT;
  let v = epoch;
  for (let i = 1; i <= n; i++) {
    out[i] = i < n ? (v % 128) | 0x80 : v;
    v = Math.floor(v / 128);
  }
  out.set(message, 1 + n);
  return out;
}

/** The epoch number and the replica's message bytes of a PBFT frame's payload (after the channel byte), or null. */
export function decodePbftPayload(payload: Uint8Array): { epoch: number; message: Uint8Array } | null {
  const r = new Reader(payload, MAX_FRAME_BYTES);
  const epoch = r.uint();
  if (!r.ok) return null;
  return { epoch, message: payload.subarray(r.offset()) };
}
