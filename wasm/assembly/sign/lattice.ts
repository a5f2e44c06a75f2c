// Half of an extended Euclid on (8L, k): finds c0 >= 0 and an odd c1 with c0 = c1·k (mod 8L) and both about
// 128 bits long, so that verification can check [c1]([S]B - [k]A - R) = O with 128-bit scalars on A and R
// (Pornin, "Optimized lattice basis reduction in dimension 2, and fast Schnorr and EdDSA signature
// verification", 2020) instead of [S]B - [k]A = R with a 253-bit one: half the doublings.
//
// Why this is exact, cofactorless verification: c0 = c1·k (mod 8L) and 8L kills every point of the curve, so
// [c0]A = [c1·k]A for any A (torsion components included); B has order L, so [c1·S mod L]B = [c1·S]B. Hence
// [c1·S mod L]B - [c0]A - [c1]R = [c1]D with D = [S]B - [k]A - R. With c1 odd and 0 < |c1| < L, [c1]D = O
// forces D = O, because the order of D divides 8L and is odd, so it is 1 or L, and L does not divide c1.
//
// Remainders are 256-bit numbers in eight u32 limbs; the cofactors t only grow and alternate in sign, so
// their magnitudes are kept (eight limbs) with a sign flag, and each step only adds to a magnitude.

const N_LIMBS: i32 = 8;
const T_LIMBS: i32 = 8; // |t| <= 8L / (the remainder it pairs with) < 2^256: no overflow even in degenerate runs

// Working state: remainders a (previous) and b (current), cofactor magnitudes ta and tb.
const A = memory.data(N_LIMBS * 4, 8);
const B = memory.data(N_LIMBS * 4, 8);
const TA = memory.data(T_LIMBS * 4, 8);
const TB = memory.data(T_LIMBS * 4, 8);

// 8L as eight little-endian u32 limbs.
const EIGHT_L: StaticArray<u32> = [
  0xe7ae9f68, 0xc09318d2, 0x17bce6b2, 0xa6f7cef5, 0x00000000, 0x00000000, 0x00000000, 0x80000000,
];

@inline function limb(p: usize, i: i32): u32 {
  return load<u32>(p + (<usize>i << 2));
}

/** Bit length of the n-limb number at p (0 for zero). */
function bitLength(p: usize, n: i32): i32 {
  for (let i = n - 1; i >= 0; i--) {
    const v = limb(p, i);
    if (v != 0) return i * 32 + 32 - <i32>clz<u32>(v);
  }
  return 0;
}

/** The 64 bits of the 256-bit number at p starting at bit `from` (bits beyond the top read as zero). */
function bitsAt(p: usize, from: i32): u64 {
  const w = from >> 5, s = from & 31;
  const l0: u64 = <u64>limb(p, w);
  const l1: u64 = w + 1 < N_LIMBS ? <u64>limb(p, w + 1) : 0;
  const l2: u64 = w + 2 < N_LIMBS ? <u64>limb(p, w + 2) : 0;
  if (s == 0) return l0 | (l1 << 32);
  return (l0 >> <u64>s) | (l1 << <u64>(32 - s)) | (l2 << <u64>(64 - s));
}

/** a -= q·b (q < 2^32) on 256-bit numbers; the caller guarantees q·b <= a. */
function subMul(a: usize, b: usize, q: u64): void {
  let carry: u64 = 0;
  let borrow: i64 = 0;
  for (let i = 0; i < N_LIMBS; i++) {
    const prod = q * <u64>limb(b, i) + carry;
    carry = prod >> 32;
    const d = <i64>limb(a, i) - <i64>(prod & 0xffffffff) - borrow;
    borrow = d < 0 ? 1 : 0;
    store<u32>(a + (<usize>i << 2), <u32>(d & 0xffffffff));
  }
}

/** Limb i of (b << s) for an n-limb b, limbs shifted out of the top dropped. */
@inline function shiftedLimb(b: usize, i: i32, s: i32): u32 {
  const j = i - (s >> 5), r = s & 31;
  if (j < 0) return 0;
  const cur = limb(b, j);
  if (r == 0) return cur;
  const below: u32 = j > 0 ? limb(b, j - 1) : 0;
  return (cur << r) | (below >> (32 - r));
}

/** a -= b << s on 256-bit numbers (s < 256); the caller guarantees (b << s) <= a. */
function subShifted(a: usize, b: usize, s: i32): void {
  let borrow: i64 = 0;
  for (let i = 0; i < N_LIMBS; i++) {
    const d = <i64>limb(a, i) - <i64>shiftedLimb(b, i, s) - borrow;
    borrow = d < 0 ? 1 : 0;
    store<u32>(a + (<usize>i << 2), <u32>(d & 0xffffffff));
  }
}

/** ta += q·tb (magnitudes). */
function addMul(ta: usize, tb: usize, q: u64): void {
  let carry: u64 = 0;
  for (let i = 0; i < T_LIMBS; i++) {
    const v = <u64>limb(ta, i) + q * <u64>limb(tb, i) + carry;
    store<u32>(ta + (<usize>i << 2), <u32>(v & 0xffffffff));
    carry = v >> 32;
  }
}

/** ta += tb << s (magnitudes). */
function addShifted(ta: usize, tb: usize, s: i32): void {
  let carry: u64 = 0;
  for (let i = 0; i < T_LIMBS; i++) {
    const v = <u64>limb(ta, i) + <u64>shiftedLimb(tb, i, s) + carry;
    store<u32>(ta + (<usize>i << 2), <u32>(v & 0xffffffff));
    carry = v >> 32;
  }
}

function swap(x: usize, y: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const p = x + (<usize>i << 2), q = y + (<usize>i << 2);
    const t = load<u32>(p);
    store<u32>(p, load<u32>(q));
    store<u32>(q, t);
  }
}

/** One (possibly partial) Euclid step: (a, t_a) -= q·(b, t_b) for a q between 1 and floor(a / b). */
function step(): void {
  const la = bitLength(A, N_LIMBS), lb = bitLength(B, N_LIMBS);
  if (la - lb > 32) {
    // Far apart: subtract b·2^s with 2^s at most the quotient.
    const s = la - lb - 1;
    subShifted(A, B, s);
    addShifted(TA, TB, s);
    return;
  }
  // q = floor(top(a) / (top(b) + 1)) from the same 64-bit window never exceeds floor(a / b).
  const from = la > 64 ? la - 64 : 0;
  const at = bitsAt(A, from), bt = bitsAt(B, from);
  let q = bt == 0xffffffffffffffff ? at >> 63 : at / (bt + 1);
  if (q == 0) q = 1; // a >= b (a is the older, larger remainder), so one b always fits
  if (q > 0xffffffff) q = 0xffffffff;
  subMul(A, B, q);
  addMul(TA, TB, q);
}

/**
 * For a challenge k < L (32 bytes at k32): writes c0 (32 bytes, >= 0) and |c1| (32 bytes) and returns the
 * sign of c1 (+1 or -1), with c0 = c1·k (mod 8L), c1 odd and c0 < 2^c0Bits. The Euclid stops at the first
 * remainder below 2^c0Bits, whose cofactor is at most 8L / 2^c0Bits: c0Bits = 128 balances the two at ~128
 * bits each; a larger c0Bits trades a longer c0 for a shorter c1. If that cofactor is even, one more step
 * gives a smaller remainder with an odd cofactor (consecutive cofactors are never both even), normally a
 * bit or two longer. Public data: variable time.
 */
export function reduceChallenge(k32: usize, outC0: usize, outC1: usize, c0Bits: i32): i32 {
  for (let i = 0; i < N_LIMBS; i++) store<u32>(A + (<usize>i << 2), unchecked(EIGHT_L[i]));
  memory.copy(B, k32, 32);
  memory.fill(TA, 0, T_LIMBS * 4);
  memory.fill(TB, 0, T_LIMBS * 4);
  store<u32>(TB, 1);
  // Signs of the cofactors: t_a = 0 (either sign), t_b = +1; they alternate at every swap.
  let signB: i32 = 1;
  while (bitLength(B, N_LIMBS) > c0Bits) {
    step();
    if (lessThan(A, B)) {
      swap(A, B, N_LIMBS);
      swap(TA, TB, T_LIMBS);
      signB = -signB;
    }
  }
  let sign = signB;
  if ((load<u32>(TB) & 1) == 1) {
    memory.copy(outC0, B, 32);
    memory.copy(outC1, TB, 32);
  } else {
    // t_b even, so t_a is odd, and so is t_a - q·t_b: finish reducing a by b.
    while (!lessThan(A, B)) step();
    memory.copy(outC0, A, 32);
    memory.copy(outC1, TA, 32);
    sign = -signB;
  }
  // Exactness needs |c1| < L. Only a remainder below 9 right after one of 2^c0Bits or more could break that,
  // which no hash output does in practice; should it happen, the trivial pair (k, 1) is always exact.
  if (bitLength(outC1, N_LIMBS) > 251) {
    memory.copy(outC0, k32, 32);
    memory.fill(outC1, 0, 32);
    store<u8>(outC1, 1);
    sign = 1;
  }
  return sign;
}

function lessThan(x: usize, y: usize): bool {
  for (let i = N_LIMBS - 1; i >= 0; i--) {
    const a = limb(x, i), b = limb(y, i);
    if (a != b) return a < b;
  }
  return false;
}
