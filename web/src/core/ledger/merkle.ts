// A Merkle tree in the style of RFC 6962 / RFC 9162 (Certificate Transparency): leaves and interior nodes are
// hashed under different one-byte prefixes, so no leaf can pose as a node (second-preimage resistance), and a
// tree of n leaves splits at the largest power of two below n, so proofs are at most ceil(log2 n) hashes.

import { sha256 } from '../../../../wasm/index.ts';
import { equalBytes } from '../util/index.ts';

const MERKLE_HASH_BYTES = 32;

/** SHA-256(0x00 ‖ data). */
export function merkleLeafHash(data: Uint8Array): Uint8Array {
  const buf = new Uint8Array(data.length + 1);
  buf[0] = 0x00;
  buf.set(data, 1);
  return sha256(buf);
}

/** SHA-256(0x01 ‖ left ‖ right). */
export function merkleNodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  const buf = new Uint8Array(1 + left.length + right.length);
  buf[0] = 0x01;
  buf.set(left, 1);
  buf.set(right, 1 + left.length);
  return sha256(buf);
}

function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function rootOfHashes(hashes: readonly Uint8Array[], lo: number, hi: number): Uint8Array {
  const n = hi - lo;
  if (n === 1) return hashes[lo]!;
  const k = splitPoint(n);
  return merkleNodeHash(rootOfHashes(hashes, lo, lo + k), rootOfHashes(hashes, lo + k, hi));
}

/** The root of the tree over leaf hashes (already hashed with merkleLeafHash). Empty: SHA-256(""). */
export function merkleRootOfLeafHashes(leafHashes: readonly Uint8Array[]): Uint8Array {
  if (leafHashes.length === 0) return sha256(new Uint8Array(0));
  return rootOfHashes(leafHashes, 0, leafHashes.length);
}

/** The root of the tree over the given leaves' data. */
export function merkleRoot(leaves: readonly Uint8Array[]): Uint8Array {
  return merkleRootOfLeafHashes(leaves.map(merkleLeafHash));
}

/** The audit path of leaf `index` (RFC 6962 PATH(m, D[n])), bottom-up. */
export function merkleProof(leaves: readonly Uint8Array[], index: number): Uint8Array[] {
  if (!Number.isInteger(index) || index < 0 || index >= leaves.length) throw new RangeError('leaf index out of range');
  const hashes = leaves.map(merkleLeafHash);
  const path: Uint8Array[] = [];
  const walk = (m: number, lo: number, hi: number): void => {
    const n = hi - lo;
    if (n <= 1) return;
    const k = splitPoint(n);
    if (m < k) {
      walk(m, lo, lo + k);
      path.push(rootOfHashes(hashes, lo + k, hi));
    } else {
      walk(m - k, lo + k, hi);
      path.push(rootOfHashes(hashes, lo, lo + k));
    }
  };
  walk(index, 0, hashes.length);
  return path;
}

/**
 * Checks that `leaf` is at `index` in a tree of `size` leaves with the given root (RFC 9162 §2.1.3.2).
 * Returns false for anything that does not verify, including malformed paths; never throws.
 */
export function verifyMerkleProof(leaf: Uint8Array, index: number, size: number, path: readonly Uint8Array[], root: Uint8Array): boolean {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return false;
  if (root.length !== MERKLE_HASH_BYTES || path.length > 64) return false;
  let fn = index;
  let sn = size - 1;
  let r = merkleLeafHash(leaf);
  for (const p of path) {
    if (p.length !== MERKLE_HASH_BYTES || sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = merkleNodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = merkleNodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equalBytes(r, root);
}
