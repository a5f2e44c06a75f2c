// Ciphertext sizes say little: every sealed JSON payload is padded with trailing spaces (which JSON.parse
// ignores) to a Padmé length (Nikitin et al., "Reducing Metadata Leakage from Encrypted Files and
// Communication with PURBs", PETS 2019): at most 12 % overhead, and a length of L bytes reveals only
// O(log log L) bits instead of L itself. Below MIN_PADDED every payload has the same size.

export const MIN_PADDED = 256;

/** Padmé: keep the top ⌊log2 E⌋ + 1 bits of the length's exponent E significant, round the rest up. */
export function padmeLength(length: number): number {
  if (length <= MIN_PADDED) return MIN_PADDED;
  const e = Math.floor(Math.log2(length));
  const s = Math.floor(Math.log2(e)) + 1;
  const lastBits = e - s;
  const mask = 2 ** lastBits - 1;
  return Math.ceil(length / (mask + 1)) * (mask + 1);
}

const utf8 = new TextEncoder();

/** UTF-8 bytes of `json` followed by spaces up to its Padmé length. */
export function paddedJson(json: string): Uint8Array {
  const body = utf8.encode(json);
  const out = new Uint8Array(padmeLength(body.length)).fill(0x20);
  out.set(body);
  return out;
}
