/** Lowercase hex of bytes (PeerIds, map keys). */
export function toHexKey(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}
