// SHA-256 (FIPS 180-4). Allocation-free: the caller owns the context memory.
const K256: StaticArray<u32> = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

// Context layout: state 8×u32 (32) | total length u64 (8) | buffered count u32 (4) + pad (4) | block 64.
export const SHA256_CTX_BYTES: usize = 112;
const W256 = memory.data(64 * 4);

function compress256(st: usize, block: usize): void {
  const w = W256;
  const k = changetype<usize>(K256);
  for (let i: usize = 0; i < 16; i++) store<u32>(w + (i << 2), bswap<u32>(load<u32>(block + (i << 2))));
  for (let i: usize = 16; i < 64; i++) {
    const w15 = load<u32>(w + ((i - 15) << 2));
    const w2 = load<u32>(w + ((i - 2) << 2));
    const s0 = rotr<u32>(w15, 7) ^ rotr<u32>(w15, 18) ^ (w15 >> 3);
    const s1 = rotr<u32>(w2, 17) ^ rotr<u32>(w2, 19) ^ (w2 >> 10);
    store<u32>(w + (i << 2), load<u32>(w + ((i - 16) << 2)) + s0 + load<u32>(w + ((i - 7) << 2)) + s1);
  }
  let a = load<u32>(st, 0), b = load<u32>(st, 4), c = load<u32>(st, 8), d = load<u32>(st, 12);
  let e = load<u32>(st, 16), f = load<u32>(st, 20), g = load<u32>(st, 24), h = load<u32>(st, 28);
  for (let i: usize = 0; i < 64; i += 4) {
    // Four rounds per iteration with the variables rotated by name, so no register shuffling is needed.
    let t1 = h + (rotr<u32>(e, 6) ^ rotr<u32>(e, 11) ^ rotr<u32>(e, 25)) + (g ^ (e & (f ^ g))) + load<u32>(k + (i << 2)) + load<u32>(w + (i << 2));
    d += t1;
    h = t1 + (rotr<u32>(a, 2) ^ rotr<u32>(a, 13) ^ rotr<u32>(a, 22)) + ((a & b) | (c & (a | b)));
    t1 = g + (rotr<u32>(d, 6) ^ rotr<u32>(d, 11) ^ rotr<u32>(d, 25)) + (f ^ (d & (e ^ f))) + load<u32>(k + (i << 2), 4) + load<u32>(w + (i << 2), 4);
    c += t1;
    g = t1 + (rotr<u32>(h, 2) ^ rotr<u32>(h, 13) ^ rotr<u32>(h, 22)) + ((h & a) | (b & (h | a)));
    t1 = f + (rotr<u32>(c, 6) ^ rotr<u32>(c, 11) ^ rotr<u32>(c, 25)) + (e ^ (c & (d ^ e))) + load<u32>(k + (i << 2), 8) + load<u32>(w + (i << 2), 8);
    b += t1;
    f = t1 + (rotr<u32>(g, 2) ^ rotr<u32>(g, 13) ^ rotr<u32>(g, 22)) + ((g & h) | (a & (g | h)));
    t1 = e + (rotr<u32>(b, 6) ^ rotr<u32>(b, 11) ^ rotr<u32>(b, 25)) + (d ^ (b & (c ^ d))) + load<u32>(k + (i << 2), 12) + load<u32>(w + (i << 2), 12);
    a += t1;
    e = t1 + (rotr<u32>(f, 2) ^ rotr<u32>(f, 13) ^ rotr<u32>(f, 22)) + ((f & g) | (h & (f | g)));
    // After four rounds the roles have rotated by four: (a..h) <- (e,f,g,h,a,b,c,d).
    const ta = a, tb = b, tc = c, td = d;
    a = e; b = f; c = g; d = h; e = ta; f = tb; g = tc; h = td;
  }
  store<u32>(st, load<u32>(st, 0) + a, 0);
  store<u32>(st, load<u32>(st, 4) + b, 4);
  store<u32>(st, load<u32>(st, 8) + c, 8);
  store<u32>(st, load<u32>(st, 12) + d, 12);
  store<u32>(st, load<u32>(st, 16) + e, 16);
  store<u32>(st, load<u32>(st, 20) + f, 20);
  store<u32>(st, load<u32>(st, 24) + g, 24);
  store<u32>(st, load<u32>(st, 28) + h, 28);
}

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
    used += take; data += take; len -= take;
    if (used < 64) { store<u32>(ctx, <u32>used, 40); return; }
    compress256(ctx, buf);
    used = 0;
  }
  while (len >= 64) {
    compress256(ctx, data);
    data += 64; len -= 64;
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
