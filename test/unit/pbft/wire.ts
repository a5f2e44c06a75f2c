// A test-side reading of the replica's wire format (independent of the wasm codec): enough to look inside
// messages, forge them and re-sign them like a Byzantine peer would.
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';

ed.hashes.sha512 = sha512;

export const MsgType = { Request: 1, PrePrepare: 2, Prepare: 3, Commit: 4, Checkpoint: 5, ViewChange: 6, NewView: 7 } as const;
const TAGS: Record<number, string> = {
  2: 'hygeia/pbft/preprepare/v1',
  3: 'hygeia/pbft/prepare/v1',
  4: 'hygeia/pbft/commit/v1',
  5: 'hygeia/pbft/checkpoint/v1',
  6: 'hygeia/pbft/viewchange/v1',
  7: 'hygeia/pbft/newview/v1',
};

export function uvarint(v: number): number[] {
  const out: number[] = [];
  let x = BigInt(v);
  do {
    let b = Number(x & 0x7fn);
    x >>= 7n;
    if (x !== 0n) b |= 0x80;
    out.push(b);
  } while (x !== 0n);
  return out;
}

export class Cursor {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}
  uint(): number {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      const b = this.buf[this.pos++];
      if (b === undefined) throw new Error('truncated');
      v |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) break;
      shift += 7n;
    }
    return Number(v);
  }
  fixed(n: number): Uint8Array {
    if (this.pos + n > this.buf.length) throw new Error('truncated');
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  bytes(): Uint8Array {
    return this.fixed(this.uint());
  }
  rest(): Uint8Array {
    return this.buf.subarray(this.pos);
  }
}

export function concat(...parts: (Uint8Array | number[])[]): Uint8Array {
  const arrs = parts.map((p) => (p instanceof Uint8Array ? p : Uint8Array.from(p)));
  const out = new Uint8Array(arrs.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of arrs) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export const lenPrefixed = (b: Uint8Array): Uint8Array => concat(uvarint(b.length), b);

export interface Wire {
  type: number;
  body: Uint8Array;
  sig: Uint8Array;
  tail: Uint8Array;
}

export function parseWire(bytes: Uint8Array): Wire {
  const c = new Cursor(bytes);
  const type = c.uint();
  const body = c.bytes();
  if (type === MsgType.Request) return { type, body, sig: new Uint8Array(0), tail: new Uint8Array(0) };
  const sig = c.fixed(64);
  return { type, body, sig, tail: c.rest() };
}

/** The fields every signed body starts with: sender, then view (or seq for checkpoints), then seq. */
export function header(bytes: Uint8Array): { type: number; sender: number; a: number; b: number } {
  const w = parseWire(bytes);
  const c = new Cursor(w.body);
  return { type: w.type, sender: c.uint(), a: c.uint(), b: w.type === MsgType.Checkpoint ? 0 : c.uint() };
}

export function signingBytes(tag: string, body: Uint8Array): Uint8Array {
  return concat(uvarint(tag.length), new TextEncoder().encode(tag), body);
}

/** The default epoch's id (a replica started without `epoch`): 32 zero bytes. */
export const DEFAULT_EPOCH = new Uint8Array(32);

/** Signs as a replica of `epoch` does: signingBytes(tag, epochId ‖ body). */
export function sign(type: number, body: Uint8Array, seed: Uint8Array, epoch: Uint8Array = DEFAULT_EPOCH): Uint8Array {
  return ed.sign(signingBytes(TAGS[type]!, concat(epoch, body)), seed);
}

export function envelope(type: number, body: Uint8Array, sig: Uint8Array, tail: Uint8Array = new Uint8Array(0)): Uint8Array {
  return concat(uvarint(type), lenPrefixed(body), sig, tail);
}

/** A message signed by `seed` as a Byzantine sender would build it. */
export function forge(type: number, body: Uint8Array, seed: Uint8Array, tail?: Uint8Array, epoch?: Uint8Array): Uint8Array {
  return envelope(type, body, sign(type, body, seed, epoch), tail);
}

export function voteBody(sender: number, view: number, seq: number, digest: Uint8Array): Uint8Array {
  return concat(uvarint(sender), uvarint(view), uvarint(seq), digest);
}

export function prePrepareBody(sender: number, view: number, seq: number, time: number, digest: Uint8Array): Uint8Array {
  return concat(uvarint(sender), uvarint(view), uvarint(seq), uvarint(time), digest);
}

export function batchTail(requests: Uint8Array[]): Uint8Array {
  return concat(uvarint(requests.length), ...requests.map(lenPrefixed));
}

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
