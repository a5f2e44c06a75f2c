// Arithmetic modulo p = 2^255 - 19 in ten signed i64 limbs of alternately 26 and 25 bits (radix 2^25.5, as in
// ref10), addressed by raw pointers into static memory. Raw pointers keep the AssemblyScript runtime out of
// the hot path: a managed array would be pinned on the shadow stack at every access. Limb products fit in
// i64, which wasm multiplies natively; reduction folds with a factor 19. Outputs may alias inputs.
import { feMul, feSquare, feSquare2 } from './field-mul';
import { FT0, FT1, FT2, FT3, PACK_A, PACK_B } from './scratch';
export { feMul, feSquare, feSquare2 };

/** A field element: the address of ten i64 limbs. */
export type Fe = usize;
export const FE_BYTES: usize = 80;

export function feZero(o: Fe): void {
  memory.fill(o, 0, FE_BYTES);
}

export function feOne(o: Fe): void {
  memory.fill(o, 0, FE_BYTES);
  store<i64>(o, 1);
}

export function feCopy(o: Fe, a: Fe): void {
  v128.store(o, v128.load(a));
  v128.store(o, v128.load(a, 16), 16);
  v128.store(o, v128.load(a, 32), 32);
  v128.store(o, v128.load(a, 48), 48);
  v128.store(o, v128.load(a, 64), 64);
}

/** o = a + b, limb-wise without carrying (callers keep the growth within feMul's bounds). */
export function feAdd(o: Fe, a: Fe, b: Fe): void {
  v128.store(o, i64x2.add(v128.load(a), v128.load(b)));
  v128.store(o, i64x2.add(v128.load(a, 16), v128.load(b, 16)), 16);
  v128.store(o, i64x2.add(v128.load(a, 32), v128.load(b, 32)), 32);
  v128.store(o, i64x2.add(v128.load(a, 48), v128.load(b, 48)), 48);
  v128.store(o, i64x2.add(v128.load(a, 64), v128.load(b, 64)), 64);
}

/** o = a - b, limb-wise. */
export function feSub(o: Fe, a: Fe, b: Fe): void {
  v128.store(o, i64x2.sub(v128.load(a), v128.load(b)));
  v128.store(o, i64x2.sub(v128.load(a, 16), v128.load(b, 16)), 16);
  v128.store(o, i64x2.sub(v128.load(a, 32), v128.load(b, 32)), 32);
  v128.store(o, i64x2.sub(v128.load(a, 48), v128.load(b, 48)), 48);
  v128.store(o, i64x2.sub(v128.load(a, 64), v128.load(b, 64)), 64);
}

export function feNeg(o: Fe, a: Fe): void {
  v128.store(o, i64x2.neg(v128.load(a)));
  v128.store(o, i64x2.neg(v128.load(a, 16)), 16);
  v128.store(o, i64x2.neg(v128.load(a, 32)), 32);
  v128.store(o, i64x2.neg(v128.load(a, 48)), 48);
  v128.store(o, i64x2.neg(v128.load(a, 64)), 64);
}

/** Fully reduces modulo p and writes the 32-byte little-endian encoding. */
export function fePack(out: usize, f: Fe): void {
  let h0 = load<i64>(f, 0),
    h1 = load<i64>(f, 8),
    h2 = load<i64>(f, 16),
    h3 = load<i64>(f, 24);
  let h4 = load<i64>(f, 32),
    h5 = load<i64>(f, 40),
    h6 = load<i64>(f, 48),
    h7 = load<i64>(f, 56);
  let h8 = load<i64>(f, 64),
    h9 = load<i64>(f, 72);
  // Bring limbs into range first, then compute q = floor(h / p) (0 or 1) and subtract q·p.
  {
    const c = (h0 + (1 << 25)) >> 26;
    h1 += c;
    h0 -= c << 26;
  }
  {
    const c = (h1 + (1 << 24)) >> 25;
    h2 += c;
    h1 -= c << 25;
  }
  {
    const c = (h2 + (1 << 25)) >> 26;
    h3 += c;
    h2 -= c << 26;
  }
  {
    const c = (h3 + (1 << 24)) >> 25;
    h4 += c;
    h3 -= c << 25;
  }
  {
    const c = (h4 + (1 << 25)) >> 26;
    h5 += c;
    h4 -= c << 26;
  }
  {
    const c = (h5 + (1 << 24)) >> 25;
    h6 += c;
    h5 -= c << 25;
  }
  {
    const c = (h6 + (1 << 25)) >> 26;
    h7 += c;
    h6 -= c << 26;
  }
  {
    const c = (h7 + (1 << 24)) >> 25;
    h8 += c;
    h7 -= c << 25;
  }
  {
    const c = (h8 + (1 << 25)) >> 26;
    h9 += c;
    h8 -= c << 26;
  }
  {
    const c = (h9 + (1 << 24)) >> 25;
    h0 += c * 19;
    h9 -= c << 25;
  }
  {
    const c = (h0 + (1 << 25)) >> 26;
    h1 += c;
    h0 -= c << 26;
  }
  let q = (19 * h9 + ((<i64>1) << 24)) >> 25;
  q = (h0 + q) >> 26;
  q = (h1 + q) >> 25;
  q = (h2 + q) >> 26;
  q = (h3 + q) >> 25;
  q = (h4 + q) >> 26;
  q = (h5 + q) >> 25;
  q = (h6 + q) >> 26;
  q = (h7 + q) >> 25;
  q = (h8 + q) >> 26;
  q = (h9 + q) >> 25;
  h0 += 19 * q;
  {
    const c = h0 >> 26;
    h1 += c;
    h0 -= c << 26;
  }
  {
    const c = h1 >> 25;
    h2 += c;
    h1 -= c << 25;
  }
  {
    const c = h2 >> 26;
    h3 += c;
    h2 -= c << 26;
  }
  {
    const c = h3 >> 25;
    h4 += c;
    h3 -= c << 25;
  }
  {
    const c = h4 >> 26;
    h5 += c;
    h4 -= c << 26;
  }
  {
    const c = h5 >> 25;
    h6 += c;
    h5 -= c << 25;
  }
  {
    const c = h6 >> 26;
    h7 += c;
    h6 -= c << 26;
  }
  {
    const c = h7 >> 25;
    h8 += c;
    h7 -= c << 25;
  }
  {
    const c = h8 >> 26;
    h9 += c;
    h8 -= c << 26;
  }
  {
    const c = h9 >> 25;
    h9 -= c << 25;
  }
  // Limbs now sit at bit offsets 0, 26, 51, 77, 102 | 128, 153, 179, 204, 230: four 64-bit words.
  store<u64>(out, (<u64>h0) | ((<u64>h1) << 26) | ((<u64>h2) << 51), 0);
  store<u64>(out, ((<u64>h2) >> 13) | ((<u64>h3) << 13) | ((<u64>h4) << 38), 8);
  store<u64>(out, (<u64>h5) | ((<u64>h6) << 25) | ((<u64>h7) << 51), 16);
  store<u64>(out, ((<u64>h7) >> 13) | ((<u64>h8) << 12) | ((<u64>h9) << 38), 24);
}

/** Decodes 32 little-endian bytes, ignoring bit 255 (callers check canonicity where it matters). */
export function feUnpack(h: Fe, s: usize): void {
  store<i64>(h, <i64>(load<u32>(s) & 0x3ffffff), 0);
  store<i64>(h, <i64>((load<u32>(s + 3) >> 2) & 0x1ffffff), 8);
  store<i64>(h, <i64>((load<u32>(s + 6) >> 3) & 0x3ffffff), 16);
  store<i64>(h, <i64>((load<u32>(s + 9) >> 5) & 0x1ffffff), 24);
  store<i64>(h, <i64>((load<u32>(s + 12) >> 6) & 0x3ffffff), 32);
  store<i64>(h, <i64>(load<u32>(s + 16) & 0x1ffffff), 40);
  store<i64>(h, <i64>((load<u32>(s + 19) >> 1) & 0x3ffffff), 48);
  store<i64>(h, <i64>((load<u32>(s + 22) >> 3) & 0x1ffffff), 56);
  store<i64>(h, <i64>((load<u32>(s + 25) >> 4) & 0x3ffffff), 64);
  store<i64>(h, <i64>((load<u32>(s + 28) >> 6) & 0x1ffffff), 72);
}

/** A constant given as 64 hex digits (little-endian bytes), decoded into static memory at start-up. */
export function feConst(hex: string): Fe {
  const buf = memory.data(32);
  for (let i = 0; i < 32; i++) store<u8>(buf + i, <u8>I32.parseInt(hex.substr(i * 2, 2), 16));
  const h = heap.alloc(FE_BYTES);
  feUnpack(h, buf);
  return h;
}

const CMP_A = PACK_A;
const CMP_B = PACK_B;

/** True when a and b are the same field element. */
export function feEqual(a: Fe, b: Fe): bool {
  fePack(CMP_A, a);
  fePack(CMP_B, b);
  const d =
    (load<u64>(CMP_A) ^ load<u64>(CMP_B)) |
    (load<u64>(CMP_A, 8) ^ load<u64>(CMP_B, 8)) |
    (load<u64>(CMP_A, 16) ^ load<u64>(CMP_B, 16)) |
    (load<u64>(CMP_A, 24) ^ load<u64>(CMP_B, 24));
  return d == 0;
}

export function feIsZero(a: Fe): bool {
  fePack(CMP_A, a);
  return (load<u64>(CMP_A) | load<u64>(CMP_A, 8) | load<u64>(CMP_A, 16) | load<u64>(CMP_A, 24)) == 0;
}

/** The low bit of the canonical encoding (the "sign" of x). */
export function feParity(a: Fe): i32 {
  fePack(CMP_A, a);
  return load<u8>(CMP_A) & 1;
}

/** o = a^(2^n), n >= 1. */
export function feSquareTimes(o: Fe, a: Fe, n: i32): void {
  feSquare(o, a);
  for (let i = 1; i < n; i++) feSquare(o, o);
}

// Inversion and square root use the first four scratch temporaries; callers keep their own values elsewhere.
const T0 = FT0;
const T1 = FT1;
const T2 = FT2;
const T3 = FT3;

/** o = z^(p-2) = 1/z, by ref10's addition chain (254 squarings, 11 multiplications). */
export function feInvert(o: Fe, z: Fe): void {
  feSquare(T0, z);
  feSquareTimes(T1, T0, 2);
  feMul(T1, z, T1);
  feMul(T0, T0, T1);
  feSquare(T2, T0);
  feMul(T1, T1, T2);
  feSquareTimes(T2, T1, 5);
  feMul(T1, T2, T1);
  feSquareTimes(T2, T1, 10);
  feMul(T2, T2, T1);
  feSquareTimes(T3, T2, 20);
  feMul(T2, T3, T2);
  feSquareTimes(T2, T2, 10);
  feMul(T1, T2, T1);
  feSquareTimes(T2, T1, 50);
  feMul(T2, T2, T1);
  feSquareTimes(T3, T2, 100);
  feMul(T2, T3, T2);
  feSquareTimes(T2, T2, 50);
  feMul(T1, T2, T1);
  feSquareTimes(T1, T1, 5);
  feMul(o, T1, T0);
}

/** o = z^((p-5)/8), the core of a square root. */
export function fePow22523(o: Fe, z: Fe): void {
  feSquare(T0, z);
  feSquareTimes(T1, T0, 2);
  feMul(T1, z, T1);
  feMul(T0, T0, T1);
  feSquare(T0, T0);
  feMul(T0, T1, T0);
  feSquareTimes(T1, T0, 5);
  feMul(T0, T1, T0);
  feSquareTimes(T1, T0, 10);
  feMul(T1, T1, T0);
  feSquareTimes(T2, T1, 20);
  feMul(T1, T2, T1);
  feSquareTimes(T1, T1, 10);
  feMul(T0, T1, T0);
  feSquareTimes(T1, T0, 50);
  feMul(T1, T1, T0);
  feSquareTimes(T2, T1, 100);
  feMul(T1, T2, T1);
  feSquareTimes(T1, T1, 50);
  feMul(T0, T1, T0);
  feSquareTimes(T0, T0, 2);
  feMul(o, T0, z);
}
