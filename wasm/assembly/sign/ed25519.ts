// Ed25519 (RFC 8032, pure). Signing and key derivation use ref10's fixed-base multiplication: signed radix-16
// digits over a table of j·256^k·B with a constant-time scan of each row. Verification decodes A and R,
// reduces the challenge k to short c0, c1 (lattice.ts) and checks [|c1|·S mod L]B ± [c0](-A) + [|c1|](-R) = O
// with one Straus chain of about 128 doublings: width-5 NAF digits over odd multiples of -A and -R, width-8
// NAF digits of the low and high halves of the B scalar over odd multiples of B and 2^128·B (built once).
// A batch over known keys (batch.ts) instead computes [S]B - [k]A from tables spaced 2^16 apart for B and for
// the key (16 doublings) and compares its encoding with R's bytes.
//
// Verification policy (what node:crypto / OpenSSL and Wycheproof expect): cofactorless [S]B = R + [k]A, exactly
// (lattice.ts explains why the short form is the same equation, torsion included); R must decode strictly
// (y < p, on the curve, no x = 0 with the sign bit), which is the same as OpenSSL comparing encodings; S >= L
// is refused; A with y >= p, off the curve, or x = 0 with the sign bit set is refused. Small-order and
// mixed-order public keys are not singled out: like OpenSSL we let the equation decide, so honest keys agree
// with node:crypto exactly; a small-order key cannot verify an honest signature, and callers that need
// non-repudiation against key owners choosing such keys must refuse them when keys are registered, not here.
import { Sha512, shaFinal, shaInit, shaUpdate } from "../hash/sha2";
import { scIsCanonical, scMulAdd, scReduce64 } from "./scalar";
import {
  CHALLENGE, DIGITS, EXPANDED, HASH_CTX, NONCE, POINT_R, POINT_T, POINT_U, SELECTED, wipeScratch,
} from "./scratch";
import {
  POINT_BYTES, PRECOMP_BYTES, PX, PY, PZ, p1p1ToP2, p1p1ToP3, p2Dbl, p2ToBytes, p3Base, p3BatchToPrecomp,
  p3FromBytesNegate, p2Identity, p3Identity, p3ToCached, geAdd, geSub, geMadd, geMsub, p3Copy,
} from "./point";
import { feEqual, feIsZero, FE_BYTES } from "./field";
import { reduceChallenge } from "./lattice";

// ---- Tables, built once at start-up -------------------------------------------------------------------

/** Signing: row k holds j·256^k·B for j = 1..8, as Precomp entries. */
const BASE_ROWS = memory.data(32 * 8 * <i32>PRECOMP_BYTES, 16);
/**
 * Verification: the odd multiples 1·Q, 3·Q, …, 255·Q of Q = 2^(16 j)·B for j = 0..15, as Precomp entries
 * (width-9 NAF digits; width 8 uses the first 64). Single verification uses j = 0 and 8 (B and 2^128·B); a
 * batch over known keys uses all sixteen, so that the base term of a whole 253-bit S takes 16 doublings.
 */
const BASE_ODD_COUNT: i32 = 128;
/** NAF width of the S digits a batch takes over the spaced base tables (single verification: width 8, the first 64 entries). */
const BASE_SPACED_W: i32 = 9;
const BASE_ODD_BYTES: usize = <usize>BASE_ODD_COUNT * PRECOMP_BYTES;
const BASE_SPACING: i32 = 16;
const BASE_SPACED_TABLES: i32 = 16;
const BASE_SPACED = memory.data(BASE_SPACED_TABLES * <i32>BASE_ODD_BYTES, 16);
const BASE_Q0: usize = BASE_SPACED;
const BASE_Q128: usize = BASE_SPACED + 8 * BASE_ODD_BYTES;

function buildTables(): void {
  const count = 32 * 8;
  const points = heap.alloc(<usize>max(count, BASE_ODD_COUNT) * POINT_BYTES);
  const work = heap.alloc(<usize>max(count, BASE_ODD_COUNT) * FE_BYTES);
  const step = heap.alloc(POINT_BYTES), acc = heap.alloc(POINT_BYTES), cached = heap.alloc(POINT_BYTES);
  const t = heap.alloc(POINT_BYTES);
  p3Base(step);
  for (let k = 0; k < 32; k++) {
    p3Copy(acc, step);
    p3ToCached(cached, step);
    for (let j = 0; j < 8; j++) {
      p3Copy(points + <usize>(k * 8 + j) * POINT_BYTES, acc);
      geAdd(t, acc, cached);
      p1p1ToP3(acc, t);
    }
    for (let d = 0; d < 8; d++) {
      p2Dbl(t, step);
      p1p1ToP3(step, t);
    }
  }
  p3BatchToPrecomp(BASE_ROWS, points, count, work);
  // Odd multiples of 2^(16 j)·B: P, then repeatedly + 2P; 16 doublings from one table's P to the next.
  p3Base(acc);
  const q = heap.alloc(POINT_BYTES);
  for (let j = 0; j < BASE_SPACED_TABLES; j++) {
    if (j > 0) {
      for (let d = 0; d < BASE_SPACING; d++) {
        p2Dbl(t, q);
        p1p1ToP3(q, t);
      }
    } else {
      p3Copy(q, acc);
    }
    p3Copy(acc, q);
    p2Dbl(t, acc);
    p1p1ToP3(step, t);
    p3ToCached(cached, step);
    for (let i = 0; i < BASE_ODD_COUNT; i++) {
      p3Copy(points + <usize>i * POINT_BYTES, acc);
      geAdd(t, acc, cached);
      p1p1ToP3(acc, t);
    }
    p3BatchToPrecomp(BASE_SPACED + <usize>j * BASE_ODD_BYTES, points, BASE_ODD_COUNT, work);
  }
  heap.free(q);
  heap.free(points);
  heap.free(work);
  heap.free(step);
  heap.free(acc);
  heap.free(cached);
  heap.free(t);
  wipeScratch();
}
buildTables();

// ---- Fixed-base multiplication (secret scalars, constant time) ----------------------------------------

/** SELECTED = digit·256^k·B for digit in [-8, 8], reading all eight entries of row k in the same order. */
function selectBase(k: i32, digit: i32): void {
  const negative = (<u32>digit) >> 31;
  const abs = <u32>(digit - ((-(<i32>negative) & digit) << 1));
  // Start from the neutral Precomp (1, 1, 0) and keep the matching entry, fifteen lanes at a time.
  let ypx0 = i64x2(1, 0), ypx1 = i64x2(0, 0), ypx2 = i64x2(0, 0), ypx3 = i64x2(0, 0), ypx4 = i64x2(0, 0);
  let ymx0 = i64x2(1, 0), ymx1 = i64x2(0, 0), ymx2 = i64x2(0, 0), ymx3 = i64x2(0, 0), ymx4 = i64x2(0, 0);
  let xy0 = i64x2(0, 0), xy1 = i64x2(0, 0), xy2 = i64x2(0, 0), xy3 = i64x2(0, 0), xy4 = i64x2(0, 0);
  const row = BASE_ROWS + <usize>(k * 8) * PRECOMP_BYTES;
  for (let j: u32 = 0; j < 8; j++) {
    const e = row + <usize>j * PRECOMP_BYTES;
    // mask = all ones when abs == j + 1, computed without a branch.
    const m = i64x2.splat(-<i64>(((abs ^ (j + 1)) - 1) >> 31));
    ypx0 = v128.bitselect(v128.load(e, 0), ypx0, m);
    ypx1 = v128.bitselect(v128.load(e, 16), ypx1, m);
    ypx2 = v128.bitselect(v128.load(e, 32), ypx2, m);
    ypx3 = v128.bitselect(v128.load(e, 48), ypx3, m);
    ypx4 = v128.bitselect(v128.load(e, 64), ypx4, m);
    ymx0 = v128.bitselect(v128.load(e, 80), ymx0, m);
    ymx1 = v128.bitselect(v128.load(e, 96), ymx1, m);
    ymx2 = v128.bitselect(v128.load(e, 112), ymx2, m);
    ymx3 = v128.bitselect(v128.load(e, 128), ymx3, m);
    ymx4 = v128.bitselect(v128.load(e, 144), ymx4, m);
    xy0 = v128.bitselect(v128.load(e, 160), xy0, m);
    xy1 = v128.bitselect(v128.load(e, 176), xy1, m);
    xy2 = v128.bitselect(v128.load(e, 192), xy2, m);
    xy3 = v128.bitselect(v128.load(e, 208), xy3, m);
    xy4 = v128.bitselect(v128.load(e, 224), xy4, m);
  }
  // Negation swaps y+x and y-x and negates 2dxy; select it by the sign bit.
  const n = i64x2.splat(-<i64>negative);
  const s = SELECTED;
  v128.store(s, v128.bitselect(ymx0, ypx0, n), 0);
  v128.store(s, v128.bitselect(ymx1, ypx1, n), 16);
  v128.store(s, v128.bitselect(ymx2, ypx2, n), 32);
  v128.store(s, v128.bitselect(ymx3, ypx3, n), 48);
  v128.store(s, v128.bitselect(ymx4, ypx4, n), 64);
  v128.store(s, v128.bitselect(ypx0, ymx0, n), 80);
  v128.store(s, v128.bitselect(ypx1, ymx1, n), 96);
  v128.store(s, v128.bitselect(ypx2, ymx2, n), 112);
  v128.store(s, v128.bitselect(ypx3, ymx3, n), 128);
  v128.store(s, v128.bitselect(ypx4, ymx4, n), 144);
  v128.store(s, v128.bitselect(i64x2.neg(xy0), xy0, n), 160);
  v128.store(s, v128.bitselect(i64x2.neg(xy1), xy1, n), 176);
  v128.store(s, v128.bitselect(i64x2.neg(xy2), xy2, n), 192);
  v128.store(s, v128.bitselect(i64x2.neg(xy3), xy3, n), 208);
  v128.store(s, v128.bitselect(i64x2.neg(xy4), xy4, n), 224);
}

/** h (P3) = [a]B for a 32-byte scalar a < 2^255, in constant time. Uses POINT_T and SELECTED. */
function scalarMultBase(h: usize, a: usize): void {
  const e = DIGITS;
  for (let i = 0; i < 32; i++) {
    const b = <i32>load<u8>(a + i);
    store<i8>(e + 2 * i, <i8>(b & 15));
    store<i8>(e + 2 * i + 1, <i8>((b >> 4) & 15));
  }
  // Signed digits in [-8, 8): carry propagation without branches.
  let carry: i32 = 0;
  for (let i = 0; i < 63; i++) {
    const v = <i32>load<i8>(e + i) + carry;
    carry = (v + 8) >> 4;
    store<i8>(e + i, <i8>(v - (carry << 4)));
  }
  store<i8>(e + 63, <i8>(<i32>load<i8>(e + 63) + carry));
  const t = POINT_T;
  p3Identity(h);
  for (let i = 1; i < 64; i += 2) {
    selectBase(i >> 1, <i32>load<i8>(e + i));
    geMadd(t, h, SELECTED);
    p1p1ToP3(h, t);
  }
  p2Dbl(t, h);
  p1p1ToP2(h, t);
  p2Dbl(t, h);
  p1p1ToP2(h, t);
  p2Dbl(t, h);
  p1p1ToP2(h, t);
  p2Dbl(t, h);
  p1p1ToP3(h, t);
  for (let i = 0; i < 64; i += 2) {
    selectBase(i >> 1, <i32>load<i8>(e + i));
    geMadd(t, h, SELECTED);
    p1p1ToP3(h, t);
  }
}

// ---- Signing and key derivation -----------------------------------------------------------------------

/** out64 = clamp(SHA-512(seed)[0..32]) ‖ SHA-512(seed)[32..64]: the scalar a and the nonce prefix. */
export function ed25519ExpandSeed(seed32: usize, out64: usize): void {
  shaInit<Sha512>(HASH_CTX);
  shaUpdate<Sha512>(HASH_CTX, seed32, 32);
  shaFinal<Sha512>(HASH_CTX, out64);
  store<u8>(out64, load<u8>(out64) & 248);
  store<u8>(out64 + 31, (load<u8>(out64 + 31) & 127) | 64);
}

/** The public key of an expanded secret key (a ‖ prefix); wipes the scratch region after. */
export function ed25519PublicKeyOfExpanded(expanded64: usize, outPk32: usize): void {
  scalarMultBase(POINT_R, expanded64);
  p2ToBytes(outPk32, POINT_R);
  wipeScratch();
}

export function ed25519DerivePublicKey(seed32: usize, outPk32: usize): void {
  ed25519ExpandSeed(seed32, EXPANDED);
  ed25519PublicKeyOfExpanded(EXPANDED, outPk32);
}

/**
 * Signs with an expanded secret key (a ‖ prefix, from ed25519ExpandSeed) and its public key, then wipes the
 * scratch region (nonce, digits, points, field temporaries, hash state). pk32 must be the key's own public
 * key: signing with another one leaks a.
 */
export function ed25519SignExpanded(expanded64: usize, pk32: usize, msg: usize, len: usize, outSig64: usize): void {
  // r = H(prefix ‖ M) mod L
  shaInit<Sha512>(HASH_CTX);
  shaUpdate<Sha512>(HASH_CTX, expanded64 + 32, 32);
  shaUpdate<Sha512>(HASH_CTX, msg, len);
  shaFinal<Sha512>(HASH_CTX, NONCE);
  scReduce64(NONCE, NONCE);
  // R = [r]B
  scalarMultBase(POINT_R, NONCE);
  p2ToBytes(outSig64, POINT_R);
  // k = H(R ‖ A ‖ M) mod L
  challengeOf(CHALLENGE, outSig64, pk32, msg, len);
  // S = r + k·a mod L
  scMulAdd(outSig64 + 32, CHALLENGE, expanded64, NONCE);
  wipeScratch();
}

export function ed25519SignDetached(seed32: usize, pk32: usize, msg: usize, len: usize, outSig64: usize): void {
  ed25519ExpandSeed(seed32, EXPANDED);
  ed25519SignExpanded(EXPANDED, pk32, msg, len, outSig64);
}

// ---- Verification (public inputs, variable time) ------------------------------------------------------

/** Cached odd multiples 1·P … 15·P of the (negated) key and of the negated R of the signature being checked. */
export const ODD_MULTIPLES_BYTES: usize = 8 * POINT_BYTES;
const KEY_ODD = memory.data(<i32>ODD_MULTIPLES_BYTES, 16);
const R_ODD = memory.data(<i32>ODD_MULTIPLES_BYTES, 16);
const NEG_KEY = memory.data(<i32>POINT_BYTES, 16);
const NEG_R = memory.data(<i32>POINT_BYTES, 16);
const NAF_C0 = memory.data(512, 16);
const NAF_C1 = memory.data(512, 16);
const NAF_LO = memory.data(512, 16);
const NAF_HI = memory.data(512, 16);
const SCALAR_PAD = memory.data(40, 8);
const C0 = memory.data(32, 8);
const C1 = memory.data(32, 8);
const S_PRIME = memory.data(32, 8);
const S_LO = memory.data(32, 8);
const S_HI = memory.data(32, 8);
const ZERO32 = memory.data(32, 8);

/**
 * Width-w NAF (w <= 16) of the 32-byte scalar at s (< 2^255) into out[0..256) as i16 digits: every nonzero digit is odd with
 * |digit| < 2^(w-1), and any w consecutive digits hold at most one nonzero. Returns the index of the highest
 * nonzero digit (-1 for zero).
 */
function nafDigits(out: usize, s: usize, w: i32): i32 {
  memory.copy(SCALAR_PAD, s, 32);
  store<u64>(SCALAR_PAD, 0, 32);
  memory.fill(out, 0, 512);
  const full = 1 << w, half = 1 << (w - 1), mask = full - 1;
  let carry: i32 = 0;
  let i: i32 = 0;
  let top: i32 = -1;
  while (i < 256) {
    const bit = (<i32>load<u8>(SCALAR_PAD + (i >> 3)) >> (i & 7)) & 1;
    if (bit == carry) {
      i++;
      continue;
    }
    const v = ((<i32>(load<u32>(SCALAR_PAD + (i >> 3)) >> (i & 7))) & mask) + carry;
    if (v & half) {
      store<i16>(out + (<usize>i << 1), <i16>(v - full));
      carry = 1;
    } else {
      store<i16>(out + (<usize>i << 1), <i16>v);
      carry = 0;
    }
    top = i;
    i += w;
  }
  return top;
}

/** table[i] = (2i + 1)·P as Cached entries, i = 0..7 (uses POINT_T, POINT_U, POINT_R). */
function buildOddMultiples(table: usize, p: usize): void {
  const t = POINT_T, twice = POINT_U, acc = POINT_R;
  p3ToCached(table, p);
  p2Dbl(t, p);
  p1p1ToP3(twice, t);
  for (let i = 1; i < 8; i++) {
    geAdd(t, twice, table + <usize>(i - 1) * POINT_BYTES);
    p1p1ToP3(acc, t);
    p3ToCached(table + <usize>i * POINT_BYTES, acc);
  }
}

/**
 * t (P1P1, converted through u) += digit · table, for a NAF digit over odd multiples: Cached entries (single
 * verification's -A and -R) or Precomp ones (the base tables, and a known key's tables in a batch).
 */
@inline function addDigit(t: usize, u: usize, table: usize, digit: i32, precomp: bool): void {
  if (digit != 0) {
    p1p1ToP3(u, t);
    const entry = table + <usize>(abs(digit) >> 1) * (precomp ? PRECOMP_BYTES : POINT_BYTES);
    if (precomp) {
      if (digit > 0) geMadd(t, u, entry);
      else geMsub(t, u, entry);
    } else {
      if (digit > 0) geAdd(t, u, entry);
      else geSub(t, u, entry);
    }
  }
}

/**
 * True when [S]B - [k]A = R, given the odd multiples of -A (keyOdd), -R (rOdd), S < L and k < L: the
 * equation is checked as [|c1|·S mod L]B ± [c0](-A) + [|c1|](-R) = O with the short c0, c1 of lattice.ts
 * (+ when c1 > 0; when c1 < 0 the A term flips sign), exactly equivalent to the cofactorless equation.
 */
function checkEquation(keyOdd: usize, rOdd: usize, s32: usize, k32: usize): bool {
  const sign = reduceChallenge(k32, C0, C1, 128);
  scMulAdd(S_PRIME, C1, s32, ZERO32);
  memory.fill(S_LO, 0, 32);
  memory.fill(S_HI, 0, 32);
  memory.copy(S_LO, S_PRIME, 16);
  memory.copy(S_HI, S_PRIME + 16, 16);
  let top = nafDigits(NAF_C0, C0, 5);
  top = max(top, nafDigits(NAF_C1, C1, 5));
  top = max(top, nafDigits(NAF_LO, S_LO, 8));
  top = max(top, nafDigits(NAF_HI, S_HI, 8));
  const r = POINT_R, t = POINT_T, u = POINT_U;
  p2Identity(r);
  for (let i = top; i >= 0; i--) {
    p2Dbl(t, r);
    const a = <i32>load<i16>(NAF_C0 + (<usize>i << 1));
    addDigit(t, u, keyOdd, sign > 0 ? a : -a, false);
    addDigit(t, u, rOdd, <i32>load<i16>(NAF_C1 + (<usize>i << 1)), false);
    addDigit(t, u, BASE_Q0, <i32>load<i16>(NAF_LO + (<usize>i << 1)), true);
    addDigit(t, u, BASE_Q128, <i32>load<i16>(NAF_HI + (<usize>i << 1)), true);
    p1p1ToP2(r, t);
  }
  // The identity in projective coordinates: X = 0 and Y = Z.
  return feIsZero(r + PX) && feEqual(r + PY, r + PZ);
}

/**
 * Per known key (the batch verifier's cache): the odd multiples 1·Q … 31·Q of Q = 2^(16 j)·(-A) for
 * j = 0..15, as Precomp entries (sixteen tables for width-6 NAF digits, 60 KiB). With them and the sixteen
 * spaced base tables, [S]B - [k]A for a whole 253-bit S and k takes 16 doublings and about 60 additions,
 * with no lattice reduction and no decoding of R: the result is encoded and compared with R's bytes.
 */
const KEY_TABLE_ENTRIES: i32 = 16;
const KEY_W: i32 = 6;
const KEY_TABLE_BYTES: usize = <usize>KEY_TABLE_ENTRIES * PRECOMP_BYTES;
const KEY_SPACED_TABLES: i32 = 16;
export const KEY_TABLES_BYTES: usize = <usize>KEY_SPACED_TABLES * KEY_TABLE_BYTES;
const KEY_POINTS = memory.data(KEY_SPACED_TABLES * KEY_TABLE_ENTRIES * <i32>POINT_BYTES, 16);
const KEY_INVERSES = memory.data(KEY_SPACED_TABLES * KEY_TABLE_ENTRIES * <i32>FE_BYTES, 16);
const NAF_K = memory.data(512, 16);
const NAF_S = memory.data(512, 16);

/** keyTables (KEY_TABLES_BYTES) = the sixteen tables of a decoded, negated key (uses POINT_* and NEG_KEY). */
export function buildKeyTables(keyTables: usize, negKey: usize): void {
  const q = POINT_U, twice = POINT_R, t = POINT_T, c = NEG_KEY;
  p3Copy(q, negKey);
  for (let j = 0; j < KEY_SPACED_TABLES; j++) {
    if (j > 0) {
      for (let d = 0; d < BASE_SPACING; d++) {
        p2Dbl(t, q);
        p1p1ToP3(q, t);
      }
    }
    // (2i + 1)·Q for i = 0..15: Q, then + 2Q.
    const first = KEY_POINTS + <usize>(j * KEY_TABLE_ENTRIES) * POINT_BYTES;
    p3Copy(first, q);
    p2Dbl(t, q);
    p1p1ToP3(twice, t);
    p3ToCached(c, twice);
    for (let i = 1; i < KEY_TABLE_ENTRIES; i++) {
      geAdd(t, first + <usize>(i - 1) * POINT_BYTES, c);
      p1p1ToP3(first + <usize>i * POINT_BYTES, t);
    }
  }
  p3BatchToPrecomp(keyTables, KEY_POINTS, KEY_SPACED_TABLES * KEY_TABLE_ENTRIES, KEY_INVERSES);
}

/**
 * out (X, Y, Z of a P2) = [S]B - [k]A for a key with tables (buildKeyTables), S < L and k < L: width-6 NAF
 * digits of k and width-9 digits of S, digit i taken at step i mod 16 from table i / 16. Exact (no torsion
 * component is lost: the tables are multiples of A itself), so comparing its encoding with R is the
 * cofactorless equation, as OpenSSL checks it.
 */
export function baseMinusKeyMultiple(out: usize, keyTables: usize, s32: usize, k32: usize): void {
  nafDigits(NAF_K, k32, KEY_W);
  nafDigits(NAF_S, s32, BASE_SPACED_W);
  const t = POINT_T, u = POINT_U;
  p2Identity(out);
  for (let i = BASE_SPACING - 1; i >= 0; i--) {
    p2Dbl(t, out);
    for (let j = 0; j < KEY_SPACED_TABLES; j++) {
      addDigit(t, u, keyTables + <usize>j * KEY_TABLE_BYTES, <i32>load<i16>(NAF_K + (<usize>(j * BASE_SPACING + i) << 1)), true);
    }
    for (let j = 0; j < BASE_SPACED_TABLES; j++) {
      addDigit(t, u, BASE_SPACED + <usize>j * BASE_ODD_BYTES, <i32>load<i16>(NAF_S + (<usize>(j * BASE_SPACING + i) << 1)), true);
    }
    p1p1ToP2(out, t);
  }
}

/** k = SHA-512(R ‖ A ‖ M) mod L into out (32 bytes; out needs 64 bytes of room). */
export function challengeOf(out: usize, sig64: usize, pk32: usize, msg: usize, len: usize): void {
  shaInit<Sha512>(HASH_CTX);
  shaUpdate<Sha512>(HASH_CTX, sig64, 32);
  shaUpdate<Sha512>(HASH_CTX, pk32, 32);
  shaUpdate<Sha512>(HASH_CTX, msg, len);
  shaFinal<Sha512>(HASH_CTX, out);
  scReduce64(out, out);
}

/**
 * Decodes R strictly (y < p, on the curve, no x = 0 with the sign bit) into odd multiples of -R: a signature
 * whose R does not decode cannot match any encoding, so it is refused as OpenSSL's byte comparison would.
 */
export function prepareR(rOdd: usize, sig64: usize): bool {
  if (!p3FromBytesNegate(NEG_R, sig64)) return false;
  buildOddMultiples(rOdd, NEG_R);
  return true;
}

export function ed25519VerifyDetached(pk32: usize, msg: usize, len: usize, sig64: usize): bool {
  if (!scIsCanonical(sig64 + 32)) return false;
  if (!p3FromBytesNegate(NEG_KEY, pk32)) return false;
  if (!prepareR(R_ODD, sig64)) return false;
  buildOddMultiples(KEY_ODD, NEG_KEY);
  challengeOf(CHALLENGE, sig64, pk32, msg, len);
  return checkEquation(KEY_ODD, R_ODD, sig64 + 32, CHALLENGE);
}
