// The replica's only door to hashing and signatures (owned by the hash and sign subsystems), and the counters
// the consensus bench reads to split the replica's time between them.
import { Sha256, shaDigest } from '../hash/sha2';
import { ed25519SignDetached, ed25519VerifyDetached } from '../sign/ed25519';
import { BATCH_ENTRY_BYTES, ed25519VerifyBatch } from '../sign/batch';
import { signingBytes } from '../codec/domain';
import { SIG_BYTES } from './constants';

/** What the replica's crypto did since the module started (read by pbftCryptoCounters). */
export class CryptoCounters {
  signatures: f64 = 0;
  /** Signatures checked one by one. */
  verifications: f64 = 0;
  /** Signatures checked inside batches, and the batches. */
  batchedVerifications: f64 = 0;
  batches: f64 = 0;
  hashes: f64 = 0;
  hashedBytes: f64 = 0;
}
export const counters = new CryptoCounters();

export function sha256(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(32);
  shaDigest<Sha256>(data.dataStart, <usize>data.length, out.dataStart);
  counters.hashes += 1;
  counters.hashedBytes += <f64>data.length;
  return out;
}

// Every replica signature covers signingBytes(tag, epochId ‖ body): the tag names the message type and the
// epoch id (32 bytes) the validator set and the seq it started at, so a vote signed in one epoch is never a
// vote in another. signingBytes(tag, x) is signingBytes(tag, empty) ‖ x, so the hot path assembles it in one
// reusable buffer instead of allocating a copy of every body it checks.
const EMPTY = new Uint8Array(0);
const prefixes = new Map<string, Uint8Array>();
let scratch = new Uint8Array(4096);

/** No epoch: what client requests are signed under (a client's signature is the client's, not a validator's). */
export const NO_EPOCH = EMPTY;

function prefixOf(tag: string): Uint8Array {
  if (prefixes.has(tag)) return prefixes.get(tag);
  const prefix = signingBytes(tag, EMPTY);
  prefixes.set(tag, prefix);
  return prefix;
}

function grow(buf: Uint8Array, len: i32, keep: i32): Uint8Array {
  if (buf.length >= len) return buf;
  let cap = buf.length;
  while (cap < len) cap <<= 1;
  const next = new Uint8Array(cap);
  if (keep > 0) memory.copy(next.dataStart, buf.dataStart, <usize>keep);
  return next;
}

/** Writes prefix(tag) ‖ epoch ‖ body at `at` in `buf` (which must hold it). */
function writeSigned(buf: Uint8Array, at: i32, prefix: Uint8Array, epoch: Uint8Array, body: Uint8Array): void {
  let p = buf.dataStart + <usize>at;
  memory.copy(p, prefix.dataStart, <usize>prefix.length);
  p += <usize>prefix.length;
  memory.copy(p, epoch.dataStart, <usize>epoch.length);
  p += <usize>epoch.length;
  memory.copy(p, body.dataStart, <usize>body.length);
}

function signedMessage(tag: string, epoch: Uint8Array, body: Uint8Array): usize {
  const prefix = prefixOf(tag);
  const len = prefix.length + epoch.length + body.length;
  scratch = grow(scratch, len, 0);
  writeSigned(scratch, 0, prefix, epoch, body);
  return <usize>len;
}

/** Signs signingBytes(tag, epoch ‖ body) with a seed and its (self-derived) public key. */
export function signBody(tag: string, epoch: Uint8Array, body: Uint8Array, seed: Uint8Array, pk: Uint8Array): Uint8Array {
  const len = signedMessage(tag, epoch, body);
  const sig = new Uint8Array(SIG_BYTES);
  ed25519SignDetached(seed.dataStart, pk.dataStart, scratch.dataStart, len, sig.dataStart);
  counters.signatures += 1;
  return sig;
}

/** Checks a signature over signingBytes(tag, epoch ‖ body). `epoch` is empty for client requests. */
export function verifyBody(tag: string, epoch: Uint8Array, body: Uint8Array, pk: Uint8Array, sig: Uint8Array): bool {
  if (sig.length != SIG_BYTES || pk.length != 32) return false;
  const len = signedMessage(tag, epoch, body);
  counters.verifications += 1;
  return ed25519VerifyDetached(pk.dataStart, scratch.dataStart, len, sig.dataStart);
}

/**
 * Signatures checked together: add them, then verify() says which are bad. Each signed message is laid out
 * in one buffer the batch owns, and the sign subsystem's batch verifier (sign/batch.ts) checks them all in one
 * call: each entry exactly as single verification would (no random linear combination, so nothing an attacker
 * crafts can cancel out and no randomness enters the replica), sharing the tables of keys it has seen before
 * (validators, returning clients) and one field inversion.
 */
export class SigBatch {
  private msgs: Uint8Array = new Uint8Array(4096);
  private used: i32 = 0;
  private offsets: Array<i32> = new Array();
  private lengths: Array<i32> = new Array();
  private keys: Array<Uint8Array> = new Array();
  private sigs: Array<Uint8Array> = new Array();
  private entries: Uint8Array = new Uint8Array(64 * <i32>BATCH_ENTRY_BYTES);
  private verdicts: Uint8Array = new Uint8Array(64);

  get count(): i32 {
    return this.keys.length;
  }

  add(tag: string, epoch: Uint8Array, body: Uint8Array, pk: Uint8Array, sig: Uint8Array): void {
    const prefix = prefixOf(tag);
    const len = prefix.length + epoch.length + body.length;
    this.msgs = grow(this.msgs, this.used + len, this.used);
    writeSigned(this.msgs, this.used, prefix, epoch, body);
    this.offsets.push(this.used);
    this.lengths.push(len);
    this.keys.push(pk);
    this.sigs.push(sig);
    this.used += len;
  }

  /**
   * Verifies every entry; the indices of the invalid ones, in order (empty: all valid). The batch is emptied.
   * `secret` is not needed by an exact batch verifier (it seeded the coefficients of a randomized one); the
   * callers keep passing it.
   */
  verify(secret: Uint8Array): Array<i32> {
    const bad = new Array<i32>();
    const count = this.keys.length;
    if (count > 0) {
      // A malformed key or signature can never verify: name it without spending a check on it.
      this.entries = grow(this.entries, count * <i32>BATCH_ENTRY_BYTES, 0);
      this.verdicts = grow(this.verdicts, count, 0);
      let well = 0;
      for (let i = 0; i < count; i++) {
        const pk = unchecked(this.keys[i]);
        const sig = unchecked(this.sigs[i]);
        if (pk.length != 32 || sig.length != SIG_BYTES) continue;
        const e = this.entries.dataStart + <usize>well * BATCH_ENTRY_BYTES;
        store<u32>(e, <u32>pk.dataStart, 0);
        store<u32>(e, <u32>sig.dataStart, 4);
        store<u32>(e, <u32>(this.msgs.dataStart + <usize>unchecked(this.offsets[i])), 8);
        store<u32>(e, <u32>unchecked(this.lengths[i]), 12);
        well++;
      }
      if (well > 0) {
        counters.batches += 1;
        counters.batchedVerifications += <f64>well;
        ed25519VerifyBatch(this.entries.dataStart, well, this.verdicts.dataStart);
      }
      let w = 0;
      for (let i = 0; i < count; i++) {
        const pk = unchecked(this.keys[i]);
        const sig = unchecked(this.sigs[i]);
        if (pk.length != 32 || sig.length != SIG_BYTES) bad.push(i);
        else {
          if (load<u8>(this.verdicts.dataStart + <usize>w) == 0) bad.push(i);
          w++;
        }
      }
    }
    this.reset();
    return bad;
  }

  reset(): void {
    this.used = 0;
    this.offsets.length = 0;
    this.lengths.length = 0;
    this.keys.length = 0;
    this.sigs.length = 0;
  }
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): bool {
  const n = a.length;
  if (n != b.length) return false;
  return memory.compare(a.dataStart, b.dataStart, <usize>n) == 0;
}

/** Lexicographic byte order: negative, zero or positive. */
export function bytesCompare(a: Uint8Array, b: Uint8Array): i32 {
  const n = min(a.length, b.length);
  const c = memory.compare(a.dataStart, b.dataStart, <usize>n);
  if (c != 0) return c;
  return a.length - b.length;
}

/** A 64-bit bucket key from the first bytes of a digest or public key (buckets compare full bytes). */
export function bucketOf(b: Uint8Array): u64 {
  return b.length >= 8 ? load<u64>(b.dataStart) : 0;
}
