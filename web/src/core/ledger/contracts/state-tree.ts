// The contracts' state root, kept incrementally, and proofs of single leaves against it.
//
// Why this shape: the state holds every record anchor (100,000 and more), so a block must not rehash every
// leaf. Each key goes to one of 2^14 buckets by the top 14 bits of sha256(key); a bucket's hash covers its
// (keyHash, valueHash) pairs in key-hash order; a fixed binary tree of depth 14 sits over the buckets (empty
// subtrees have known hashes, so only non-empty nodes are stored). A changed leaf costs one value hash, its
// bucket's hash (a few dozen pairs at a million leaves) and 14 node hashes, done once per block for the keys
// the block changed.
//
// A proof is the whole bucket (every pair, so a verifier sees a key's absence as surely as its presence)
// and the 14 sibling hashes up to the root: about 0.5 KiB at 100,000 leaves. Hash inputs are prefixed by
// kind (0x01 node, 0x02 bucket), so a bucket cannot pose as a node. Keys are hashed as UTF-8, values as
// their canonical JSON (web/src/core/codec), so the root depends on the state alone, never on the order of
// writes.
import { sha256 } from '../../../../../wasm/index.ts';
import { Reader, Writer, canonicalBytes } from '../../codec/index.ts';
import { equalBytes, toHex } from '../../util/index.ts';

export const STATE_TREE_DEPTH = 14;
const BUCKETS = 1 << STATE_TREE_DEPTH;
const HASH = 32;
/** A bucket holding more pairs than this would mean about 2^26 leaves; proofs refuse it. */
const MAX_BUCKET_ENTRIES = 4096;

export interface StateProofEntry {
  readonly keyHash: Uint8Array;
  readonly valueHash: Uint8Array;
}

/** The path from one leaf (present or absent) to the state root. */
export interface StateProofPath {
  /** Every pair of the key's bucket, in ascending key-hash order. */
  readonly entries: readonly StateProofEntry[];
  /** The sibling of each node from the bucket up to the root (STATE_TREE_DEPTH hashes), bottom-up. */
  readonly siblings: readonly Uint8Array[];
}

/** A leaf and its proof: `value` null when the key is absent from the state. */
export interface StateProof {
  readonly key: string;
  readonly value: unknown;
  readonly proof: StateProofPath;
}

const utf8 = new TextEncoder();

function stateKeyHash(key: string): Uint8Array {
  return sha256(utf8.encode(key));
}

function valueHash(value: unknown): Uint8Array {
  return sha256(canonicalBytes(value));
}

function bucketOf(keyHash: Uint8Array): number {
  return (keyHash[0]! << (STATE_TREE_DEPTH - 8)) | (keyHash[1]! >> (16 - STATE_TREE_DEPTH));
}

function bucketHash(entries: readonly StateProofEntry[]): Uint8Array {
  const buf = new Uint8Array(1 + entries.length * 2 * HASH);
  buf[0] = 0x02;
  entries.forEach((e, i) => {
    buf.set(e.keyHash, 1 + i * 2 * HASH);
    buf.set(e.valueHash, 1 + i * 2 * HASH + HASH);
  });
  return sha256(buf);
}

function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  const buf = new Uint8Array(1 + 2 * HASH);
  buf[0] = 0x01;
  buf.set(left, 1);
  buf.set(right, 1 + HASH);
  return sha256(buf);
}

let emptyHashes: Uint8Array[] | null = null;
/** emptyAt(l): the hash of an empty subtree whose leaves are buckets l levels below it. */
function emptyAt(level: number): Uint8Array {
  if (emptyHashes === null) {
    const e = [bucketHash([])];
    for (let l = 1; l <= STATE_TREE_DEPTH; l++) e.push(nodeHash(e[l - 1]!, e[l - 1]!));
    emptyHashes = e;
  }
  return emptyHashes[level]!;
}

/** Level of heap index i (buckets at BUCKETS.., the root at 1): 0 for a bucket, STATE_TREE_DEPTH for the root. */
function levelOf(i: number): number {
  return STATE_TREE_DEPTH - (31 - Math.clz32(i));
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

export class StateTree {
  private readonly buckets = new Map<number, Map<string, StateProofEntry>>();
  /** Non-empty node hashes by heap index (1 = root, BUCKETS + b = bucket b). */
  private readonly nodes = new Map<number, Uint8Array>();
  private readonly dirty = new Set<number>();

  /** Records a key's new value (undefined: deleted); hashed now, folded into the root by root(). */
  set(key: string, value: unknown): void {
    this.setCanonical(key, value === undefined ? undefined : canonicalBytes(value));
  }

  /** set() for a value given as its canonical JSON bytes (undefined: deleted). */
  setCanonical(key: string, canonical: Uint8Array | undefined): void {
    const kh = stateKeyHash(key);
    const b = bucketOf(kh);
    let bucket = this.buckets.get(b);
    if (canonical === undefined) {
      if (!bucket?.delete(toHex(kh))) return;
      if (bucket.size === 0) this.buckets.delete(b);
    } else {
      if (!bucket) this.buckets.set(b, (bucket = new Map()));
      bucket.set(toHex(kh), { keyHash: kh, valueHash: sha256(canonical) });
    }
    this.dirty.add(b);
  }

  root(): Uint8Array {
    if (this.dirty.size > 0) {
      let level = new Set<number>();
      for (const b of this.dirty) {
        const entries = this.sortedBucket(b);
        this.store(BUCKETS + b, entries.length === 0 ? null : bucketHash(entries));
        level.add((BUCKETS + b) >> 1);
      }
      this.dirty.clear();
      while (level.size > 0) {
        const up = new Set<number>();
        for (const i of level) {
          const h = this.hashAt(2 * i);
          const r = this.hashAt(2 * i + 1);
          const empty = emptyAt(levelOf(i) - 1);
          this.store(i, equalBytes(h, empty) && equalBytes(r, empty) ? null : nodeHash(h, r));
          if (i > 1) up.add(i >> 1);
        }
        level = up;
      }
    }
    return this.hashAt(1);
  }

  /** The proof for `key` against root() (which it brings up to date first). */
  path(key: string): StateProofPath {
    this.root();
    const b = bucketOf(stateKeyHash(key));
    const siblings: Uint8Array[] = [];
    for (let i = BUCKETS + b; i > 1; i >>= 1) siblings.push(this.hashAt(i ^ 1));
    return { entries: this.sortedBucket(b), siblings };
  }

  private sortedBucket(b: number): StateProofEntry[] {
    return [...(this.buckets.get(b)?.values() ?? [])].sort((x, y) => compareBytes(x.keyHash, y.keyHash));
  }

  private hashAt(i: number): Uint8Array {
    return this.nodes.get(i) ?? emptyAt(levelOf(i));
  }

  private store(i: number, h: Uint8Array | null): void {
    if (h === null) this.nodes.delete(i);
    else this.nodes.set(i, h);
  }
}

/**
 * True iff, in the state whose root is `root`, `key` holds `value` (or is absent, for `value` null).
 * Pure and total: anything malformed is false, never an exception.
 */
export function verifyStateProof(root: Uint8Array, key: string, value: unknown, proof: StateProofPath): boolean {
  try {
    if (!(root instanceof Uint8Array) || root.length !== HASH || typeof key !== 'string') return false;
    const { entries, siblings } = proof;
    if (!Array.isArray(entries) || !Array.isArray(siblings) || siblings.length !== STATE_TREE_DEPTH || entries.length > MAX_BUCKET_ENTRIES) return false;
    const kh = stateKeyHash(key);
    const b = bucketOf(kh);
    let found: StateProofEntry | undefined;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      if (!(e.keyHash instanceof Uint8Array) || !(e.valueHash instanceof Uint8Array) || e.keyHash.length !== HASH || e.valueHash.length !== HASH) return false;
      if (bucketOf(e.keyHash) !== b) return false;
      if (i > 0 && compareBytes(entries[i - 1]!.keyHash, e.keyHash) >= 0) return false;
      if (equalBytes(e.keyHash, kh)) found = e;
    }
    if (value === null || value === undefined) {
      if (found !== undefined) return false;
    } else if (found === undefined || !equalBytes(found.valueHash, valueHash(value))) return false;
    let h = bucketHash(entries);
    let i = BUCKETS + b;
    for (const s of siblings) {
      if (!(s instanceof Uint8Array) || s.length !== HASH) return false;
      h = i % 2 === 0 ? nodeHash(h, s) : nodeHash(s, h);
      i >>= 1;
    }
    return equalBytes(h, root);
  } catch {
    return false;
  }
}

/** Canonical bytes of a proof path: uint(n) ‖ n × (keyHash ‖ valueHash) ‖ STATE_TREE_DEPTH × sibling. */
export function encodeStateProofPath(p: StateProofPath): Uint8Array {
  const w = new Writer(8 + (p.entries.length * 2 + p.siblings.length) * HASH);
  w.list(p.entries, (w, e) => {
    w.fixed(e.keyHash);
    w.fixed(e.valueHash);
  });
  for (const s of p.siblings) w.fixed(s);
  return w.finish();
}

export class StateProofDecodeError extends Error {
  override readonly name = 'StateProofDecodeError';
}

export function decodeStateProofPath(bytes: Uint8Array): StateProofPath {
  const r = new Reader(bytes, 16 + (MAX_BUCKET_ENTRIES * 2 + STATE_TREE_DEPTH) * HASH);
  const entries: StateProofEntry[] = r.list(MAX_BUCKET_ENTRIES, (r) => ({ keyHash: r.fixed(HASH), valueHash: r.fixed(HASH) }));
  const siblings: Uint8Array[] = [];
  for (let i = 0; i < STATE_TREE_DEPTH && r.ok; i++) siblings.push(r.fixed(HASH));
  if (!r.end()) throw new StateProofDecodeError(`state proof does not decode (${r.error ?? 'error'})`);
  return { entries, siblings };
}
