// Ed25519 (RFC 8032, pure) over the field and scalar arithmetic beside this file. Verification is
// cofactorless, rejects S >= L, public keys whose y is not canonical or not on the curve, and compares R by
// its encoding (so a non-canonical R never verifies), which is what node:crypto (OpenSSL) and Wycheproof expect.
import { Fe, fe, feFrom, feAdd, feSub, feMul, feSquare, feSwap, fePack, feUnpack, feNeq, feParity, feInvert, fePow2523, feCopy, feSet } from "./field";
import { scReduce64, scMulAdd, scIsCanonical } from "./scalar";
import { SHA512_CTX_BYTES, sha512Init, sha512Update, sha512Final } from "../hash/sha512";

const D = feFrom([0x78a3, 0x1359, 0x4dca, 0x75eb, 0xd8ab, 0x4141, 0x0a4d, 0x0070, 0xe898, 0x7779, 0x4079, 0x8cc7, 0xfe73, 0x2b6f, 0x6cee, 0x5203]);
const D2 = feFrom([0xf159, 0x26b2, 0x9b94, 0xebd6, 0xb156, 0x8283, 0x149a, 0x00e0, 0xd130, 0xeef3, 0x80f2, 0x198e, 0xfce7, 0x56df, 0xd9dc, 0x2406]);
const BX = feFrom([0xd51a, 0x8f25, 0x2d60, 0xc956, 0xa7b2, 0x9525, 0xc760, 0x692c, 0xdc5c, 0xfdd6, 0xe231, 0xc0a4, 0x53fe, 0xcd6e, 0x36d3, 0x2169]);
const BY = feFrom([0x6658, 0x6666, 0x6666, 0x6666, 0x6666, 0x6666, 0x6666, 0x6666, 0x6666, 0x6666, 0x6666, 0x6666, 0x6666, 0x6666, 0x6666, 0x6666]);
const SQRTM1 = feFrom([0xa0b0, 0x4a0e, 0x1b27, 0xc4ee, 0xe478, 0xad2f, 0x1806, 0x2f43, 0xd7a7, 0x3dfb, 0x0099, 0x2b4d, 0xdf0b, 0x4fc1, 0x2480, 0x2b83]);

/** A point in extended coordinates (X:Y:Z:T), x = X/Z, y = Y/Z, xy = T/Z. */
class Point {
  x: Fe = fe();
  y: Fe = fe();
  z: Fe = fe();
  t: Fe = fe();
}

const A_ = fe(), B_ = fe(), C_ = fe(), D_ = fe(), E_ = fe(), F_ = fe(), G_ = fe(), H_ = fe(), T_ = fe();

/** p += q (complete twisted Edwards addition, a = -1). */
function pointAdd(p: Point, q: Point): void {
  feSub(A_, p.y, p.x);
  feSub(T_, q.y, q.x);
  feMul(A_, A_, T_);
  feAdd(B_, p.x, p.y);
  feAdd(T_, q.x, q.y);
  feMul(B_, B_, T_);
  feMul(C_, p.t, q.t);
  feMul(C_, C_, D2);
  feMul(D_, p.z, q.z);
  feAdd(D_, D_, D_);
  feSub(E_, B_, A_);
  feSub(F_, D_, C_);
  feAdd(G_, D_, C_);
  feAdd(H_, B_, A_);
  feMul(p.x, E_, F_);
  feMul(p.y, H_, G_);
  feMul(p.z, G_, F_);
  feMul(p.t, E_, H_);
}

function pointSwap(p: Point, q: Point, bit: i64): void {
  feSwap(p.x, q.x, bit);
  feSwap(p.y, q.y, bit);
  feSwap(p.z, q.z, bit);
  feSwap(p.t, q.t, bit);
}

function pointSetIdentity(p: Point): void {
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

const ZI = fe(), TX = fe(), TY = fe();

function pointPack(out: usize, p: Point): void {
  feInvert(ZI, p.z);
  feMul(TX, p.x, ZI);
  feMul(TY, p.y, ZI);
  fePack(out, TY);
  store<u8>(out + 31, load<u8>(out + 31) ^ (<u8>feParity(TX) << 7));
}

/** p = [s]q by a constant-time ladder over all 256 bits of the 32-byte scalar at s. Clobbers q. */
function scalarMult(p: Point, q: Point, s: usize): void {
  pointSetIdentity(p);
  for (let i = 255; i >= 0; --i) {
    const bit = <i64>((load<u8>(s + (i >> 3)) >> (<u8>(i & 7))) & 1);
    pointSwap(p, q, bit);
    pointAdd(q, p);
    pointAdd(p, p);
    pointSwap(p, q, bit);
  }
}

const BASE = new Point();

function scalarMultBase(p: Point, s: usize): void {
  feCopy(BASE.x, BX);
  feCopy(BASE.y, BY);
  feSet(BASE.z, 1);
  feMul(BASE.t, BX, BY);
  scalarMult(p, BASE, s);
}

const CHK = fe(), NUM = fe(), DEN = fe(), DEN2 = fe(), DEN4 = fe(), DEN6 = fe(), TT = fe();
const P_MINUS_BYTES = memory.data(32);

/** True when the 32 bytes at src encode y >= p (a non-canonical field element). */
function yIsNonCanonical(src: usize): bool {
  // p = 2^255 - 19: little-endian bytes ed ff .. ff 7f. y (top bit cleared) >= p iff bytes 1..30 are 0xff,
  // byte 31 (masked) is 0x7f and byte 0 >= 0xed.
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
  feSub(NUM, NUM, r.z);
  feAdd(DEN, r.z, DEN);
  feSquare(DEN2, DEN);
  feSquare(DEN4, DEN2);
  feMul(DEN6, DEN4, DEN2);
  feMul(TT, DEN6, NUM);
  feMul(TT, TT, DEN);
  fePow2523(TT, TT);
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
  // x = 0 with the sign bit set is not a valid encoding (RFC 8032 5.1.3 step 4).
  const sign = <i32>(load<u8>(src + 31) >> 7);
  feSet(TT, 0);
  if (!feNeq(r.x, TT) && sign == 1) return false;
  if (feParity(r.x) == sign) feSub(r.x, TT, r.x);
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
  pointSetIdentity(P1);
  pointSetIdentity(P2);
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

export function ed25519VerifyDetached(pk32: usize, msg: usize, len: usize, sig64: usize): bool {
  if (!scIsCanonical(sig64 + 32)) return false;
  if (!unpackNeg(P2, pk32)) return false;
  sha512Init(HASH_CTX);
  sha512Update(HASH_CTX, sig64, 32);
  sha512Update(HASH_CTX, pk32, 32);
  sha512Update(HASH_CTX, msg, len);
  sha512Final(HASH_CTX, CHALLENGE);
  scReduce64(CHALLENGE, CHALLENGE);
  // [S]B + [k](-A) must encode to R.
  scalarMult(P1, P2, CHALLENGE);
  scalarMultBase(P2, sig64 + 32);
  pointAdd(P1, P2);
  pointPack(RCHECK, P1);
  let diff: u32 = 0;
  for (let i = 0; i < 32; i++) diff |= load<u8>(RCHECK + i) ^ load<u8>(sig64 + i);
  return diff == 0;
}
