// SHA-256 (FIPS 180-4). Allocation-free: the caller owns the context memory.
import { compress256 } from './compress';

// Context layout: state 8×u32 (32) | total length u64 (8) | buffered count u32 (4) + pad (4) | block 64.
export const SHA256_CTX_BYTES: usize = 112;

export function sha256Init(ctx: usize): void {
  store<u32>(ctx, 0x6a09e667, 0);
  store<u32>(ctx, 0xbb67ae85, 4);
  store<u32>(ctx, 0x3c6ef372, 8);
  store<u32>(ctx, 0xa54ff53a, 12);
  store<u32>(ctx, 0x510e527f, 16);
  store<u32>(ctx, 0x9b05688c, 20);
  store<u32>(ctx, 0x1f83d9ab, 24);
  store<u32>(ctx, 0x5be0cd19, 28);
  store<u64>(ctx, 0, 32);
  store<u32>(ctx, 0, 40);
}

export function sha256Update(ctx: usize, data: usize, len: usize): void {
  const buf = ctx + 48;
  let used = <usize>load<u32>(ctx, 40);
  store<u64>(ctx, load<u64>(ctx, 32) + <u64>len, 32);
  if (used > 0) {
    const take = min<usize>(64 - used, len);
    memory.copy(buf + used, data, take);
    used += take;
    data += take;
    len -= take;
    if (used < 64) {
      store<u32>(ctx, <u32>used, 40);
      return;
    }
    compress256(ctx, buf);
    used = 0;
  }
  while (len >= 64) {
    compress256(ctx, data);
    data += 64;
    len -= 64;
  }
  if (len > 0) memory.copy(buf, data, len);
  store<u32>(ctx, <u32>len, 40);
}

export function sha256Final(ctx: usize, out32: usize): void {
  const buf = ctx + 48;
  let used = <usize>load<u32>(ctx, 40);
  const bits = load<u64>(ctx, 32) << 3;
  store<u8>(buf + used, 0x80);
  used++;
  if (used > 56) {
    memory.fill(buf + used, 0, 64 - used);
    compress256(ctx, buf);
    used = 0;
  }
  memory.fill(buf + used, 0, 56 - used);
  store<u64>(buf + 56, bswap<u64>(bits));
  compress256(ctx, buf);
  for (let i: usize = 0; i < 8; i++) store<u32>(out32 + (i << 2), bswap<u32>(load<u32>(ctx + (i << 2))));
  memory.fill(ctx, 0, SHA256_CTX_BYTES);
}

const ONESHOT256 = memory.data(<i32>SHA256_CTX_BYTES, 8);

export function sha256Digest(data: usize, len: usize, out32: usize): void {
  sha256Init(ONESHOT256);
  sha256Update(ONESHOT256, data, len);
  sha256Final(ONESHOT256, out32);
}
