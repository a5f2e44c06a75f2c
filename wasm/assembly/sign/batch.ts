// Verifying many signatures at once, with exactly the verdicts of ed25519VerifyDetached for every entry.
//
// Why there is no random linear combination here. The usual batch equation checks
// sum z_i·([S_i]B - [k_i]A_i - R_i) = O for random z_i. Its prime-order part is sound (a bad entry survives
// with probability 2^-128), but the curve also has a torsion subgroup of order 8, and cofactorless
// verification rejects a signature whose difference D_i = [S_i]B - [k_i]A_i - R_i is a nonzero torsion point.
// In the sum such points are multiplied by z_i modulo 8: one bad entry of order 2 survives whenever z_i is
// even (probability 1/2 for any choice of randomness), and two bad entries crafted by the same signer can
// cancel outright. A batch would then accept what single verification refuses, and two honest replicas, one
// batching and one not, would disagree about the same certificate. Making the sum exact needs, for every
// entry, a proof that R_i has no torsion component (e.g. [L]R_i = O), which costs as much as verifying the
// entry on its own. So each entry gets its own exact check (lattice.ts: [c1]D_i = O with c1 odd); what a batch
// shares is a cache of decoded public keys with odd multiples of A, 2^64·A and 2^128·A, which lets each check
// cut the lattice unevenly (c1 of ~64 bits, c0 of ~191 bits in three pieces) and run ~64 doublings instead of
// ~128. PBFT certificates, checkpoints and client batches hit the same keys again and again.
import { scIsCanonical } from "./scalar";
import { CHALLENGE } from "./scratch";
import { POINT_BYTES, p3FromBytesNegate } from "./point";
import {
  KEY_TABLES_BYTES, ODD_MULTIPLES_BYTES, buildKeyTables, challengeOf, checkEquationKeyTables, prepareR,
} from "./ed25519";

/** One entry = 16 bytes: pk ptr (u32, 32 bytes) | sig ptr (u32, 64 bytes) | msg ptr (u32) | msg len (u32). */
export const BATCH_ENTRY_BYTES: usize = 16;

// The key cache: KEY_SLOTS slots, each the 32-byte key, a state word and the odd multiples of -A, -2^64·A and
// -2^128·A (about 11 KiB a key, 1.4 MiB in all).
const KEY_SLOTS: i32 = 128;
const PROBES: i32 = 4;
const SLOT_KEY: usize = 0;
const SLOT_STATE: usize = 32; // 0 empty, 1 a decoded key, 2 a key that does not decode
const SLOT_TABLE: usize = 48;
const SLOT_BYTES: usize = SLOT_TABLE + KEY_TABLES_BYTES;
const STATE_EMPTY: u32 = 0;
const STATE_KEY: u32 = 1;
const STATE_BAD_KEY: u32 = 2;
const CACHE = memory.data(KEY_SLOTS * <i32>SLOT_BYTES, 16);
const NEG_KEY = memory.data(<i32>POINT_BYTES, 16);
const R_ODD = memory.data(<i32>ODD_MULTIPLES_BYTES, 16);
let evictNext: i32 = 0;

function sameKey(slot: usize, pk32: usize): bool {
  return memory.compare(slot + SLOT_KEY, pk32, 32) == 0;
}

/**
 * The odd multiples of -A for the key at pk32 from the cache, decoding and caching the key on a miss; 0 when
 * the key does not decode. A key chosen to collide only costs a miss, never a wrong answer: slots compare
 * all 32 bytes.
 */
function keyTable(pk32: usize): usize {
  const home = <i32>(load<u32>(pk32) & <u32>(KEY_SLOTS - 1));
  let free = -1;
  for (let p = 0; p < PROBES; p++) {
    const idx = (home + p) & (KEY_SLOTS - 1);
    const slot = CACHE + <usize>idx * SLOT_BYTES;
    const state = load<u32>(slot + SLOT_STATE);
    if (state == STATE_EMPTY) {
      if (free < 0) free = idx;
      continue;
    }
    if (sameKey(slot, pk32)) return state == STATE_KEY ? slot + SLOT_TABLE : 0;
  }
  if (free < 0) {
    // All probed slots hold other keys: evict them in turn.
    free = (home + evictNext) & (KEY_SLOTS - 1);
    evictNext = (evictNext + 1) % PROBES;
  }
  const slot = CACHE + <usize>free * SLOT_BYTES;
  memory.copy(slot + SLOT_KEY, pk32, 32);
  if (!p3FromBytesNegate(NEG_KEY, pk32)) {
    store<u32>(slot + SLOT_STATE, STATE_BAD_KEY);
    return 0;
  }
  buildKeyTables(slot + SLOT_TABLE, NEG_KEY);
  store<u32>(slot + SLOT_STATE, STATE_KEY);
  return slot + SLOT_TABLE;
}

/** ed25519VerifyDetached, with the public key taken from (or put into) the key cache. */
export function ed25519VerifyCachedKey(pk32: usize, msg: usize, len: usize, sig64: usize): bool {
  if (!scIsCanonical(sig64 + 32)) return false;
  const table = keyTable(pk32);
  if (table == 0) return false;
  if (!prepareR(R_ODD, sig64)) return false;
  challengeOf(CHALLENGE, sig64, pk32, msg, len);
  return checkEquationKeyTables(table, R_ODD, sig64 + 32, CHALLENGE, pk32);
}

/**
 * Verifies `count` signatures described by BATCH_ENTRY_BYTES-byte entries at `entries`. Writes verdicts[i] = 1
 * (valid) or 0 (invalid) for every entry and returns the number of invalid entries (0: all valid). Each
 * verdict is exactly ed25519VerifyDetached's. The memory the entries point at must not change during the call.
 */
export function ed25519VerifyBatch(entries: usize, count: i32, verdicts: usize): i32 {
  let bad = 0;
  for (let i = 0; i < count; i++) {
    const e = entries + <usize>i * BATCH_ENTRY_BYTES;
    const ok = ed25519VerifyCachedKey(
      <usize>load<u32>(e, 0), <usize>load<u32>(e, 8), <usize>load<u32>(e, 12), <usize>load<u32>(e, 4),
    );
    store<u8>(verdicts + <usize>i, ok ? 1 : 0);
    if (!ok) bad++;
  }
  return bad;
}

/** Forgets every cached key (tests use it to start cold). */
export function ed25519ClearKeyCache(): void {
  memory.fill(CACHE, 0, <usize>KEY_SLOTS * SLOT_BYTES);
  evictNext = 0;
}
