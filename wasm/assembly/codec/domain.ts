// Domain separation for signatures: what every signature in Hygeia covers.
import { Writer } from './writer';

/**
 * uvarint(len(tag)) ‖ ASCII(tag) ‖ body. Tags are printable-ASCII constants such as
 * "hygeia/pbft/prepare/v1"; the length prefix keeps (tag, body) pairs from colliding.
 */
export function signingBytes(tag: string, body: Uint8Array): Uint8Array {
  const w = new Writer(tag.length + body.length + 2);
  w.str(tag);
  w.fixed(body);
  return w.finish();
}

/** Compares two byte strings lexicographically (a shorter prefix first): <0, 0, >0. The order of set and map keys. */
export function compareBytes(a: Uint8Array, b: Uint8Array): i32 {
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    const d = <i32>unchecked(a[i]) - <i32>unchecked(b[i]);
    if (d != 0) return d;
  }
  return a.length - b.length;
}
