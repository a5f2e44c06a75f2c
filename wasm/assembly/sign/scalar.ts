// Scalars modulo the group order L = 2^252 + 27742317777372353535851937790883648493, byte-wise as in
// TweetNaCl: small limbs keep every intermediate inside i64.

const L: StaticArray<i64> = [
  0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/** Reduces the 64 limbs in x (each a small signed value) modulo L into 32 bytes at out. Clobbers x. */
export function scModL(out: usize, x: StaticArray<i64>): void {
  let c: i64;
  for (let i = 63; i >= 32; --i) {
    c = 0;
    let j = i - 32;
    for (; j < i - 12; ++j) {
      unchecked((x[j] += c - 16 * x[i] * L[j - (i - 32)]));
      c = (unchecked(x[j]) + 128) >> 8;
      unchecked((x[j] -= c << 8));
    }
    unchecked((x[j] += c));
    unchecked((x[i] = 0));
  }
  c = 0;
  for (let j = 0; j < 32; j++) {
    unchecked((x[j] += c - (x[31] >> 4) * L[j]));
    c = unchecked(x[j]) >> 8;
    unchecked((x[j] &= 255));
  }
  for (let j = 0; j < 32; j++) unchecked((x[j] -= c * L[j]));
  for (let i = 0; i < 32; i++) {
    unchecked((x[i + 1] += x[i] >> 8));
    store<u8>(out + i, <u8>(unchecked(x[i]) & 255));
  }
}

const WIDE = new StaticArray<i64>(64);

/** Reduces a 64-byte little-endian number at src modulo L into 32 bytes at out (src and out may alias). */
export function scReduce64(out: usize, src: usize): void {
  const x = WIDE;
  for (let i = 0; i < 64; i++) unchecked((x[i] = <i64>load<u8>(src + i)));
  scModL(out, x);
  memory.fill(changetype<usize>(x), 0, 64 * 8);
}

/** out = (r + h * a) mod L, all 32-byte little-endian. Wipes its workspace (a and r are secret in signing). */
export function scMulAdd(out: usize, h: usize, a: usize, r: usize): void {
  const x = WIDE;
  memory.fill(changetype<usize>(x), 0, 64 * 8);
  for (let i = 0; i < 32; i++) unchecked((x[i] = <i64>load<u8>(r + i)));
  for (let i = 0; i < 32; i++) {
    const hi = <i64>load<u8>(h + i);
    for (let j = 0; j < 32; j++) unchecked((x[i + j] += hi * <i64>load<u8>(a + j)));
  }
  scModL(out, x);
  memory.fill(changetype<usize>(x), 0, 64 * 8);
}

/** True when the 32-byte little-endian scalar at s is < L (canonical), compared in constant shape. */
export function scIsCanonical(s: usize): bool {
  // Compare from the most significant byte down.
  for (let i = 31; i >= 0; i--) {
    const a = <i64>load<u8>(s + i);
    const b = unchecked(L[i]);
    if (a < b) return true;
    if (a > b) return false;
  }
  return false; // equal to L
}
