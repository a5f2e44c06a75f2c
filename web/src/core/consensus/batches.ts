// The batches behind batch digests. A replica's `execute` action hands the host only the requests it actually
// executed (stale duplicates dropped) and the execution time; the commit certificate, though, signs the digest
// of the whole ordered batch with the time the primary proposed. To make every block verifiable by anyone,
// the host keeps the batches it sees in pre-prepares (directly, or inside view-change and new-view messages),
// keyed by the digest it computes itself (so a peer cannot plant a batch under someone else's digest), and
// puts the certified batch in the block. Bounded: a peer can evict entries, never corrupt them.

import { Reader } from '../ledger/primitives.ts';
import { batchDigestOfHashes, txHash } from '../ledger/block.ts';
import { toHexKey } from './hex.ts';

const MSG_PREPREPARE = 2;
const MSG_VIEWCHANGE = 6;
const MSG_NEWVIEW = 7;
const MAX_BYTES = 64 << 20;

export interface CertifiedBatch {
  readonly time: number;
  readonly requests: Uint8Array[];
}

interface Envelope {
  type: number;
  body: Uint8Array;
  tail: Uint8Array;
}

function envelope(wire: Uint8Array): Envelope | null {
  const r = new Reader(wire, MAX_BYTES);
  const type = r.uint(7);
  const body = r.bytes(MAX_BYTES);
  if (type < 2) return null; // requests are not signed and carry no batch
  r.fixed(64);
  if (!r.ok) return null;
  return { type, body, tail: wire.subarray(wire.length - r.remaining()) };
}

export class BatchCache {
  private readonly entries = new Map<string, CertifiedBatch>();
  private bytes = 0;

  constructor(
    private readonly maxEntries = 4096,
    private readonly maxBytes = 64 << 20,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** Looks at a PBFT message (ours or a peer's) for batches. Never throws. */
  observe(wire: Uint8Array): void {
    try {
      const e = envelope(wire);
      if (!e) return;
      if (e.type === MSG_PREPREPARE) this.prePrepare(e);
      else if (e.type === MSG_VIEWCHANGE) this.viewChange(e.body);
      else if (e.type === MSG_NEWVIEW) this.newView(e.body);
    } catch {
      // Undecodable input is the replica's to reject; the cache just learns nothing from it.
    }
  }

  /** Removes and returns the batch with this digest. */
  take(digest: Uint8Array): CertifiedBatch | undefined {
    const k = toHexKey(digest);
    const b = this.entries.get(k);
    if (b) {
      this.entries.delete(k);
      this.bytes -= b.requests.reduce((s, q) => s + q.length, 0);
    }
    return b;
  }

  private prePrepare(e: Envelope): void {
    if (e.tail.length === 0) return;
    const b = new Reader(e.body, 4096);
    b.uint(255);
    b.uint();
    b.uint();
    const time = b.uint();
    const claimed = b.fixed(32);
    if (!b.end() || this.entries.has(toHexKey(claimed))) return;
    const t = new Reader(e.tail, MAX_BYTES);
    const count = t.uint(1 << 16);
    const requests: Uint8Array[] = [];
    for (let i = 0; i < count && t.ok; i++) requests.push(t.bytes(MAX_BYTES));
    if (!t.end()) return;
    const digest = batchDigestOfHashes(time, requests.map(txHash));
    this.put(toHexKey(digest), { time, requests });
  }

  private viewChange(body: Uint8Array): void {
    const r = new Reader(body, MAX_BYTES);
    r.uint(255);
    r.uint();
    r.uint();
    r.fixed(32);
    r.fixed(32);
    const k = r.uint(1024);
    for (let i = 0; i < k && r.ok; i++) r.bytes(MAX_BYTES);
    const m = r.uint(1 << 16);
    for (let i = 0; i < m && r.ok; i++) {
      const pp = envelope(r.bytes(MAX_BYTES));
      if (pp?.type === MSG_PREPREPARE) this.prePrepare(pp);
      const p = r.uint(1024);
      for (let j = 0; j < p && r.ok; j++) r.bytes(MAX_BYTES);
    }
  }

  private newView(body: Uint8Array): void {
    const r = new Reader(body, MAX_BYTES);
    r.uint(255);
    r.uint();
    const v = r.uint(1024);
    for (let i = 0; i < v && r.ok; i++) {
      const vc = envelope(r.bytes(MAX_BYTES));
      if (vc?.type === MSG_VIEWCHANGE) this.viewChange(vc.body);
    }
  }

  private put(key: string, b: CertifiedBatch): void {
    if (this.entries.has(key)) return;
    const size = b.requests.reduce((s, q) => s + q.length, 0);
    this.entries.set(key, { time: b.time, requests: b.requests.map((q) => q.slice()) });
    this.bytes += size;
    while (this.entries.size > this.maxEntries || this.bytes > this.maxBytes) {
      const oldest = this.entries.keys().next().value as string | undefined;
      if (oldest === undefined) break;
      this.take(hexToBytes(oldest));
    }
  }
}

function hexToBytes(h: string): Uint8Array {
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}
