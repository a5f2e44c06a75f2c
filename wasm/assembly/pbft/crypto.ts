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

/** Signs signingBytes(tag, body) with the replica's seed and its (self-derived) public key. */
export function signBody(tag: string, body: Uint8Array, seed: Uint8Array, pk: Uint8Array): Uint8Array {
  const m = signingBytes(tag, body);
  const sig = new Uint8Array(SIG_BYTES);
  ed25519SignDetached(seed.dataStart, pk.dataStart, m.dataStart, <usize>m.length, sig.dataStart);
  return sig;
}

export function verifyBody(tag: string, body: Uint8Array, pk: Uint8Array, sig: Uint8Array): bool {
  if (sig.length != SIG_BYTES || pk.length != 32) return false;
  const m = signingBytes(tag, body);
  return ed25519VerifyDetached(pk.dataStart, m.dataStart, <usize>m.length, sig.dataStart);
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
