// Verifying many signatures at once, with exactly the verdicts of ed25519VerifyDetached for every entry.
//
// Why there is no random linear combination here. The usual batch equation checks
// sum z_i·([S_i]B - [k_i]A_i - R_i) = O for random z_i. The z_i must be fresh and secret (wasm has no
// randomness, so the host would pass them in): with weights an attacker can predict, two bad signatures can be
// crafted whose differences cancel. With random 128-bit z_i the prime-order part is sound (a bad entry survives
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
import { scIsCanonical } from './scalar';
import { CHALLENGE } from './scratch';
import { POINT_BYTES, p3FromBytesNegate } from './point';
import { KEY_TABLES_BYTES, ODD_MULTIPLES_BYTES, buildKeyTables, challengeOf, checkEquationKeyTables, prepareR, ed25519VerifyDetached } from './ed25519';

/** One entry = 16 bytes: pk ptr (u32, 32 bytes) | sig ptr (u32, 64 bytes) | msg ptr (u32) | msg len (u32). */
export const BATCH_ENTRY_BYTES: usize = 16;

// The key cache: KEY_SLOTS slots, each the 32-byte key, a state word and the odd multiples of -A, -2^64·A and
// -2^128·A (about 11 KiB a key, 1.4 MiB in all).
const KEY_SLOTS: i32 = 128;
const PROBES: i32 = 4; // slots probed from each of two home positions
const SLOT_KEY: usize = 0;
const SLOT_STATE: usize = 32;
const SLOT_TABLE: usize = 48;
const SLOT_BYTES: usize = SLOT_TABLE + KEY_TABLES_BYTES;
const STATE_EMPTY: u32 = 0;
/** Seen once: building tables costs about one verification, so a key earns them on its second signature. */
const STATE_SEEN: u32 = 1;
const STATE_KEY: u32 = 2;
const STATE_BAD_KEY: u32 = 3;
const CACHE = memory.data(KEY_SLOTS * <i32>SLOT_BYTES, 16);
const NEG_KEY = memory.data(<i32>POINT_BYTES, 16);
const R_ODD = memory.data(<i32>ODD_MULTIPLES_BYTES, 16);
let evictNext: i32 = 0;

/** What keyTable found: tables to use, a key to verify the plain way, or a key that does not decode. */
const NO_TABLES: usize = 0;
const BAD_KEY: usize = 1;

function slotAt(idx: i32): usize {
  return CACHE + <usize>(idx & (KEY_SLOTS - 1)) * SLOT_BYTES;
}

/**
 * The cached tables of the key at pk32 (an address), NO_TABLES when the key is new or has been seen only once
 * (verify it the plain way), or BAD_KEY when it does not decode. A key chosen to collide only costs a miss,
 * never a wrong answer: slots compare all 32 bytes. New keys replace empty, then once-seen, then tabled slots.
 */
function keyTable(pk32: usize): usize {
  // Two home positions from different key bytes: 64 keys in 128 slots then almost never crowd a key out.
  const home0 = <i32>(load<u32>(pk32) & (<u32>(KEY_SLOTS - 1)));
  const home1 = <i32>(load<u32>(pk32, 4) & (<u32>(KEY_SLOTS - 1)));
  let victim = -1;
  let victimState: u32 = 0xffffffff;
  for (let p = 0; p < 2 * PROBES; p++) {
    const at = p < PROBES ? home0 + p : home1 + p - PROBES;
    const slot = slotAt(at);
    const state = load<u32>(slot + SLOT_STATE);
    if (state != STATE_EMPTY && memory.compare(slot + SLOT_KEY, pk32, 32) == 0) {
      if (state == STATE_KEY) return slot + SLOT_TABLE;
      if (state == STATE_BAD_KEY) return BAD_KEY;
      // Second signature by this key: build its tables now.
      if (!p3FromBytesNegate(NEG_KEY, pk32)) {
        store<u32>(slot + SLOT_STATE, STATE_BAD_KEY);
        return BAD_KEY;
      }
      buildKeyTables(slot + SLOT_TABLE, NEG_KEY);
      store<u32>(slot + SLOT_STATE, STATE_KEY);
      return slot + SLOT_TABLE;
    }
    // Prefer to replace an empty slot, then a once-seen or bad key, then a tabled one.
    const rank: u32 = state == STATE_EMPTY ? 0 : state == STATE_KEY ? 2 : 1;
    if (rank < victimState) {
      victimState = rank;
      victim = at;
    }
  }
  if (victimState == 2) {
    victim = evictNext < PROBES ? home0 + evictNext : home1 + evictNext - PROBES;
    evictNext = (evictNext + 1) % (2 * PROBES);
  }
  const slot = slotAt(victim);
  memory.copy(slot + SLOT_KEY, pk32, 32);
  store<u32>(slot + SLOT_STATE, STATE_SEEN);
  return NO_TABLES;
}

/** ed25519VerifyDetached, through the key cache: repeated keys get the short chain of their tables. */
export function ed25519VerifyCachedKey(pk32: usize, msg: usize, len: usize, sig64: usize): bool {
  if (!scIsCanonical(sig64 + 32)) return false;
  const table = keyTable(pk32);
  if (table == BAD_KEY) return false;
  if (table == NO_TABLES) return ed25519VerifyDetached(pk32, msg, len, sig64);
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
    const ok = ed25519VerifyCachedKey(<usize>load<u32>(e, 0), <usize>load<u32>(e, 8), <usize>load<u32>(e, 12), <usize>load<u32>(e, 4));
    store<u8>(verdicts + <usize>i, ok ? 1 : 0);
    if (!ok) bad++;
  }
  return bad;
}

/** Forgets every cached key (tests use it to start cold). */
export function ed25519ClearKeyCache(): void {
  for (let i = 0; i < KEY_SLOTS; i++) store<u32>(slotAt(i) + SLOT_STATE, STATE_EMPTY);
  evictNext = 0;
}
