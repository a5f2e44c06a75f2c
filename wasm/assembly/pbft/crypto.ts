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

// signingBytes(tag, body) is signingBytes(tag, empty) ‖ body: the hot path assembles it in one reusable
// buffer instead of allocating a copy of every body it checks.
const EMPTY = new Uint8Array(0);
const prefixes = new Map<string, Uint8Array>();
let scratch = new Uint8Array(4096);

function signedMessage(tag: string, body: Uint8Array): usize {
  let prefix: Uint8Array;
  if (prefixes.has(tag)) prefix = prefixes.get(tag);
  else {
    prefix = signingBytes(tag, EMPTY);
    prefixes.set(tag, prefix);
  }
  const len = prefix.length + body.length;
  if (scratch.length < len) {
    let cap = scratch.length;
    while (cap < len) cap <<= 1;
    scratch = new Uint8Array(cap);
  }
  memory.copy(scratch.dataStart, prefix.dataStart, <usize>prefix.length);
  memory.copy(scratch.dataStart + <usize>prefix.length, body.dataStart, <usize>body.length);
  return <usize>len;
}

/** Signs signingBytes(tag, body) with the replica's seed and its (self-derived) public key. */
export function signBody(tag: string, body: Uint8Array, seed: Uint8Array, pk: Uint8Array): Uint8Array {
  const len = signedMessage(tag, body);
  const sig = new Uint8Array(SIG_BYTES);
  ed25519SignDetached(seed.dataStart, pk.dataStart, scratch.dataStart, len, sig.dataStart);
  return sig;
}

export function verifyBody(tag: string, body: Uint8Array, pk: Uint8Array, sig: Uint8Array): bool {
  if (sig.length != SIG_BYTES || pk.length != 32) return false;
  const len = signedMessage(tag, body);
  return ed25519VerifyDetached(pk.dataStart, scratch.dataStart, len, sig.dataStart);
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
