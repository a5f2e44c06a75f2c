// Client requests: canonical { clientKey: 32, clientSeq: uint, payload: bytes } ‖ signature(64), signed by
// clientKey over signingBytes('hygeia/pbft/request/v1', body). Plus the two tables built on them: the cache
// of admitted requests by digest (each request's signature is checked once per replica, see intake.ts) and
// the per-client record of the last executed clientSeq (de-duplication).
import { Reader } from '../codec/reader';
import { Writer } from '../codec/writer';
import { ed25519DerivePublicKey } from '../sign/ed25519';
import { MAX_SAFE, SIG_BYTES, TAG_REQUEST } from './constants';
import { bucketOf, bytesCompare, bytesEqual, NO_EPOCH, sha256, signBody } from './crypto';
import { Replica } from './replica';

export class ClientRequest {
  bytes: Uint8Array;
  digest: Uint8Array;
  key: Uint8Array;
  seq: u64;
  /** Its client signature checked out (see intake.ts: checked once, in a batch). */
  verified: bool = false;
  /** Counted in the pending bound (admitted from a client, waiting to be ordered). */
  queued: bool = false;
  /** Put in a batch by this replica as primary (or in the current view's pre-prepares). */
  proposed: bool = false;
  /** Executed or found stale: queue entries with it set are skipped and dropped lazily. */
  done: bool = false;

  constructor(bytes: Uint8Array, digest: Uint8Array, key: Uint8Array, seq: u64) {
    this.bytes = bytes;
    this.digest = digest;
    this.key = key;
    this.seq = seq;
  }

  /** Adds its client signature to the replica's current batch (see Replica.failedSignatures). */
  queueCheck(r: Replica): void {
    const n = this.bytes.length - SIG_BYTES;
    r.batch.add(TAG_REQUEST, NO_EPOCH, this.bytes.subarray(0, n), this.key, this.bytes.subarray(n));
  }

  /** What the request cache finds it by. */
  get id(): Uint8Array {
    return this.digest;
  }
}

/** Decodes a request canonically (no signature check) and hashes it; null if malformed. */
export function parseRequest(bytes: Uint8Array, maxBytes: i32): ClientRequest | null {
  if (bytes.length > maxBytes) return null;
  const r = new Reader(bytes, maxBytes);
  r.skip(32);
  const seq = r.uint(MAX_SAFE);
  r.skip(r.count(maxBytes)); // the payload is the application's: not copied here
  r.skip(SIG_BYTES);
  if (!r.end()) return null;
  return new ClientRequest(bytes, sha256(bytes), bytes.subarray(0, 32), seq);
}

/** Encodes and signs a request with a client's 32-byte seed. */
export function encodeRequest(seed: Uint8Array, clientSeq: u64, payload: Uint8Array): Uint8Array {
  const pk = new Uint8Array(32);
  ed25519DerivePublicKey(seed.dataStart, pk.dataStart);
  const w = new Writer(payload.length + 128);
  w.fixed(pk);
  w.uint(clientSeq);
  w.bytes(payload);
  const body = w.finish();
  const sig = signBody(TAG_REQUEST, NO_EPOCH, body, seed, pk);
  const out = new Uint8Array(body.length + SIG_BYTES);
  out.set(body, 0);
  out.set(sig, body.length);
  return out;
}

/**
 * Entries found by 32 bytes of their own (`id`: a request's digest, a client's key), in buckets by bucketOf.
 * A bucket rarely holds more than one entry; removal swaps the last one in.
 */
class ByIdBuckets<T> {
  private buckets: Map<u64, Array<T>> = new Map();

  find(id: Uint8Array): T | null {
    const k = bucketOf(id);
    if (!this.buckets.has(k)) return null;
    const b = this.buckets.get(k);
    for (let i = 0; i < b.length; i++) {
      const e = unchecked(b[i]);
      if (bytesEqual(e.id, id)) return e;
    }
    return null;
  }

  add(e: T): void {
    const k = bucketOf(e.id);
    if (this.buckets.has(k)) {
      this.buckets.get(k).push(e);
    } else {
      const b = new Array<T>();
      b.push(e);
      this.buckets.set(k, b);
    }
  }

  /** Removes this very entry; false if it was not there. */
  remove(e: T): bool {
    const k = bucketOf(e.id);
    if (!this.buckets.has(k)) return false;
    const b = this.buckets.get(k);
    let found = false;
    for (let i = 0; i < b.length; i++) {
      if (unchecked(b[i]) === e) {
        b[i] = b[b.length - 1];
        b.pop();
        found = true;
        break;
      }
    }
    if (b.length == 0) this.buckets.delete(k);
    return found;
  }
}

/** Verified (or being verified) requests by digest. */
export class RequestCache {
  private byDigest: ByIdBuckets<ClientRequest> = new ByIdBuckets();
  size: i32 = 0;

  get(digest: Uint8Array): ClientRequest | null {
    return this.byDigest.find(digest);
  }

  add(req: ClientRequest): void {
    this.byDigest.add(req);
    this.size++;
  }

  remove(req: ClientRequest): void {
    if (this.byDigest.remove(req)) this.size--;
  }
}

class ClientRecord {
  constructor(
    public key: Uint8Array,
    public lastSeq: u64,
  ) {}

  get id(): Uint8Array {
    return this.key;
  }
}

function compareRecords(a: ClientRecord, b: ClientRecord): i32 {
  return bytesCompare(a.key, b.key);
}

/** The last executed clientSeq of every client: part of the replica state agreed at checkpoints. */
export class ClientTable {
  private byKey: ByIdBuckets<ClientRecord> = new ByIdBuckets();
  private all: Array<ClientRecord> = new Array();

  private find(key: Uint8Array): ClientRecord | null {
    return this.byKey.find(key);
  }

  /** Has this client's `seq` (or a later one) already executed? */
  isStale(key: Uint8Array, seq: u64): bool {
    const r = this.find(key);
    return r != null && seq <= r.lastSeq;
  }

  record(key: Uint8Array, seq: u64): void {
    const r = this.find(key);
    if (r != null) {
      r.lastSeq = seq;
      return;
    }
    const rec = new ClientRecord(key, seq);
    this.byKey.add(rec);
    this.all.push(rec);
  }

  get count(): i32 {
    return this.all.length;
  }

  /** Canonical: uint(count) ‖ (key32 ‖ uint(lastSeq)) sorted by key. */
  encode(w: Writer): void {
    const sorted = this.all.slice(0);
    sorted.sort(compareRecords);
    w.uint(<u64>sorted.length);
    for (let i = 0; i < sorted.length; i++) {
      const r = unchecked(sorted[i]);
      w.fixed(r.key);
      w.uint(r.lastSeq);
    }
  }

  /** Replaces the table with a decoded one; false (table unchanged) if the bytes are not canonical. */
  decode(r: Reader): bool {
    const count = <i32>r.uint(1 << 24);
    const next = new ClientTable();
    let prev: Uint8Array | null = null;
    for (let i = 0; i < count && r.ok; i++) {
      const key = r.fixed(32);
      const seq = r.uint(MAX_SAFE);
      if (!r.ok) return false;
      if (prev != null && bytesCompare(prev, key) >= 0) return false;
      prev = key;
      next.record(key, seq);
    }
    if (!r.ok) return false;
    this.byKey = next.byKey;
    this.all = next.all;
    return true;
  }
}
