// Hex: peer ids, map keys, logs and test vectors (lower case out, either case in, no prefix). The one
// implementation in the tree.
const DIGITS = '0123456789abcdef';
const TABLE: string[] = Array.from({ length: 256 }, (_, i) => DIGITS[i >> 4]! + DIGITS[i & 15]!);

export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += TABLE[bytes[i]!]!;
  return s;
}

function nibble(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/**
 * Parses hex (either case); throws TypeError on odd length, a non-hex character, or (when `length` is given)
 * a byte length other than `length`.
 */
export function fromHex(hex: string, length?: number): Uint8Array {
  if (typeof hex !== 'string' || hex.length % 2 !== 0) throw new TypeError('hex string has odd length');
  if (length !== undefined && hex.length !== 2 * length) throw new TypeError(`hex string must encode ${length} bytes`);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    const hi = nibble(hex.charCodeAt(2 * i));
    const lo = nibble(hex.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) throw new TypeError('hex string has a non-hex character');
    out[i] = (hi << 4) | lo;
  }
  return out;
}

/** Like fromHex, but null instead of an error: for parsing untrusted input where absence is the answer. */
export function parseHex(hex: unknown, length: number): Uint8Array | null {
  if (typeof hex !== 'string') return null;
  try {
    return fromHex(hex, length);
  } catch {
    return null;
  }
}
