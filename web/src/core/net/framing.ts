// Application messages on an authenticated link, fragmented when larger than one SCTP message. Sans-IO.
//
//   DATA  = 0x03 ‖ message                     a whole message (at most one chunk long)
//   FIRST = 0x06 ‖ uint(total) ‖ chunk          the first fragment of a message of `total` bytes (> one chunk)
//   MORE  = 0x07 ‖ chunk                        the next fragment; the message is complete when `total` arrived
//
// The data channel is ordered and reliable and a sender never interleaves two messages' fragments, so a link
// reassembles at most one message at a time. Memory is bounded three ways: a message may not claim more than
// `maxMessageBytes`; fragments are kept only as they arrive (a claim alone reserves nothing); and every link's
// partial messages draw on one shared budget, so many peers each sending part of a large message cannot add
// up to more than the node allows.

import { Reader, Writer } from '../codec/index.ts';

export const FRAME_DATA = 3;
export const FRAME_FIRST = 6;
export const FRAME_MORE = 7;

/** Largest application message (a release of a few hundred FHIR resources fits many times over). */
export const DEFAULT_MAX_MESSAGE_BYTES = 32 * 1024 * 1024;
/**
 * Payload bytes per fragment. Well under every browser's SCTP message limit (Chromium and Firefox: 256 KiB),
 * and small enough that a large message does not hold the channel for long between backpressure checks.
 */
export const DEFAULT_CHUNK_BYTES = 64 * 1024;
/** What all of a node's partial messages may hold at once. */
export const DEFAULT_REASSEMBLY_BUDGET_BYTES = 64 * 1024 * 1024;

export type FramingFailure =
  | 'oversize' // a message (claimed or delivered) larger than maxMessageBytes
  | 'fragment-sequence' // a fragment out of place: MORE without FIRST, DATA or FIRST inside a message, bytes past the total
  | 'reassembly-budget'; // the node's shared reassembly budget is exhausted

/** Splits a message into the frames that carry it. */
export function encodeMessage(message: Uint8Array, chunkBytes = DEFAULT_CHUNK_BYTES): Uint8Array[] {
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 1) throw new RangeError('chunkBytes must be a positive integer');
  if (message.length <= chunkBytes) return [prefixed(FRAME_DATA, message)];
  const frames: Uint8Array[] = [];
  const w = new Writer(16 + chunkBytes);
  w.uint(FRAME_FIRST);
  w.uint(message.length);
  w.fixed(message.subarray(0, chunkBytes));
  frames.push(w.finish());
  for (let at = chunkBytes; at < message.length; at += chunkBytes) frames.push(prefixed(FRAME_MORE, message.subarray(at, at + chunkBytes)));
  return frames;
}

function prefixed(kind: number, bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length + 1);
  out[0] = kind;
  out.set(bytes, 1);
  return out;
}

/** The bytes every link's partial messages may hold together. */
export class ReassemblyBudget {
  private used = 0;

  constructor(readonly maxBytes = DEFAULT_REASSEMBLY_BUDGET_BYTES) {}

  get inUse(): number {
    return this.used;
  }

  take(n: number): boolean {
    if (this.used + n > this.maxBytes) return false;
    this.used += n;
    return true;
  }

  give(n: number): void {
    this.used = Math.max(0, this.used - n);
  }
}

export type ReassemblyResult = { readonly message: Uint8Array } | { readonly fail: FramingFailure } | null;

/** One link's reassembly: frames in order, whole messages out. */
export class Reassembler {
  private total = 0;
  private parts: Uint8Array[] = [];
  private received = 0;
  private failed = false;

  constructor(
    private readonly maxMessageBytes: number,
    private readonly budget: ReassemblyBudget,
  ) {}

  /** Bytes of a partial message held now. */
  get pending(): number {
    return this.received;
  }

  /**
   * Takes one DATA, FIRST or MORE frame (its first byte says which): a whole message, a failure (after which
   * the link is to be dropped and nothing more is accepted), or null when a message is still incomplete.
   */
  push(frame: Uint8Array): ReassemblyResult {
    if (this.failed) return { fail: 'fragment-sequence' };
    const kind = frame[0];
    if (kind === FRAME_DATA) {
      if (this.total > 0) return this.fail('fragment-sequence');
      if (frame.length - 1 > this.maxMessageBytes) return this.fail('oversize');
      return { message: frame.slice(1) };
    }
    if (kind === FRAME_FIRST) {
      if (this.total > 0) return this.fail('fragment-sequence');
      const r = new Reader(frame, Number.MAX_SAFE_INTEGER);
      r.uint(255);
      const total = r.uint(Number.MAX_SAFE_INTEGER);
      if (!r.ok) return this.fail('fragment-sequence');
      const chunk = frame.subarray(frame.length - r.remaining());
      if (total > this.maxMessageBytes) return this.fail('oversize');
      // A message that fits one chunk travels as DATA; a FIRST that is already complete is out of place.
      if (chunk.length === 0 || chunk.length >= total) return this.fail('fragment-sequence');
      this.total = total;
      return this.add(chunk);
    }
    if (kind === FRAME_MORE) {
      if (this.total === 0) return this.fail('fragment-sequence');
      return this.add(frame.subarray(1));
    }
    return this.fail('fragment-sequence');
  }

  /** Gives back whatever a partial message holds (the link closed). */
  dispose(): void {
    this.budget.give(this.received);
    this.parts = [];
    this.received = 0;
    this.total = 0;
  }

  private add(chunk: Uint8Array): ReassemblyResult {
    if (chunk.length === 0 || this.received + chunk.length > this.total) return this.fail('fragment-sequence');
    if (!this.budget.take(chunk.length)) return this.fail('reassembly-budget');
    this.parts.push(chunk.slice());
    this.received += chunk.length;
    if (this.received < this.total) return null;
    const message = new Uint8Array(this.total);
    let at = 0;
    for (const p of this.parts) {
      message.set(p, at);
      at += p.length;
    }
    this.dispose();
    return { message };
  }

  private fail(reason: FramingFailure): ReassemblyResult {
    this.failed = true;
    this.dispose();
    return { fail: reason };
  }
}
