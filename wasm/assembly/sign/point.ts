// Points of edwards25519 (-x^2 + y^2 = 1 + d x^2 y^2) in ref10's representations, at raw addresses:
//   P3 (extended)  X, Y, Z, T       x = X/Z, y = Y/Z, xy = T/Z                           320 bytes
//   P1P1 (completed) X, Y, Z, T     x = X/Z, y = Y/T: what additions and doublings return  320 bytes
//   P2 (projective) X, Y, Z         the first 240 bytes of a P3 or a P2-only buffer
//   Cached  Y+X, Y-X, Z, 2dT        a P3 prepared as an addend                             320 bytes
//   Precomp y+x, y-x, 2dxy          an affine point prepared as an addend (Z = 1)          240 bytes
// A P1P1 result converts to P2 with three multiplications (enough before a doubling) or to P3 with four
// (needed before an addition), which is how chains of doublings skip computing T. Output and input
// buffers of one call must not overlap unless stated.
import {
  Fe,
  FE_BYTES,
  feAdd,
  feSub,
  feNeg,
  feMul,
  feSquare,
  feSquare2,
  feCopy,
  feOne,
  feZero,
  fePack,
  feUnpack,
  feInvert,
  fePow22523,
  feEqual,
  feIsZero,
  feParity,
  feConst,
} from './field';
import { FT4, FT5, FT6, FT7, FT0, FT1, FT2, FT3 } from './scratch';

export const POINT_BYTES: usize = 320;
export const PRECOMP_BYTES: usize = 240;

// Field offsets inside a point.
export const PX: usize = 0;
export const PY: usize = 80;
export const PZ: usize = 160;
export const PT: usize = 240;

export const D: Fe = feConst('a3785913ca4deb75abd841414d0a700098e879777940c78c73fe6f2bee6c0352');
export const D2: Fe = feConst('59f1b226949bd6eb56b183829a14e00030d1f3eef2808e19e7fcdf56dcd90624');
export const SQRTM1: Fe = feConst('b0a00e4a271beec478e42fad0618432fa7d7fb3d99004d2b0bdfc14f8024832b');
const BASE_X: Fe = feConst('1ad5258f602d56c9b2a7259560c72c695cdcd6fd31e2a4c0fe536ecdd3366921');
const BASE_Y: Fe = feConst('5866666666666666666666666666666666666666666666666666666666666666');

/** The neutral element (0, 1) as a P2: X, Y, Z only. */
export function p2Identity(p: usize): void {
  feZero(p + PX);
  feOne(p + PY);
  feOne(p + PZ);
}

export function p3Identity(p: usize): void {
  p2Identity(p);
  feZero(p + PT);
}

export function p3Copy(o: usize, p: usize): void {
  memory.copy(o, p, POINT_BYTES);
}

/** The base point B as a P3. */
export function p3Base(p: usize): void {
  feCopy(p + PX, BASE_X);
  feCopy(p + PY, BASE_Y);
  feOne(p + PZ);
  feMul(p + PT, BASE_X, BASE_Y);
}

/** r (P1P1) = 2p, reading only X, Y, Z of p (a P2 or a P3). */
export function p2Dbl(r: usize, p: usize): void {
  const t0 = FT4;
  feSquare(r + PX, p + PX);
  feSquare(r + PZ, p + PY);
  feSquare2(r + PT, p + PZ);
  feAdd(r + PY, p + PX, p + PY);
  feSquare(t0, r + PY);
  feAdd(r + PY, r + PZ, r + PX);
  feSub(r + PZ, r + PZ, r + PX);
  feSub(r + PX, t0, r + PY);
  feSub(r + PT, r + PT, r + PZ);
}

export function p1p1ToP2(r: usize, p: usize): void {
  feMul(r + PX, p + PX, p + PT);
  feMul(r + PY, p + PY, p + PZ);
  feMul(r + PZ, p + PZ, p + PT);
}

export function p1p1ToP3(r: usize, p: usize): void {
  p1p1ToP2(r, p);
  feMul(r + PT, p + PX, p + PY);
}

/** r (Cached) = p (P3). */
export function p3ToCached(r: usize, p: usize): void {
  feAdd(r + PX, p + PY, p + PX);
  feSub(r + PY, p + PY, p + PX);
  feCopy(r + PZ, p + PZ);
  feMul(r + PT, p + PT, D2);
}

/**
 * r (P1P1) = p (P3) ± q, for q a Cached point (Z in the third slot, 2dT in the fourth) or a Precomp one (Z = 1,
 * 2dxy in the third slot). Subtracting swaps q's Y+X and Y-X and the signs of the last two sums. Always called
 * with constant flags, so each of the four public forms inlines to its own straight-line sequence.
 */
@inline function addP1P1(r: usize, p: usize, q: usize, minus: bool, precomp: bool): void {
  const t0 = FT4;
  feAdd(r + PX, p + PY, p + PX);
  feSub(r + PY, p + PY, p + PX);
  feMul(r + PZ, r + PX, q + (minus ? PY : PX));
  feMul(r + PY, r + PY, q + (minus ? PX : PY));
  feMul(r + PT, q + (precomp ? PZ : PT), p + PT);
  if (precomp) {
    feAdd(t0, p + PZ, p + PZ);
  } else {
    feMul(r + PX, p + PZ, q + PZ);
    feAdd(t0, r + PX, r + PX);
  }
  feSub(r + PX, r + PZ, r + PY);
  feAdd(r + PY, r + PZ, r + PY);
  if (minus) {
    feSub(r + PZ, t0, r + PT);
    feAdd(r + PT, t0, r + PT);
  } else {
    feAdd(r + PZ, t0, r + PT);
    feSub(r + PT, t0, r + PT);
  }
}

/** r (P1P1) = p (P3) + q (Cached). */
export function geAdd(r: usize, p: usize, q: usize): void {
  addP1P1(r, p, q, false, false);
}

/** r (P1P1) = p (P3) - q (Cached). */
export function geSub(r: usize, p: usize, q: usize): void {
  addP1P1(r, p, q, true, false);
}

/** r (P1P1) = p (P3) + q (Precomp). */
export function geMadd(r: usize, p: usize, q: usize): void {
  addP1P1(r, p, q, false, true);
}

/** r (P1P1) = p (P3) - q (Precomp). */
export function geMsub(r: usize, p: usize, q: usize): void {
  addP1P1(r, p, q, true, true);
}

/** Writes the 32-byte encoding of p (a P2 or P3): y with the parity of x in bit 255. */
export function p2ToBytes(out: usize, p: usize): void {
  const recip = FT5,
    x = FT6,
    y = FT7;
  feInvert(recip, p + PZ);
  feMul(x, p + PX, recip);
  feMul(y, p + PY, recip);
  fePack(out, y);
  store<u8>(out + 31, load<u8>(out + 31) ^ ((<u8>feParity(x)) << 7));
}

/** True when the 32 bytes at s encode y >= p (a non-canonical field element), ignoring the sign bit. */
export function yIsNonCanonical(s: usize): bool {
  if ((load<u8>(s + 31) & 0x7f) != 0x7f) return false;
  for (let i = 30; i >= 1; i--) if (load<u8>(s + i) != 0xff) return false;
  return load<u8>(s) >= 0xed;
}

/**
 * Decodes the point at s into h (P3), negated: h = -P. Refuses y >= p, points off the curve and x = 0 with
 * the sign bit set (RFC 8032 5.1.3). Variable time: public inputs only.
 */
export function p3FromBytesNegate(h: usize, s: usize): bool {
  if (yIsNonCanonical(s)) return false;
  const u = FT4,
    v = FT5,
    v3 = FT6,
    vxx = FT7;
  const hx = h + PX,
    hy = h + PY,
    hz = h + PZ;
  feUnpack(hy, s);
  feOne(hz);
  feSquare(u, hy);
  feMul(v, u, D);
  feSub(u, u, hz); // u = y^2 - 1
  feAdd(v, v, hz); // v = d y^2 + 1
  feSquare(v3, v);
  feMul(v3, v3, v); // v^3
  feSquare(hx, v3);
  feMul(hx, hx, v);
  feMul(hx, hx, u); // u v^7
  fePow22523(hx, hx);
  feMul(hx, hx, v3);
  feMul(hx, hx, u); // x = u v^3 (u v^7)^((p-5)/8)
  feSquare(vxx, hx);
  feMul(vxx, vxx, v);
  if (!feEqual(vxx, u)) {
    feNeg(vxx, vxx);
    if (!feEqual(vxx, u)) return false;
    feMul(hx, hx, SQRTM1);
  }
  const sign = <i32>(load<u8>(s + 31) >> 7);
  if (sign == 1 && feIsZero(hx)) return false;
  if (feParity(hx) == sign) feNeg(hx, hx);
  feMul(h + PT, hx, hy);
  return true;
}

/**
 * Converts `count` P3 points (stride POINT_BYTES from src) into Precomp entries (stride PRECOMP_BYTES from
 * dst) with one inversion for all of them (Montgomery's trick); `work` needs count * FE_BYTES bytes.
 */
export function p3BatchToPrecomp(dst: usize, src: usize, count: i32, work: usize): void {
  // feInvert uses FT0..FT3 internally, so the running product and the inverse live in FT5 and FT6.
  const acc = FT5,
    inv = FT6,
    t = FT7,
    x = FT0,
    y = FT1,
    packed = FT2;
  // work[i] = Z_0 · … · Z_(i-1); acc runs the product.
  feOne(acc);
  for (let i = 0; i < count; i++) {
    feCopy(work + <usize>i * FE_BYTES, acc);
    feMul(acc, acc, src + <usize>i * POINT_BYTES + PZ);
  }
  // inv = 1 / (Z_0 · … · Z_(count-1)); walking back, inv · work[i] = 1 / Z_i.
  feInvert(inv, acc);
  for (let i = count - 1; i >= 0; i--) {
    const p = src + <usize>i * POINT_BYTES;
    const o = dst + <usize>i * PRECOMP_BYTES;
    feMul(t, inv, work + <usize>i * FE_BYTES);
    feMul(inv, inv, p + PZ);
    feMul(x, p + PX, t);
    feMul(y, p + PY, t);
    feAdd(o + PX, y, x);
    feSub(o + PY, y, x);
    feMul(o + PZ, x, y);
    feMul(o + PZ, o + PZ, D2);
    // Reduce the sums so that later additions of table entries stay small.
    fePack(packed, o + PX);
    feUnpack(o + PX, packed);
    fePack(packed, o + PY);
    feUnpack(o + PY, packed);
  }
}
