// Arithmetic modulo p = 2^255 - 19 in ten signed i64 limbs of alternately 26 and 25 bits (radix 2^25.5, as in
// ref10), addressed by raw pointers into static memory. Raw pointers keep the AssemblyScript runtime out of
// the hot path: a managed array would be pinned on the shadow stack at every access. Limb products fit in
// i64, which wasm multiplies natively; reduction folds with a factor 19. Outputs may alias inputs.
import { feAdd, feCopy, feMul, feNeg, fePack, feSquare, feSquare2, feSub } from './field-unrolled';
import { FT0, FT1, FT2, FT3, PACK_A, PACK_B } from './scratch';
export { feAdd, feCopy, feMul, feNeg, fePack, feSquare, feSquare2, feSub };

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

/** o = a^(2^n) · b, through t (t may be a or o, not b). */
function feSquareTimesMul(o: Fe, a: Fe, n: i32, b: Fe, t: Fe): void {
  feSquareTimes(t, a, n);
  feMul(o, t, b);
}

/**
 * The common start of ref10's inversion and square-root chains: T0 = z^11 and T1 = z^(2^250 - 1)
 * (250 squarings, 11 multiplications; T2 and T3 are clobbered).
 */
function fePow2250(z: Fe): void {
  feSquare(T0, z);
  feSquareTimesMul(T1, T0, 2, z, T1); // z^9
  feMul(T0, T0, T1); // z^11
  feSquareTimesMul(T1, T0, 1, T1, T2); // z^(2^5 - 1)
  feSquareTimesMul(T1, T1, 5, T1, T2); // z^(2^10 - 1)
  feSquareTimesMul(T2, T1, 10, T1, T2); // z^(2^20 - 1)
  feSquareTimesMul(T2, T2, 20, T2, T3); // z^(2^40 - 1)
  feSquareTimesMul(T1, T2, 10, T1, T2); // z^(2^50 - 1)
  feSquareTimesMul(T2, T1, 50, T1, T2); // z^(2^100 - 1)
  feSquareTimesMul(T2, T2, 100, T2, T3); // z^(2^200 - 1)
  feSquareTimesMul(T1, T2, 50, T1, T2); // z^(2^250 - 1)
}

/** o = z^(p-2) = 1/z, by ref10's addition chain (254 squarings, 11 multiplications). */
export function feInvert(o: Fe, z: Fe): void {
  fePow2250(z);
  feSquareTimesMul(o, T1, 5, T0, T1); // z^(2^255 - 32 + 11)
}

/** o = z^((p-5)/8), the core of a square root. */
export function fePow22523(o: Fe, z: Fe): void {
  fePow2250(z);
  feSquareTimesMul(o, T1, 2, z, T1); // z^(2^252 - 4 + 1)
}
