// What the JS face needs to hash through linear memory: one shared input region (inputs larger than it are
// fed in chunks through the streaming API) and heap-allocated streaming contexts. Inputs may be secrets (a
// staff key is sha256(tag ‖ seed)), so every call zeroes the part of the input region it read before
// returning; the compression functions keep their state in locals.
import { Sha256, Sha512, SHA512_CTX_BYTES, shaDigest, shaFinal, shaInit, shaUpdate } from './sha2';

export const HASH_INPUT_BYTES: i32 = 65536;
const HASH_INPUT = memory.data(HASH_INPUT_BYTES, 16);
const HASH_OUTPUT = memory.data(64, 16);

export function hashInputPtr(): usize {
  return HASH_INPUT;
}

export function hashOutputPtr(): usize {
  return HASH_OUTPUT;
}

/** One-shot digest of the first `len` bytes of the input region into the output region. */
export function sha256Input(len: usize): void {
  shaDigest<Sha256>(HASH_INPUT, len, HASH_OUTPUT);
  memory.fill(HASH_INPUT, 0, len);
}

export function sha512Input(len: usize): void {
  shaDigest<Sha512>(HASH_INPUT, len, HASH_OUTPUT);
  memory.fill(HASH_INPUT, 0, len);
}

/**
 * A streaming context: 256 or 512. Freed by hashContextFree (the face does so after the digest). Both sizes
 * get SHA-512's 208 bytes, so that hashContextFree, which is not told the size, wipes only the block it owns.
 */
export function hashContextNew(bits: i32): usize {
  const ctx = heap.alloc(SHA512_CTX_BYTES);
  if (bits == 256) shaInit<Sha256>(ctx);
  else shaInit<Sha512>(ctx);
  return ctx;
}

export function hashContextUpdate(bits: i32, ctx: usize, len: usize): void {
  if (bits == 256) shaUpdate<Sha256>(ctx, HASH_INPUT, len);
  else shaUpdate<Sha512>(ctx, HASH_INPUT, len);
  memory.fill(HASH_INPUT, 0, len);
}

/** Writes the digest to the output region, wipes the context and frees it. */
export function hashContextFinal(bits: i32, ctx: usize): void {
  if (bits == 256) shaFinal<Sha256>(ctx, HASH_OUTPUT);
  else shaFinal<Sha512>(ctx, HASH_OUTPUT);
  heap.free(ctx);
}

/** Frees a context dropped without a digest, zeroing its buffered input first. */
export function hashContextFree(ctx: usize): void {
  memory.fill(ctx, 0, SHA512_CTX_BYTES);
  heap.free(ctx);
}
