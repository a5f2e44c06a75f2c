// What the JS face needs to sign and verify through linear memory: fixed regions for keys and signatures and
// one message region; longer messages go through a heap block. Every call that takes a secret wipes the
// region it came in through, and the signing code wipes its scratch region, before returning.
import { ed25519DerivePublicKey, ed25519ExpandSeed, ed25519PublicKeyOfExpanded, ed25519SignExpanded, ed25519VerifyDetached } from './ed25519';
import { SCRATCH, SCRATCH_BYTES } from './scratch';
import { BATCH_ENTRY_BYTES, ed25519ClearKeyCache, ed25519KeyTablesBuilt, ed25519VerifyBatch } from './batch';

export const SIGN_MESSAGE_BYTES: i32 = 65536;
export const SIGN_SCRATCH_BYTES: i32 = <i32>SCRATCH_BYTES;
export const SIGN_BATCH_ENTRY_BYTES: i32 = <i32>BATCH_ENTRY_BYTES;
const SEED = memory.data(32, 16);
const SECRET = memory.data(64, 16); // an expanded secret key: clamped scalar a ‖ nonce prefix
const PUBLIC_KEY = memory.data(32, 16);
const SIGNATURE = memory.data(64, 16);
const MESSAGE = memory.data(SIGN_MESSAGE_BYTES, 16);

/**
 * The regions by number, for the face, which looks each up once: 0 seed, 1 expanded secret, 2 public key,
 * 3 signature, 4 message, 5 the signing scratch (tests read it back to check that it was wiped).
 */
const REGIONS: StaticArray<usize> = [SEED, SECRET, PUBLIC_KEY, SIGNATURE, MESSAGE, SCRATCH];

export function signRegionPtr(region: i32): usize {
  return REGIONS[region];
}

/** Derives the public key of the seed region into the public-key region, then wipes the seed region. */
export function signDerivePublicKey(): void {
  ed25519DerivePublicKey(SEED, PUBLIC_KEY);
  memory.fill(SEED, 0, 32);
}

/**
 * Expands the seed region into the secret region and derives its public key into the public-key region, then
 * wipes the seed region. The caller copies the secret out and calls signWipeSecret.
 */
export function signExpandSeed(): void {
  ed25519ExpandSeed(SEED, SECRET);
  memory.fill(SEED, 0, 32);
  ed25519PublicKeyOfExpanded(SECRET, PUBLIC_KEY);
}

export function signWipeSecret(): void {
  memory.fill(SECRET, 0, 64);
}

/** Signs `len` bytes at `msg` with the secret region and the public-key region, then wipes the secret. */
export function signWithSecret(msg: usize, len: usize): void {
  ed25519SignExpanded(SECRET, PUBLIC_KEY, msg, len, SIGNATURE);
  memory.fill(SECRET, 0, 64);
}

export function signVerify(msg: usize, len: usize): bool {
  return ed25519VerifyDetached(PUBLIC_KEY, msg, len, SIGNATURE);
}

/**
 * Verifies `count` entries (SIGN_BATCH_ENTRY_BYTES each: pk ptr, sig ptr, msg ptr, msg len) laid out by the
 * face in a heap block; writes one verdict byte per entry and returns the number of invalid entries.
 */
export function signVerifyBatch(entries: usize, count: i32, verdicts: usize): i32 {
  return ed25519VerifyBatch(entries, count, verdicts);
}

/** Forgets the decoded public keys the batch verifier keeps. */
export function signClearKeyCache(): void {
  ed25519ClearKeyCache();
}

/** How many key tables the batch verifier has built (each costs about three verifications). */
export function signKeyTablesBuilt(): u32 {
  return ed25519KeyTablesBuilt();
}

/** A heap block for a message larger than the message region; the face frees it right after use. */
export function signAlloc(len: usize): usize {
  return heap.alloc(len);
}

export function signFree(ptr: usize): void {
  heap.free(ptr);
}
