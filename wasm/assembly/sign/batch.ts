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
// entry on its own: one combined point carries only three bits about the torsion parts of all the entries.
//
// So each entry gets its own exact check, and what a batch shares is work that does not depend on the entry:
// - a cache of known public keys (validators, returning clients) with sixteen tables of odd multiples of
//   2^(16 j)·(-A) (ed25519.ts: buildKeyTables), beside the sixteen spaced tables of B built at start-up. With
//   them [S_i]B - [k_i]A_i takes 16 doublings and ~60 additions for the full 253-bit S_i and k_i (single
//   verification: lattice reduction, then ~128 doublings and ~70 additions, plus decoding A and R and
//   building their multiples);
// - no decoding of R_i at all (a square root each): the point is encoded and compared with R_i's bytes, which
//   is the cofactorless equation exactly as OpenSSL checks it (a canonical encoding equals R_i's bytes exactly
//   when R_i decodes strictly to that point);
// - one field inversion for the whole batch (Montgomery's trick) to encode all the points.
// Keys seen for the first time are verified the single way (building tables costs about three verifications,
// so a key earns them on its second signature).
import { scIsCanonical } from './scalar';
import { CHALLENGE } from './scratch';
import { POINT_BYTES, PX, PY, PZ, p3FromBytesNegate } from './point';
import { FE_BYTES, feCopy, feInvert, feMul, feOne, feParity, fePack } from './field';
import { KEY_TABLES_BYTES, baseMinusKeyMultiple, buildKeyTables, challengeOf, ed25519VerifyDetached } from './ed25519';

/** One entry = 16 bytes: pk ptr (u32, 32 bytes) | sig ptr (u32, 64 bytes) | msg ptr (u32) | msg len (u32). */
export const BATCH_ENTRY_BYTES: usize = 16;

// The key cache: KEY_SLOTS slots, each the 32-byte key, a state word and the sixteen tables of odd multiples
// of 2^(16 j)·(-A) (60 KiB a key, 7.5 MiB in all).
const KEY_SLOTS: i32 = 128;
const PROBES: i32 = 4; // slots probed from each of two home positions
const SLOT_KEY: usize = 0;
const SLOT_STATE: usize = 32;
const SLOT_TABLE: usize = 48;
const SLOT_BYTES: usize = SLOT_TABLE + KEY_TABLES_BYTES;
const STATE_EMPTY: u32 = 0;
const STATE_KEY: u32 = 2;
const STATE_BAD_KEY: u32 = 3;
/** A tabled key used since its slot's probes last aged (second chance: a hot key is not the one evicted). */
const REFERENCED: u32 = 0x100;
const STATE_MASK: u32 = 0xff;
/**
 * Keys seen once (building tables costs about three verifications, so a key earns them on its second
 * signature): 32 bytes each, apart from the tables so that one-off keys never take a table's place.
 */
const SEEN_SLOTS: i32 = 1024;
let seenKeys: usize = 0;
let seenTurn: u32 = 0;
/** Key tables built so far (the cache's cost, for tests and measurements). */
let tablesBuilt: u32 = 0;
/** Allocated on first use (most instances never verify a batch): 7.5 MiB of linear memory. */
let cache: usize = 0;
const NEG_KEY = memory.data(<i32>POINT_BYTES, 16);
let evictNext: i32 = 0;

/** What keyTable found: tables to use, a key to verify the plain way, or a key that does not decode. */
const NO_TABLES: usize = 0;
const BAD_KEY: usize = 1;

function slotAt(idx: i32): usize {
  if (cache == 0) {
    cache = heap.alloc(<usize>KEY_SLOTS * SLOT_BYTES);
    for (let i = 0; i < KEY_SLOTS; i++) store<u32>(cache + <usize>i * SLOT_BYTES + SLOT_STATE, STATE_EMPTY);
  }
  return cache + <usize>(idx & (KEY_SLOTS - 1)) * SLOT_BYTES;
}

/**
 * The cached tables of the key at pk32 (an address), NO_TABLES when the key is new or has been seen only once
 * (verify it the plain way), or BAD_KEY when it does not decode. A key chosen to collide only costs a miss,
 * never a wrong answer: slots compare all 32 bytes.
 *
 * A first sighting only goes into the small table of once-seen keys, so a stream of one-off keys (patients'
 * phones, the clients of a consortium long gone) never evicts tables. A key's second signature earns it a slot,
 * taken from an empty one, a bad key, then a tabled key not used since its probes last aged (second chance:
 * every eviction ages the probes it looked at), and only when all are in use, in turn.
 */
function keyTable(pk32: usize): usize {
  // Two home positions from different key bytes: 64 keys in 128 slots then almost never crowd a key out.
  const home0 = <i32>(load<u32>(pk32) & (<u32>(KEY_SLOTS - 1)));
  const home1 = <i32>(load<u32>(pk32, 4) & (<u32>(KEY_SLOTS - 1)));
  let victim = -1;
  let victimRank: u32 = 0xffffffff;
  for (let p = 0; p < 2 * PROBES; p++) {
    const at = p < PROBES ? home0 + p : home1 + p - PROBES;
    const slot = slotAt(at);
    const word = load<u32>(slot + SLOT_STATE);
    const state = word & STATE_MASK;
    if (state != STATE_EMPTY && memory.compare(slot + SLOT_KEY, pk32, 32) == 0) {
      if (state == STATE_BAD_KEY) return BAD_KEY;
      if ((word & REFERENCED) == 0) store<u32>(slot + SLOT_STATE, word | REFERENCED);
      return slot + SLOT_TABLE;
    }
    const rank: u32 = state == STATE_EMPTY ? 0 : state == STATE_BAD_KEY ? 1 : (word & REFERENCED) == 0 ? 2 : 3;
    if (rank < victimRank) {
      victimRank = rank;
      victim = at;
    }
  }
  // Two places a once-seen key may stand (so that two keys in turn do not keep displacing each other).
  const seen0 = seenAt(load<u32>(pk32, 8));
  const seen1 = seenAt(load<u32>(pk32, 12));
  const seen = memory.compare(seen0, pk32, 32) == 0 ? seen0 : memory.compare(seen1, pk32, 32) == 0 ? seen1 : 0;
  if (seen == 0) {
    // A newer one-off key replaces an empty entry, else the two places take turns.
    const into = isEmpty(seen0) ? seen0 : isEmpty(seen1) ? seen1 : (seenTurn ^= 1) == 0 ? seen0 : seen1;
    memory.copy(into, pk32, 32);
    return NO_TABLES;
  }
  // Second signature by this key: it earns a slot and its tables.
  memory.fill(seen, 0, 32);
  if (victimRank >= 2) {
    if (victimRank == 3) {
      victim = evictNext < PROBES ? home0 + evictNext : home1 + evictNext - PROBES;
      evictNext = (evictNext + 1) % (2 * PROBES);
    }
    for (let p = 0; p < 2 * PROBES; p++) {
      const aged = slotAt(p < PROBES ? home0 + p : home1 + p - PROBES) + SLOT_STATE;
      store<u32>(aged, load<u32>(aged) & ~REFERENCED);
    }
  }
  const slot = slotAt(victim);
  memory.copy(slot + SLOT_KEY, pk32, 32);
  if (!p3FromBytesNegate(NEG_KEY, pk32)) {
    store<u32>(slot + SLOT_STATE, STATE_BAD_KEY);
    return BAD_KEY;
  }
  buildKeyTables(slot + SLOT_TABLE, NEG_KEY);
  tablesBuilt++;
  store<u32>(slot + SLOT_STATE, STATE_KEY | REFERENCED);
  return slot + SLOT_TABLE;
}

/** An entry of the once-seen table, by a hash word of the key. */
function seenAt(hash: u32): usize {
  if (seenKeys == 0) seenKeys = heap.alloc(<usize>SEEN_SLOTS * 32);
  return seenKeys + <usize>((hash & (<u32>(SEEN_SLOTS - 1))) * 32);
}

function isEmpty(entry: usize): bool {
  return load<u64>(entry) == 0 && load<u64>(entry, 8) == 0 && load<u64>(entry, 16) == 0 && load<u64>(entry, 24) == 0;
}

// Per batch: for each entry checked through its key's tables, the point [S]B - [k]A (X, Y, Z) and, for the
// one inversion, the running products of the Z's.
const PENDING_BYTES: usize = 3 * FE_BYTES;
const ACC = memory.data(<i32>FE_BYTES, 16);
const INV = memory.data(<i32>FE_BYTES, 16);
const ZINV = memory.data(<i32>FE_BYTES, 16);
const AFFINE_X = memory.data(<i32>FE_BYTES, 16);
const AFFINE_Y = memory.data(<i32>FE_BYTES, 16);
const ENCODED = memory.data(32, 16);

/**
 * Verifies `count` signatures described by BATCH_ENTRY_BYTES-byte entries at `entries`. Writes verdicts[i] = 1
 * (valid) or 0 (invalid) for every entry and returns the number of invalid entries (0: all valid). Each
 * verdict is exactly ed25519VerifyDetached's. The memory the entries point at must not change during the call.
 */
export function ed25519VerifyBatch(entries: usize, count: i32, verdicts: usize): i32 {
  if (count <= 0) return 0;
  // Pass 1: entries with a known key get their point [S]B - [k]A; the others their verdict now.
  const points = heap.alloc(<usize>count * PENDING_BYTES);
  const products = heap.alloc(<usize>count * FE_BYTES);
  const pending = heap.alloc(<usize>count * 4);
  let waiting = 0;
  let bad = 0;
  for (let i = 0; i < count; i++) {
    const e = entries + <usize>i * BATCH_ENTRY_BYTES;
    const pk32 = <usize>load<u32>(e, 0);
    const sig64 = <usize>load<u32>(e, 4);
    const msg = <usize>load<u32>(e, 8);
    const len = <usize>load<u32>(e, 12);
    let ok = scIsCanonical(sig64 + 32);
    if (ok) {
      const table = keyTable(pk32);
      if (table == BAD_KEY) ok = false;
      else if (table == NO_TABLES) ok = ed25519VerifyDetached(pk32, msg, len, sig64);
      else {
        challengeOf(CHALLENGE, sig64, pk32, msg, len);
        baseMinusKeyMultiple(points + <usize>waiting * PENDING_BYTES, table, sig64 + 32, CHALLENGE);
        store<i32>(pending + ((<usize>waiting) << 2), i);
        waiting++;
        continue; // verdict in pass 2
      }
    }
    store<u8>(verdicts + <usize>i, ok ? 1 : 0);
    if (!ok) bad++;
  }
  // Pass 2: one inversion for all the Z's (Montgomery's trick), then each point's encoding against R's bytes.
  if (waiting > 0) {
    feOne(ACC);
    for (let w = 0; w < waiting; w++) {
      feCopy(products + <usize>w * FE_BYTES, ACC);
      feMul(ACC, ACC, points + <usize>w * PENDING_BYTES + PZ);
    }
    feInvert(INV, ACC); // Z is never 0 on this curve (complete addition law), so neither is the product
    for (let w = waiting - 1; w >= 0; w--) {
      const p = points + <usize>w * PENDING_BYTES;
      feMul(ZINV, INV, products + <usize>w * FE_BYTES);
      feMul(INV, INV, p + PZ);
      feMul(AFFINE_X, p + PX, ZINV);
      feMul(AFFINE_Y, p + PY, ZINV);
      fePack(ENCODED, AFFINE_Y);
      store<u8>(ENCODED + 31, load<u8>(ENCODED + 31) ^ ((<u8>feParity(AFFINE_X)) << 7));
      const i = load<i32>(pending + ((<usize>w) << 2));
      const sig64 = <usize>load<u32>(entries + <usize>i * BATCH_ENTRY_BYTES, 4);
      const ok = memory.compare(ENCODED, sig64, 32) == 0;
      store<u8>(verdicts + <usize>i, ok ? 1 : 0);
      if (!ok) bad++;
    }
  }
  heap.free(points);
  heap.free(products);
  heap.free(pending);
  return bad;
}

/** How many key tables the cache has built since the core started. */
export function ed25519KeyTablesBuilt(): u32 {
  return tablesBuilt;
}

/** Forgets every cached key (tests use it to start cold). */
export function ed25519ClearKeyCache(): void {
  for (let i = 0; i < KEY_SLOTS; i++) store<u32>(slotAt(i) + SLOT_STATE, STATE_EMPTY);
  if (seenKeys != 0) memory.fill(seenKeys, 0, <usize>SEEN_SLOTS * 32);
  evictNext = 0;
}
