// The replica's only door to hashing and signatures (owned by the hash and sign subsystems).
import { sha256Digest } from "../hash/sha256";
import { ed25519SignDetached, ed25519VerifyDetached } from "../sign/ed25519";
import { signingBytes } from "../codec/domain";
import { SIG_BYTES } from "./constants";

export function sha256(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(32);
  sha256Digest(data.dataStart, <usize>data.length, out.dataStart);
  return out;
}

// Every replica signature covers signingBytes(tag, epochId ‖ body): the tag names the message type and the
// epoch id (32 bytes) the validator set and the seq it started at, so a vote signed in one epoch is never a
// vote in another. signingBytes(tag, x) is signingBytes(tag, empty) ‖ x, so the hot path assembles it in one
// reusable buffer instead of allocating a copy of every body it checks.
const EMPTY = new Uint8Array(0);
const prefixes = new Map<string, Uint8Array>();
let scratch = new Uint8Array(4096);

function signedMessage(tag: string, epoch: Uint8Array, body: Uint8Array): usize {
  let prefix: Uint8Array;
  if (prefixes.has(tag)) prefix = prefixes.get(tag);
  else {
    prefix = signingBytes(tag, EMPTY);
    prefixes.set(tag, prefix);
  }
  const len = prefix.length + epoch.length + body.length;
  if (scratch.length < len) {
    let cap = scratch.length;
    while (cap < len) cap <<= 1;
    scratch = new Uint8Array(cap);
  }
  let p = scratch.dataStart;
  memory.copy(p, prefix.dataStart, <usize>prefix.length);
  p += <usize>prefix.length;
  memory.copy(p, epoch.dataStart, <usize>epoch.length);
  p += <usize>epoch.length;
  memory.copy(p, body.dataStart, <usize>body.length);
  return <usize>len;
}

/** Signs signingBytes(tag, epoch ‖ body) with a seed and its (self-derived) public key. */
export function signBody(tag: string, epoch: Uint8Array, body: Uint8Array, seed: Uint8Array, pk: Uint8Array): Uint8Array {
  const len = signedMessage(tag, epoch, body);
  const sig = new Uint8Array(SIG_BYTES);
  ed25519SignDetached(seed.dataStart, pk.dataStart, scratch.dataStart, len, sig.dataStart);
  return sig;
}

/** Checks a signature over signingBytes(tag, epoch ‖ body). `epoch` is empty for client requests. */
export function verifyBody(tag: string, epoch: Uint8Array, body: Uint8Array, pk: Uint8Array, sig: Uint8Array): bool {
  if (sig.length != SIG_BYTES || pk.length != 32) return false;
  const len = signedMessage(tag, epoch, body);
  return ed25519VerifyDetached(pk.dataStart, scratch.dataStart, len, sig.dataStart);
}

/** No epoch: what client requests are signed under (a client's signature is the client's, not a validator's). */
export const NO_EPOCH = EMPTY;

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
