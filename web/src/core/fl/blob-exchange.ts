// Update and weights bytes on the FL channel, addressed by their SHA-256. A node publishes its update to every
// peer before committing its digest; a receiver keeps unsolicited bytes only when the caller's `admit` says so
// (an update of an open round, from the clinic the sending peer belongs to), and keeps bytes for good once they
// match a committed digest. A node missing bytes asks every peer (`want`) and retries; anyone holding them
// answers, at most once per peer and digest per `answerGapMs`. Frames of other channels are ignored.
import type { PeerId, Transport } from '../net/transport.ts';
import { fromHex, toHex } from '../util/index.ts';
import { CHANNEL_FL, decodeFlMessage, digestHex, encodeFlMessage, MAX_BLOB_BYTES } from './wire.ts';

export type Schedule = (delayMs: number, fn: () => void) => () => void;

export interface BlobExchangeOptions {
  readonly transport: Transport;
  readonly schedule: Schedule;
  /** Whether to hold unsolicited bytes from `from` (before their digest is committed). */
  readonly admit: (from: PeerId, bytes: Uint8Array) => boolean;
  /** Between two wants of the same digest (default 500 ms). */
  readonly retryMs?: number;
  /** Unsolicited blobs held at most (oldest dropped first; default 256). */
  readonly maxHeld?: number;
  readonly answerGapMs?: number;
  readonly now: () => number;
  /** Counts of what was refused (for the network monitor). */
  readonly onRefused?: (from: PeerId, why: 'malformed' | 'unsolicited' | 'oversize') => void;
}

export class BlobFetchError extends Error {
  override readonly name = 'BlobFetchError';
  constructor(readonly digest: string) {
    super(`no peer served ${digest.slice(0, 16)}…`);
  }
}

interface Want {
  readonly resolve: (bytes: Uint8Array) => void;
  readonly reject: (e: Error) => void;
  cancel: () => void;
  tries: number;
}

export class BlobExchange {
  /** Bytes kept for good (own, or matching a committed or wanted digest). */
  private readonly kept = new Map<string, Uint8Array>();
  /** Unsolicited bytes admitted but not yet matched to a committed digest, oldest first. */
  private readonly held = new Map<string, Uint8Array>();
  private readonly wants = new Map<string, Want[]>();
  private readonly answered = new Map<string, number>();
  private readonly unsubscribe: () => void;

  constructor(private readonly o: BlobExchangeOptions) {
    this.unsubscribe = o.transport.onMessage((from, bytes) => this.onFrame(from, bytes));
  }

  close(): void {
    this.unsubscribe();
    for (const [d, list] of this.wants)
      for (const w of list) {
        w.cancel();
        w.reject(new BlobFetchError(d));
      }
    this.wants.clear();
  }

  /** Keeps our own bytes and sends them to every peer. Returns their digest. */
  publish(bytes: Uint8Array): string {
    const d = this.keep(bytes);
    this.o.transport.broadcast(encodeFlMessage({ type: 'blob', bytes }));
    return d;
  }

  /** Keeps bytes (own weights, say) so that peers who want them get them. Returns their digest. */
  keep(bytes: Uint8Array): string {
    const d = digestHex(bytes);
    this.kept.set(d, bytes);
    this.held.delete(d);
    return d;
  }

  /** Bytes with this digest if held (kept, or held and now matched: they move to kept). */
  take(digest: string): Uint8Array | undefined {
    const k = this.kept.get(digest);
    if (k) return k;
    const h = this.held.get(digest);
    if (h) {
      this.held.delete(digest);
      this.kept.set(digest, h);
    }
    return h;
  }

  /** The bytes with this digest: held ones at once, else asked of every peer until one answers or `tries` run out. */
  fetch(digest: string, tries = 20): Promise<Uint8Array> {
    const have = this.take(digest);
    if (have) return Promise.resolve(have);
    return new Promise((resolve, reject) => {
      const w: Want = { resolve, reject, cancel: () => {}, tries: 0 };
      const list = this.wants.get(digest) ?? [];
      list.push(w);
      this.wants.set(digest, list);
      const ask = (): void => {
        if (w.tries++ >= tries) {
          this.dropWant(digest, w);
          reject(new BlobFetchError(digest));
          return;
        }
        this.o.transport.broadcast(encodeFlMessage({ type: 'want', digest: fromHex(digest, 32) }));
        w.cancel = this.o.schedule(this.o.retryMs ?? 500, ask);
      };
      ask();
    });
  }

  /** Drops kept bytes (a finished round's). */
  forget(digests: Iterable<string>): void {
    for (const d of digests) {
      this.kept.delete(d);
      this.held.delete(d);
    }
  }

  private dropWant(digest: string, w: Want): void {
    const list = (this.wants.get(digest) ?? []).filter((x) => x !== w);
    if (list.length) this.wants.set(digest, list);
    else this.wants.delete(digest);
  }

  private onFrame(from: PeerId, frame: Uint8Array): void {
    if (frame.length === 0 || frame[0] !== CHANNEL_FL) return;
    if (frame.length > MAX_BLOB_BYTES + 64) {
      this.o.onRefused?.(from, 'oversize');
      return;
    }
    let m;
    try {
      m = decodeFlMessage(frame.subarray(1));
    } catch {
      this.o.onRefused?.(from, 'malformed');
      return;
    }
    if (m.type === 'want') {
      const d = toHex(m.digest);
      const bytes = this.kept.get(d) ?? this.held.get(d);
      if (!bytes) return;
      const key = `${from}/${d}`;
      const last = this.answered.get(key);
      const now = this.o.now();
      if (last !== undefined && now - last < (this.o.answerGapMs ?? 250)) return;
      this.answered.set(key, now);
      if (this.answered.size > 4096) this.answered.clear();
      this.o.transport.send(from, encodeFlMessage({ type: 'blob', bytes }));
      return;
    }
    const bytes = m.bytes.slice();
    const d = digestHex(bytes);
    const waiting = this.wants.get(d);
    if (waiting) {
      this.wants.delete(d);
      this.kept.set(d, bytes);
      for (const w of waiting) {
        w.cancel();
        w.resolve(bytes);
      }
      return;
    }
    if (this.kept.has(d) || this.held.has(d)) return;
    if (!this.o.admit(from, bytes)) {
      this.o.onRefused?.(from, 'unsolicited');
      return;
    }
    this.held.set(d, bytes);
    const max = this.o.maxHeld ?? 256;
    while (this.held.size > max) this.held.delete(this.held.keys().next().value!);
  }
}
