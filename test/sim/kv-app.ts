// A small deterministic key-value LedgerApp for the simulator and the consensus tests (until the contracts'
// app is wired in): a transaction is the UTF-8 text "key=value"; the state root is the RFC 6962 Merkle root
// over the sorted entries; a snapshot is their canonical encoding.

import { merkleRoot, type ApplyContext, type ApplyResult, type LedgerApp } from '../../web/src/core/ledger/index.ts';
import { Reader, Writer } from '../../web/src/core/codec/index.ts';

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: true });

/** A "key=value" transaction's key and value, or why it is not one (not UTF-8, no key, over 4 KiB). */
export function parseKvTx(tx: Uint8Array): { key: string; value: string } | Extract<ApplyResult, { ok: false }> {
  let text: string;
  try {
    text = fromUtf8.decode(tx);
  } catch {
    return { ok: false, reason: 'not-utf8' };
  }
  const eq = text.indexOf('=');
  if (eq <= 0 || text.length > 4096) return { ok: false, reason: 'malformed' };
  return { key: text.slice(0, eq), value: text.slice(eq + 1) };
}

export class KvApp implements LedgerApp {
  private readonly state = new Map<string, string>();
  applied = 0;

  apply(tx: Uint8Array, _ctx: ApplyContext): ApplyResult {
    const kv = parseKvTx(tx);
    if ('reason' in kv) return kv;
    this.state.set(kv.key, kv.value);
    this.applied++;
    return { ok: true };
  }

  get(key: string): string | undefined {
    return this.state.get(key);
  }

  private entries(): [string, string][] {
    return [...this.state.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  stateRoot(): Uint8Array {
    return merkleRoot(
      this.entries().map(([k, v]) => {
        const w = new Writer();
        w.bytes(utf8.encode(k));
        w.bytes(utf8.encode(v));
        return w.finish();
      }),
    );
  }

  snapshot(): Uint8Array {
    const w = new Writer();
    const e = this.entries();
    w.uint(e.length);
    for (const [k, v] of e) {
      w.bytes(utf8.encode(k));
      w.bytes(utf8.encode(v));
    }
    return w.finish();
  }

  restore(snapshot: Uint8Array): void {
    const r = new Reader(snapshot, 64 << 20);
    const n = r.uint(1 << 24);
    const next = new Map<string, string>();
    for (let i = 0; i < n && r.ok; i++) {
      const k = r.bytes(4096);
      const v = r.bytes(4096);
      if (r.ok) next.set(fromUtf8.decode(k), fromUtf8.decode(v));
    }
    if (!r.end()) throw new RangeError('malformed key-value snapshot');
    this.state.clear();
    for (const [k, v] of next) this.state.set(k, v);
  }
}
