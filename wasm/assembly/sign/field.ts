// Arithmetic modulo p = 2^255 - 19 on 16 limbs of 16 bits held in i64 (TweetNaCl's representation: products
// of two limbs and their sums fit comfortably in 64 bits, which wasm multiplies natively).
// Every function writes its result into an output element that may alias an input; none allocates.

export type Fe = StaticArray<i64>;

export function fe(): Fe {
  return new StaticArray<i64>(16);
}

export function feFrom(limbs: StaticArray<i64>): Fe {
  const o = fe();
  for (let i = 0; i < 16; i++) unchecked((o[i] = limbs[i]));
  return o;
}

export function feCopy(o: Fe, a: Fe): void {
  memory.copy(changetype<usize>(o), changetype<usize>(a), 128);
}

export function feSet(o: Fe, v: i64): void {
  memory.fill(changetype<usize>(o), 0, 128);
  unchecked((o[0] = v));
}

// @ts-ignore: decorator
@inline function carry(o: Fe): void {
  for (let i = 0; i < 16; i++) {
    const v = unchecked(o[i]) + 65536;
    const c = v >> 16;
    if (i < 15) unchecked((o[i + 1] += c - 1));
    else unchecked((o[0] += 38 * (c - 1)));
    unchecked((o[i] = v - (c << 16)));
  }
}

export function feAdd(o: Fe, a: Fe, b: Fe): void {
  for (let i = 0; i < 16; i++) unchecked((o[i] = a[i] + b[i]));
}

export function feSub(o: Fe, a: Fe, b: Fe): void {
  for (let i = 0; i < 16; i++) unchecked((o[i] = a[i] - b[i]));
}

const PROD = new StaticArray<i64>(31);

export function feMul(o: Fe, a: Fe, b: Fe): void {
  const t = PROD;
  memory.fill(changetype<usize>(t), 0, 31 * 8);
  for (let i = 0; i < 16; i++) {
    const ai = unchecked(a[i]);
    for (let j = 0; j < 16; j++) unchecked((t[i + j] += ai * b[j]));
  }
  for (let i = 0; i < 15; i++) unchecked((t[i] += 38 * t[i + 16]));
  for (let i = 0; i < 16; i++) unchecked((o[i] = t[i]));
  carry(o);
  carry(o);
}

export function feSquare(o: Fe, a: Fe): void {
  feMul(o, a, a);
}

/** Constant-time conditional swap of p and q when bit is 1. */
export function feSwap(p: Fe, q: Fe, bit: i64): void {
  const mask = ~(bit - 1);
  for (let i = 0; i < 16; i++) {
    const t = mask & (unchecked(p[i]) ^ unchecked(q[i]));
    unchecked((p[i] ^= t));
    unchecked((q[i] ^= t));
  }
}

const PACK_T = fe();
const PACK_M = fe();

/** Fully reduces and writes the 32-byte little-endian encoding. */
export function fePack(out: usize, n: Fe): void {
  const t = PACK_T;
  const m = PACK_M;
  feCopy(t, n);
  carry(t);
  carry(t);
  carry(t);
  for (let j = 0; j < 2; j++) {
    unchecked((m[0] = t[0] - 0xffed));
    for (let i = 1; i < 15; i++) {
      unchecked((m[i] = t[i] - 0xffff - ((m[i - 1] >> 16) & 1)));
      unchecked((m[i - 1] &= 0xffff));
    }
    unchecked((m[15] = t[15] - 0x7fff - ((m[14] >> 16) & 1)));
    const b = (unchecked(m[15]) >> 16) & 1;
    unchecked((m[14] &= 0xffff));
    feSwap(t, m, 1 - b);
  }
  for (let i = 0; i < 16; i++) {
    const v = unchecked(t[i]);
    store<u8>(out + 2 * i, <u8>(v & 0xff));
    store<u8>(out + 2 * i + 1, <u8>((v >> 8) & 0xff));
  }
}

/** Decodes 32 bytes, ignoring the top bit (the caller checks canonicity where it matters). */
export function feUnpack(o: Fe, src: usize): void {
  for (let i = 0; i < 16; i++) unchecked((o[i] = <i64>load<u8>(src + 2 * i) + (<i64>load<u8>(src + 2 * i + 1) << 8)));
  unchecked((o[15] &= 0x7fff));
}

const CMP_A = memory.data(32);
const CMP_B = memory.data(32);

/** 1 when a and b are different field elements. */
export function feNeq(a: Fe, b: Fe): i32 {
  fePack(CMP_A, a);
  fePack(CMP_B, b);
  let d: u32 = 0;
  for (let i = 0; i < 32; i++) d |= load<u8>(CMP_A + i) ^ load<u8>(CMP_B + i);
  return d != 0 ? 1 : 0;
}

/** The low bit of the canonical encoding (the "sign" of x). */
export function feParity(a: Fe): i32 {
  fePack(CMP_A, a);
  return load<u8>(CMP_A) & 1;
}

const INV_C = fe();

export function feInvert(o: Fe, i: Fe): void {
  const c = INV_C;
  feCopy(c, i);
  for (let a = 253; a >= 0; a--) {
    feSquare(c, c);
    if (a != 2 && a != 4) feMul(c, c, i);
  }
  feCopy(o, c);
}

/** i^((p-5)/8), used for square roots. */
export function fePow2523(o: Fe, i: Fe): void {
  const c = INV_C;
  feCopy(c, i);
  for (let a = 250; a >= 0; a--) {
    feSquare(c, c);
    if (a != 1) feMul(c, c, i);
  }
  feCopy(o, c);
}
