// What the JS face needs to hash through linear memory: one shared input region (inputs larger than it are
// fed in chunks through the streaming API) and heap-allocated streaming contexts. Inputs may be secrets (a
// staff key is sha256(tag ‖ seed)), so every call zeroes the part of the input region it read before
// returning; the compression functions keep their state in locals.
import { SHA256_CTX_BYTES, sha256Digest, sha256Final, sha256Init, sha256Update } from './sha256';
import { SHA512_CTX_BYTES, sha512Digest, sha512Final, sha512Init, sha512Update } from './sha512';

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
  sha256Digest(HASH_INPUT, len, HASH_OUTPUT);
  memory.fill(HASH_INPUT, 0, len);
}

export function sha512Input(len: usize): void {
  sha512Digest(HASH_INPUT, len, HASH_OUTPUT);
  memory.fill(HASH_INPUT, 0, len);
}

/** A streaming context: 256 or 512. Freed by hashContextFree (the face does so after the digest). */
export function hashContextNew(bits: i32): usize {
  if (bits == 256) {
    const ctx = heap.alloc(SHA256_CTX_BYTES);
    sha256Init(ctx);
    return ctx;
  }
  const ctx = heap.alloc(SHA512_CTX_BYTES);
  sha512Init(ctx);
  return ctx;
}

export function hashContextUpdate(bits: i32, ctx: usize, len: usize): void {
  if (bits == 256) sha256Update(ctx, HASH_INPUT, len);
  else sha512Update(ctx, HASH_INPUT, len);
  memory.fill(HASH_INPUT, 0, len);
}

/** Writes the digest to the output region, wipes the context and frees it. */
export function hashContextFinal(bits: i32, ctx: usize): void {
  if (bits == 256) sha256Final(ctx, HASH_OUTPUT);
  else sha512Final(ctx, HASH_OUTPUT);
  heap.free(ctx);
}

/** Frees a context dropped without a digest, zeroing its buffered input first. */
export function hashContextFree(ctx: usize): void {
  memory.fill(ctx, 0, max(SHA256_CTX_BYTES, SHA512_CTX_BYTES));
  heap.free(ctx);
}
