// SHA-256 and SHA-512 (FIPS 180-4): one frame (block buffering, padding, finalization) over the generated
// initial states and compression functions (compress.ts), instantiated per word type: Sha256 (u32 words) or
// Sha512 (u64 words). Every size and offset below is a constant of the instantiation. Allocation-free: the
// caller owns the context memory.
//
// Context layout, w the word size: state 8 words (8w) | total length u64 (8) | buffered count u32 (4) + pad
// (4) | block (16w): 112 bytes for SHA-256, 208 for SHA-512.
import { compress256, compress512, initState256, initState512 } from './compress';

export type Sha256 = u32;
export type Sha512 = u64;

/** The larger context (SHA-512's); a SHA-256 context needs 112 bytes. */
export const SHA512_CTX_BYTES: usize = 208;

function compress<W>(ctx: usize, block: usize): void {
  if (sizeof<W>() == 4) compress256(ctx, block);
  else compress512(ctx, block);
}

export function shaInit<W>(ctx: usize): void {
  if (sizeof<W>() == 4) initState256(ctx);
  else initState512(ctx);
  const total: usize = ctx + 8 * sizeof<W>();
  store<u64>(total, 0);
  store<u32>(total + 8, 0);
}

export function shaUpdate<W>(ctx: usize, data: usize, len: usize): void {
  const blockBytes: usize = 16 * sizeof<W>();
  const total: usize = ctx + 8 * sizeof<W>(),
    count = total + 8,
    buf = total + 16;
  let used = <usize>load<u32>(count);
  store<u64>(total, load<u64>(total) + <u64>len);
  if (used > 0) {
    const take = min<usize>(blockBytes - used, len);
    memory.copy(buf + used, data, take);
    used += take;
    data += take;
    len -= take;
    if (used < blockBytes) {
      store<u32>(count, <u32>used);
      return;
    }
    compress<W>(ctx, buf);
  }
  while (len >= blockBytes) {
    compress<W>(ctx, data);
    data += blockBytes;
    len -= blockBytes;
  }
  if (len > 0) memory.copy(buf, data, len);
  store<u32>(count, <u32>len);
}

/** Writes the digest (8 words, big-endian) to out and wipes the context. */
export function shaFinal<W>(ctx: usize, out: usize): void {
  const blockBytes: usize = 16 * sizeof<W>();
  // The message length in bits closes the last block, in 2w bytes: 64 bits for SHA-256, 128 for SHA-512.
  const room: usize = blockBytes - 2 * sizeof<W>();
  const total: usize = ctx + 8 * sizeof<W>(),
    buf = total + 16;
  let used = <usize>load<u32>(total + 8);
  const bytes = load<u64>(total);
  store<u8>(buf + used, 0x80);
  used++;
  if (used > room) {
    memory.fill(buf + used, 0, blockBytes - used);
    compress<W>(ctx, buf);
    used = 0;
  }
  memory.fill(buf + used, 0, room - used);
  if (sizeof<W>() == 8) store<u64>(buf + room, bswap<u64>(bytes >> 61));
  store<u64>(buf + blockBytes - 8, bswap<u64>(bytes << 3));
  compress<W>(ctx, buf);
  for (let i: usize = 0; i < 8; i++) store<W>(out + i * sizeof<W>(), bswap<W>(load<W>(ctx + i * sizeof<W>())));
  memory.fill(ctx, 0, 8 * sizeof<W>() + 16 + blockBytes);
}

const ONESHOT = memory.data(<i32>SHA512_CTX_BYTES, 8);

/** The digest of len bytes at data into out (32 or 64 bytes), through a static context. */
export function shaDigest<W>(data: usize, len: usize, out: usize): void {
  shaInit<W>(ONESHOT);
  shaUpdate<W>(ONESHOT, data, len);
  shaFinal<W>(ONESHOT, out);
}
