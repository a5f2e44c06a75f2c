// Scalars modulo the group order L = 2^252 + 27742317777372353535851937790883648493, as 32 little-endian
// bytes. The reductions themselves are generated (scalar-reduce.ts); this file adds the checks around them.
import { scMulAdd, scReduce64 } from './scalar-reduce';
export { scMulAdd, scReduce64 };

// L as four little-endian 64-bit words.
const L0: u64 = 0x5812631a5cf5d3ed;
const L1: u64 = 0x14def9dea2f79cd6;
const L2: u64 = 0;
const L3: u64 = 0x1000000000000000;

/** True when the 32-byte little-endian scalar at s is < L (canonical). S is public: variable time is fine. */
export function scIsCanonical(s: usize): bool {
  const s3 = load<u64>(s, 24),
    s2 = load<u64>(s, 16),
    s1 = load<u64>(s, 8),
    s0 = load<u64>(s, 0);
  if (s3 != L3) return s3 < L3;
  if (s2 != L2) return s2 < L2;
  if (s1 != L1) return s1 < L1;
  return s0 < L0;
}
