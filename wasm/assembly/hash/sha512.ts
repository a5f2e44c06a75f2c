// SHA-512 (FIPS 180-4). Allocation-free: the caller owns the context memory.
import { compress512 } from './compress';

// Context layout: state 8×u64 (64) | total length u64 (8) | buffered count u32 (4) + pad (4) | block 128.
export const SHA512_CTX_BYTES: usize = 208;

export function sha512Init(ctx: usize): void {
  store<u64>(ctx, 0x6a09e667f3bcc908, 0);
  store<u64>(ctx, 0xbb67ae8584caa73b, 8);
  store<u64>(ctx, 0x3c6ef372fe94f82b, 16);
  store<u64>(ctx, 0xa54ff53a5f1d36f1, 24);
  store<u64>(ctx, 0x510e527fade682d1, 32);
  store<u64>(ctx, 0x9b05688c2b3e6c1f, 40);
  store<u64>(ctx, 0x1f83d9abfb41bd6b, 48);
  store<u64>(ctx, 0x5be0cd19137e2179, 56);
  store<u64>(ctx, 0, 64);
  store<u32>(ctx, 0, 72);
}

export function sha512Update(ctx: usize, data: usize, len: usize): void {
  const buf = ctx + 80;
  let used = <usize>load<u32>(ctx, 72);
  store<u64>(ctx, load<u64>(ctx, 64) + <u64>len, 64);
  if (used > 0) {
    const take = min<usize>(128 - used, len);
    memory.copy(buf + used, data, take);
    used += take;
    data += take;
    len -= take;
    if (used < 128) {
      store<u32>(ctx, <u32>used, 72);
      return;
    }
    compress512(ctx, buf);
    used = 0;
  }
  while (len >= 128) {
    compress512(ctx, data);
    data += 128;
    len -= 128;
  }
  if (len > 0) memory.copy(buf, data, len);
  store<u32>(ctx, <u32>len, 72);
}

export function sha512Final(ctx: usize, out64: usize): void {
  const buf = ctx + 80;
  let used = <usize>load<u32>(ctx, 72);
  const bits = load<u64>(ctx, 64) << 3;
  const hiBits = load<u64>(ctx, 64) >> 61;
  store<u8>(buf + used, 0x80);
  used++;
  if (used > 112) {
    memory.fill(buf + used, 0, 128 - used);
    compress512(ctx, buf);
    used = 0;
  }
  memory.fill(buf + used, 0, 112 - used);
  store<u64>(buf + 112, bswap<u64>(hiBits));
  store<u64>(buf + 120, bswap<u64>(bits));
  compress512(ctx, buf);
  for (let i: usize = 0; i < 8; i++) store<u64>(out64 + (i << 3), bswap<u64>(load<u64>(ctx + (i << 3))));
  memory.fill(ctx, 0, SHA512_CTX_BYTES);
}

const ONESHOT512 = memory.data(<i32>SHA512_CTX_BYTES, 8);

export function sha512Digest(data: usize, len: usize, out64: usize): void {
  sha512Init(ONESHOT512);
  sha512Update(ONESHOT512, data, len);
  sha512Final(ONESHOT512, out64);
}
