// Every temporary that signing and key derivation touch lives in this one static region, so one fill wipes
// all of them after each call (issue 10, finding 17) and a test can read the region back. Verification
// borrows the same temporaries (its data is public) and keeps its larger tables elsewhere.

export const SCRATCH_BYTES: usize = 2560;
export const SCRATCH: usize = memory.data(<i32>SCRATCH_BYTES, 16);

// Field temporaries (80 bytes each): inversion and square-root chains, point formulas, encodings.
export const FT0: usize = SCRATCH;
export const FT1: usize = SCRATCH + 80;
export const FT2: usize = SCRATCH + 160;
export const FT3: usize = SCRATCH + 240;
export const FT4: usize = SCRATCH + 320;
export const FT5: usize = SCRATCH + 400;
export const FT6: usize = SCRATCH + 480;
export const FT7: usize = SCRATCH + 560;
// Two 32-byte encodings for comparisons and parity.
export const PACK_A: usize = SCRATCH + 640;
export const PACK_B: usize = SCRATCH + 672;
// Points (320 bytes: X, Y, Z, T) and a selected table entry (240 bytes).
export const POINT_R: usize = SCRATCH + 704;
export const POINT_T: usize = SCRATCH + 1024;
export const POINT_U: usize = SCRATCH + 1344;
export const SELECTED: usize = SCRATCH + 1664;
// Signed radix-16 digits of a scalar (64 bytes).
export const DIGITS: usize = SCRATCH + 1904;
// Secrets of one signature: the expanded key (clamped scalar a ‖ prefix), the nonce r, the challenge k.
export const EXPANDED: usize = SCRATCH + 1968;
export const NONCE: usize = SCRATCH + 2032;
export const CHALLENGE: usize = SCRATCH + 2096;
// A SHA-512 context (SHA512_CTX_BYTES = 208; shaFinal also wipes it).
export const HASH_CTX: usize = SCRATCH + 2160;
// 2368 .. 2560: spare.

export function wipeScratch(): void {
  memory.fill(SCRATCH, 0, SCRATCH_BYTES);
}
