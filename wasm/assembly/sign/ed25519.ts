// Ed25519 (RFC 8032, pure). Signing and key derivation use a fixed-base multiplication over a precomputed
// table (ref10's radix-16 signed digits, constant-time table selection); verification is cofactorless,
// rejects S >= L and public keys with y >= p or off the curve, and compares R by its encoding, so a
// non-canonical R never verifies: what node:crypto (OpenSSL) and Wycheproof expect.
import {
  Fe, fe, feAdd, feSub, feNeg, feMul, feSquare, feCmov, fePack, feUnpack, feNeq, feIsZero, feParity,
  feInvert, fePow22523, feCopy, feSet, feFromHex,
} from "./field";
import { scReduce64, scMulAdd, scIsCanonical } from "./scalar";
import { SHA512_CTX_BYTES, sha512Init, sha512Update, sha512Final } from "../hash/sha512";

const D = feFromHex("a3785913ca4deb75abd841414d0a700098e879777940c78c73fe6f2bee6c0352");
const D2 = fe();
feAdd(D2, D, D);
const SQRTM1 = feFromHex("b0a00e4a271beec478e42fad0618432fa7d7fb3d99004d2b0bdfc14f8024832b");
const BX = feFromHex("1ad5258f602d56c9b2a7259560c72c695cdcd6fd31e2a4c0fe536ecdd3366921");
const BY = feFromHex("5866666666666666666666666666666666666666666666666666666666666666");

/** Extended coordinates (X:Y:Z:T): x = X/Z, y = Y/Z, xy = T/Z. */
class Point {
  x: Fe = fe();
  y: Fe = fe();
  z: Fe = fe();
  t: Fe = fe();
}

/** An affine point prepared for mixed addition: (y+x, y-x, 2dxy). */
class Precomp {
  ypx: Fe = fe();
  ymx: Fe = fe();
  xy2d: Fe = fe();
}

function pointIdentity(p: Point): void {
  feSet(p.x, 0);
  feSet(p.y, 1);
  feSet(p.z, 1);
  feSet(p.t, 0);
}

function pointCopy(o: Point, p: Point): void {
  feCopy(o.x, p.x);
  feCopy(o.y, p.y);
  feCopy(o.z, p.z);
  feCopy(o.t, p.t);
}

const A_ = fe(), B_ = fe(), C_ = fe(), D_ = fe(), E_ = fe(), F_ = fe(), G_ = fe(), H_ = fe();

/**
 * r = 2p (dbl-2008-hwcd for a = -1, signs folded as in ref10). r may be p. Doubling never reads T, so in a
 * chain of doublings only the last one needs it: withT = false saves a multiplication.
 */
function pointDouble(r: Point, p: Point, withT: bool = true): void {
  feSquare(A_, p.x);
  feSquare(B_, p.y);
  feSquare(C_, p.z);
  feAdd(C_, C_, C_);
  feAdd(H_, A_, B_);
  feAdd(E_, p.x, p.y);
  feSquare(E_, E_);
  feSub(E_, H_, E_);
  feSub(G_, A_, B_);
  feAdd(F_, C_, G_);
  feMul(r.x, E_, F_);
  feMul(r.y, G_, H_);
  if (withT) feMul(r.t, E_, H_);
  feMul(r.z, F_, G_);
}

/** r = p + q (add-2008-hwcd-3, complete). r may be p or q. */
function pointAdd(r: Point, p: Point, q: Point): void {
  feSub(A_, p.y, p.x);
  feSub(H_, q.y, q.x);
  feMul(A_, A_, H_);
  feAdd(B_, p.y, p.x);
  feAdd(H_, q.y, q.x);
  feMul(B_, B_, H_);
  feMul(C_, p.t, q.t);
  feMul(C_, C_, D2);
  feMul(D_, p.z, q.z);
  feAdd(D_, D_, D_);
  feSub(E_, B_, A_);
  feSub(F_, D_, C_);
  feAdd(G_, D_, C_);
  feAdd(H_, B_, A_);
  feMul(r.x, E_, F_);
  feMul(r.y, H_, G_);
  feMul(r.z, G_, F_);
  feMul(r.t, E_, H_);
}

/** r = p + q for a prepared affine q (7 multiplications). r may be p. */
function pointAddPrecomp(r: Point, p: Point, q: Precomp): void {
  feSub(A_, p.y, p.x);
  feMul(A_, A_, q.ymx);
  feAdd(B_, p.y, p.x);
  feMul(B_, B_, q.ypx);
  feMul(C_, p.t, q.xy2d);
  feAdd(D_, p.z, p.z);
  feSub(E_, B_, A_);
  feSub(F_, D_, C_);
  feAdd(G_, D_, C_);
  feAdd(H_, B_, A_);
  feMul(r.x, E_, F_);
  feMul(r.y, H_, G_);
  feMul(r.z, G_, F_);
  feMul(r.t, E_, H_);
}

const ZI = fe(), TX = fe(), TY = fe();

function pointPack(out: usize, p: Point): void {
  feInvert(ZI, p.z);
  feMul(TX, p.x, ZI);
  feMul(TY, p.y, ZI);
  fePack(out, TY);
  store<u8>(out + 31, load<u8>(out + 31) ^ (<u8>feParity(TX) << 7));
}

// The base table: for k in 0..31 and j in 1..8, j·256^k·B as a Precomp, built once at start-up.
const TABLE = new StaticArray<Precomp>(32 * 8);

function toPrecomp(o: Precomp, p: Point): void {
  feInvert(ZI, p.z);
  feMul(TX, p.x, ZI);
  feMul(TY, p.y, ZI);
  feAdd(o.ypx, TY, TX);
  feSub(o.ymx, TY, TX);
  feMul(o.xy2d, TX, TY);
  feMul(o.xy2d, o.xy2d, D2);
  // Keep limbs reduced so later sums stay small.
  feMul(o.ypx, o.ypx, ONE);
  feMul(o.ymx, o.ymx, ONE);
}

const ONE = fe();
feSet(ONE, 1);

function buildTable(): void {
  const step = new Point();
  feCopy(step.x, BX);
  feCopy(step.y, BY);
  feSet(step.z, 1);
  feMul(step.t, BX, BY);
  const acc = new Point();
  for (let k = 0; k < 32; k++) {
    pointCopy(acc, step);
    for (let j = 0; j < 8; j++) {
      const entry = new Precomp();
      toPrecomp(entry, acc);
      unchecked((TABLE[k * 8 + j] = entry));
      pointAdd(acc, acc, step);
    }
    for (let d = 0; d < 8; d++) pointDouble(step, step);
  }
}
buildTable();

const SEL = new Precomp();
const NEG_XY2D = fe();

/** SEL = digit·256^k·B for digit in [-8, 8], reading every entry so the access pattern does not leak it. */
function selectBase(k: i32, digit: i32): void {
  const negative = <i64>((<u32>digit) >> 31);
  const abs = digit - ((-(<i32>negative) & digit) << 1);
  feSet(SEL.ypx, 1);
  feSet(SEL.ymx, 1);
  feSet(SEL.xy2d, 0);
  for (let j = 0; j < 8; j++) {
    const entry = unchecked(TABLE[k * 8 + j]);
    const eq = <i64>(((<u32>(abs ^ (j + 1))) - 1) >> 31);
    feCmov(SEL.ypx, entry.ypx, eq);
    feCmov(SEL.ymx, entry.ymx, eq);
    feCmov(SEL.xy2d, entry.xy2d, eq);
  }
  // Negation of (y+x, y-x, 2dxy) is (y-x, y+x, -2dxy).
  feCopy(TX, SEL.ypx);
  feCmov(SEL.ypx, SEL.ymx, negative);
  feCmov(SEL.ymx, TX, negative);
  feNeg(NEG_XY2D, SEL.xy2d);
  feCmov(SEL.xy2d, NEG_XY2D, negative);
}

const DIGITS = new StaticArray<i32>(64);

/** DIGITS = the scalar at s (< 2^255) in 64 signed radix-16 digits in [-8, 8], without branches. */
function recodeSigned(s: usize): StaticArray<i32> {
  const e = DIGITS;
  for (let i = 0; i < 32; i++) {
    const b = <i32>load<u8>(s + i);
    unchecked((e[2 * i] = b & 15));
    unchecked((e[2 * i + 1] = (b >> 4) & 15));
  }
  let carry = 0;
  for (let i = 0; i < 63; i++) {
    unchecked((e[i] += carry));
    carry = (unchecked(e[i]) + 8) >> 4;
    unchecked((e[i] -= carry << 4));
  }
  unchecked((e[63] += carry));
  return e;
}

/** p = [s]B for a 32-byte scalar s < 2^255, in constant time. */
function scalarMultBase(p: Point, s: usize): void {
  const e = recodeSigned(s);
  pointIdentity(p);
  for (let i = 1; i < 64; i += 2) {
    selectBase(i >> 1, unchecked(e[i]));
    pointAddPrecomp(p, p, SEL);
  }
  pointDouble(p, p, false);
  pointDouble(p, p, false);
  pointDouble(p, p, false);
  pointDouble(p, p);
  for (let i = 0; i < 64; i += 2) {
    selectBase(i >> 1, unchecked(e[i]));
    pointAddPrecomp(p, p, SEL);
  }
  memory.fill(changetype<usize>(e), 0, 64 * 4);
}

const NEG_ENTRY = new Precomp();

/** p = [s]B for a PUBLIC scalar (verification): indexes the table directly instead of scanning it. */
function scalarMultBaseVartime(p: Point, s: usize): void {
  const e = recodeSigned(s);
  pointIdentity(p);
  for (let pass = 1; pass >= 0; pass--) {
    for (let i = pass; i < 64; i += 2) {
      const digit = unchecked(e[i]);
      if (digit == 0) continue;
      const entry = unchecked(TABLE[(i >> 1) * 8 + (digit < 0 ? -digit : digit) - 1]);
      if (digit > 0) {
        pointAddPrecomp(p, p, entry);
      } else {
        feCopy(NEG_ENTRY.ypx, entry.ymx);
        feCopy(NEG_ENTRY.ymx, entry.ypx);
        feNeg(NEG_ENTRY.xy2d, entry.xy2d);
        pointAddPrecomp(p, p, NEG_ENTRY);
      }
    }
    if (pass == 1) {
      pointDouble(p, p, false);
      pointDouble(p, p, false);
      pointDouble(p, p, false);
      pointDouble(p, p);
    }
  }
}

/** A point prepared for repeated additions (ref10's "cached" form): Y+X, Y-X, Z, 2dT. */
class Cached {
  ypx: Fe = fe();
  ymx: Fe = fe();
  z: Fe = fe();
  t2d: Fe = fe();
}

function toCached(o: Cached, p: Point): void {
  feAdd(o.ypx, p.y, p.x);
  feSub(o.ymx, p.y, p.x);
  feCopy(o.z, p.z);
  feMul(o.t2d, p.t, D2);
}

/** r = p + q for a cached q (8 multiplications). r may be p. */
function pointAddCached(r: Point, p: Point, q: Cached): void {
  feSub(A_, p.y, p.x);
  feMul(A_, A_, q.ymx);
  feAdd(B_, p.y, p.x);
  feMul(B_, B_, q.ypx);
  feMul(C_, p.t, q.t2d);
  feMul(D_, p.z, q.z);
  feAdd(D_, D_, D_);
  feSub(E_, B_, A_);
  feSub(F_, D_, C_);
  feAdd(G_, D_, C_);
  feAdd(H_, B_, A_);
  feMul(r.x, E_, F_);
  feMul(r.y, H_, G_);
  feMul(r.z, G_, F_);
  feMul(r.t, E_, H_);
}

const MULTIPLE = new Point();
const POS_MULTIPLES = new StaticArray<Cached>(9);
const NEG_MULTIPLES = new StaticArray<Cached>(9);
for (let i = 0; i < 9; i++) {
  unchecked((POS_MULTIPLES[i] = new Cached()));
  unchecked((NEG_MULTIPLES[i] = new Cached()));
}

/**
 * p = [s]q for s < 2^255 with signed radix-16 digits in [-8, 8] over cached multiples [1..8]q and their
 * negations. Variable time: only for public scalars and points (verification).
 */
function scalarMultVartime(p: Point, q: Point, s: usize): void {
  pointCopy(MULTIPLE, q);
  for (let i = 1; i <= 8; i++) {
    if (i > 1) pointAdd(MULTIPLE, MULTIPLE, q);
    const pos = unchecked(POS_MULTIPLES[i]), neg = unchecked(NEG_MULTIPLES[i]);
    toCached(pos, MULTIPLE);
    // -(x, y) = (-x, y): Y+X and Y-X swap, T changes sign.
    feCopy(neg.ypx, pos.ymx);
    feCopy(neg.ymx, pos.ypx);
    feCopy(neg.z, pos.z);
    feNeg(neg.t2d, pos.t2d);
  }
  const e = recodeSigned(s);
  pointIdentity(p);
  for (let i = 63; i >= 0; i--) {
    if (i != 63) {
      pointDouble(p, p, false);
      pointDouble(p, p, false);
      pointDouble(p, p, false);
      pointDouble(p, p);
    }
    const digit = unchecked(e[i]);
    if (digit > 0) pointAddCached(p, p, unchecked(POS_MULTIPLES[digit]));
    else if (digit < 0) pointAddCached(p, p, unchecked(NEG_MULTIPLES[-digit]));
  }
}

const CHK = fe(), NUM = fe(), DEN = fe(), DEN2 = fe(), DEN4 = fe(), DEN6 = fe(), TT = fe();

/** True when the 32 bytes at src encode y >= p (a non-canonical field element). */
function yIsNonCanonical(src: usize): bool {
  if ((load<u8>(src + 31) & 0x7f) != 0x7f) return false;
  for (let i = 30; i >= 1; i--) if (load<u8>(src + i) != 0xff) return false;
  return load<u8>(src) >= 0xed;
}

/** Decodes the point at src and negates it (r = -P). False if it does not decode. */
function unpackNeg(r: Point, src: usize): bool {
  if (yIsNonCanonical(src)) return false;
  feSet(r.z, 1);
  feUnpack(r.y, src);
  feSquare(NUM, r.y);
  feMul(DEN, NUM, D);
  feSub(NUM, NUM, r.z); // y^2 - 1
  feAdd(DEN, r.z, DEN); // d·y^2 + 1
  feSquare(DEN2, DEN);
  feSquare(DEN4, DEN2);
  feMul(DEN6, DEN4, DEN2);
  feMul(TT, DEN6, NUM);
  feMul(TT, TT, DEN);
  fePow22523(TT, TT);
  feMul(TT, TT, NUM);
  feMul(TT, TT, DEN);
  feMul(TT, TT, DEN);
  feMul(r.x, TT, DEN);
  feSquare(CHK, r.x);
  feMul(CHK, CHK, DEN);
  if (feNeq(CHK, NUM)) feMul(r.x, r.x, SQRTM1);
  feSquare(CHK, r.x);
  feMul(CHK, CHK, DEN);
  if (feNeq(CHK, NUM)) return false;
  const sign = <i32>(load<u8>(src + 31) >> 7);
  // x = 0 with the sign bit set is not a valid encoding (RFC 8032 5.1.3, step 4).
  if (feIsZero(r.x) && sign == 1) return false;
  if (feParity(r.x) == sign) feNeg(r.x, r.x);
  feMul(r.t, r.x, r.y);
  return true;
}

const HASH_CTX = memory.data(<i32>SHA512_CTX_BYTES, 8);
const EXPANDED = memory.data(64, 8); // secret: clamped scalar a ‖ prefix
const NONCE = memory.data(64, 8); // secret: r
const CHALLENGE = memory.data(64, 8);
const P1 = new Point();
const P2 = new Point();

function expandSeed(seed32: usize): void {
  sha512Init(HASH_CTX);
  sha512Update(HASH_CTX, seed32, 32);
  sha512Final(HASH_CTX, EXPANDED);
  store<u8>(EXPANDED, load<u8>(EXPANDED) & 248);
  store<u8>(EXPANDED + 31, (load<u8>(EXPANDED + 31) & 127) | 64);
}

function wipeSecrets(): void {
  memory.fill(EXPANDED, 0, 64);
  memory.fill(NONCE, 0, 64);
  memory.fill(HASH_CTX, 0, SHA512_CTX_BYTES);
  pointIdentity(P1);
  feSet(SEL.ypx, 0);
  feSet(SEL.ymx, 0);
  feSet(SEL.xy2d, 0);
}

export function ed25519DerivePublicKey(seed32: usize, outPk32: usize): void {
  expandSeed(seed32);
  scalarMultBase(P1, EXPANDED);
  pointPack(outPk32, P1);
  wipeSecrets();
}

export function ed25519SignDetached(seed32: usize, pk32: usize, msg: usize, len: usize, outSig64: usize): void {
  expandSeed(seed32);
  // r = H(prefix ‖ M) mod L
  sha512Init(HASH_CTX);
  sha512Update(HASH_CTX, EXPANDED + 32, 32);
  sha512Update(HASH_CTX, msg, len);
  sha512Final(HASH_CTX, NONCE);
  scReduce64(NONCE, NONCE);
  // R = [r]B
  scalarMultBase(P1, NONCE);
  pointPack(outSig64, P1);
  // k = H(R ‖ A ‖ M) mod L
  sha512Init(HASH_CTX);
  sha512Update(HASH_CTX, outSig64, 32);
  sha512Update(HASH_CTX, pk32, 32);
  sha512Update(HASH_CTX, msg, len);
  sha512Final(HASH_CTX, CHALLENGE);
  scReduce64(CHALLENGE, CHALLENGE);
  // S = r + k·a mod L
  scMulAdd(outSig64 + 32, CHALLENGE, EXPANDED, NONCE);
  wipeSecrets();
}

const RCHECK = memory.data(32);

// Policy: cofactorless [S]B = R + [k]A with R compared by encoding (as node:crypto/OpenSSL and Wycheproof
// expect); S >= L and A or R with y >= p or off the curve are refused. Small-order public keys are not
// singled out: like OpenSSL we let the equation decide, so honest keys agree with node:crypto exactly; a
// small-order key cannot verify an honest signature, and callers that need non-repudiation against
// key owners choosing such keys must refuse them when keys are registered, not here.
export function ed25519VerifyDetached(pk32: usize, msg: usize, len: usize, sig64: usize): bool {
  if (!scIsCanonical(sig64 + 32)) return false;
  if (!unpackNeg(P2, pk32)) return false;
  sha512Init(HASH_CTX);
  sha512Update(HASH_CTX, sig64, 32);
  sha512Update(HASH_CTX, pk32, 32);
  sha512Update(HASH_CTX, msg, len);
  sha512Final(HASH_CTX, CHALLENGE);
  scReduce64(CHALLENGE, CHALLENGE);
  // [k](-A) + [S]B must encode to R.
  scalarMultVartime(P1, P2, CHALLENGE);
  scalarMultBaseVartime(P2, sig64 + 32);
  pointAdd(P1, P1, P2);
  pointPack(RCHECK, P1);
  let diff: u32 = 0;
  for (let i = 0; i < 32; i++) diff |= load<u8>(RCHECK + i) ^ load<u8>(sig64 + i);
  return diff == 0;
}
