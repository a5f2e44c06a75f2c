// The canonical encoder (spec: wasm/assembly/codec/README.md). One growable buffer; values that have no
// canonical encoding (negative or fractional numbers, > 2^64-1, ill-formed strings) throw CodecError.
import { CodecError } from './errors.ts';

const MAX_U64 = (1n << 64n) - 1n;
const utf8 = new TextEncoder();
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export class Writer {
  private buf: Uint8Array;
  private pos = 0;

  constructor(initialCapacity = 64) {
    this.buf = new Uint8Array(Math.max(16, initialCapacity));
  }

  private ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    const next = new Uint8Array(Math.max(need, this.buf.length * 2));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  /** Unsigned LEB128, minimal. Numbers must be safe non-negative integers; bigints at most 2^64-1. */
  uint(v: number | bigint): void {
    if (typeof v === 'bigint') {
      if (v < 0n || v > MAX_U64) throw new CodecError('OutOfRange', 'uint outside 0..2^64-1');
      if (v <= BigInt(Number.MAX_SAFE_INTEGER)) return this.uint(Number(v));
      this.ensure(10);
      let x = v;
      while (x >= 0x80n) {
        this.buf[this.pos++] = Number(x & 0x7fn) | 0x80;
        x >>= 7n;
      }
      this.buf[this.pos++] = Number(x);
      return;
    }
    if (!Number.isSafeInteger(v) || v < 0) throw new CodecError('OutOfRange', 'uint must be a safe non-negative integer');
    this.ensure(8);
    const buf = this.buf;
    let pos = this.pos;
    // 32-bit bit operations while they are exact, float division above.
    while (v > 0x7fffffff) {
      buf[pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    while (v >= 0x80) {
      buf[pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[pos++] = v;
    this.pos = pos;
  }

  bool(v: boolean): void {
    this.ensure(1);
    this.buf[this.pos++] = v ? 1 : 0;
  }

  /** Raw bytes whose length both sides know from the schema (keys, digests, signatures). */
  fixed(src: Uint8Array): void {
    this.ensure(src.length);
    this.buf.set(src, this.pos);
    this.pos += src.length;
  }

  /** uvarint length ‖ bytes. */
  bytes(src: Uint8Array): void {
    this.uint(src.length);
    this.fixed(src);
  }

  /** uvarint byte length ‖ UTF-8. Strings with lone surrogates have no UTF-8 form: BadUtf8. */
  str(s: string): void {
    let ascii = true;
    for (let i = 0; i < s.length; i++) {
      if (s.charCodeAt(i) > 0x7f) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      this.uint(s.length);
      this.ensure(s.length);
      for (let i = 0; i < s.length; i++) this.buf[this.pos++] = s.charCodeAt(i);
      return;
    }
    if (LONE_SURROGATE.test(s)) throw new CodecError('BadUtf8', 'string has a lone surrogate');
    this.bytes(utf8.encode(s));
  }

  /** An optional value: 0x00, or 0x01 ‖ value. (Nested options: write the presence byte with bool().) */
  option<T>(v: T | null | undefined, put: (w: Writer, v: T) => void): void {
    if (v === null || v === undefined) {
      this.bool(false);
      return;
    }
    this.bool(true);
    put(this, v);
  }

  /** uvarint count ‖ items, in the given order. */
  list<T>(items: readonly T[], put: (w: Writer, v: T) => void): void {
    this.uint(items.length);
    for (const it of items) put(this, it);
  }

  /** A set: items sorted by their encodings; a duplicate throws Unsorted. */
  set<T>(items: Iterable<T>, put: (w: Writer, v: T) => void): void {
    const enc: Uint8Array[] = [];
    for (const it of items) enc.push(encodeWith(put, it));
    this.sortedEncodings(enc, (e) => e);
  }

  /** A map: uvarint count ‖ (key ‖ value)* sorted by the key's encoding; a duplicate key throws Unsorted. */
  map<K, V>(entries: Iterable<readonly [K, V]>, putKey: (w: Writer, k: K) => void, putValue: (w: Writer, v: V) => void): void {
    const rows: { key: Uint8Array; value: V }[] = [];
    for (const [k, v] of entries) rows.push({ key: encodeWith(putKey, k), value: v });
    this.sortedEncodings(
      rows,
      (r) => r.key,
      (r) => putValue(this, r.value),
    );
  }

  private sortedEncodings<T>(rows: T[], keyOf: (r: T) => Uint8Array, after?: (r: T) => void): void {
    rows.sort((a, b) => compareBytes(keyOf(a), keyOf(b)));
    for (let i = 1; i < rows.length; i++) {
      if (compareBytes(keyOf(rows[i - 1]!), keyOf(rows[i]!)) === 0) throw new CodecError('Unsorted', 'duplicate key');
    }
    this.uint(rows.length);
    for (const r of rows) {
      this.fixed(keyOf(r));
      after?.(r);
    }
  }

  length(): number {
    return this.pos;
  }

  /** A copy of the bytes written so far; the writer stays usable. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }

  /** Forgets the bytes written, keeping the capacity. */
  reset(): void {
    this.pos = 0;
  }
}

/** Lexicographic byte order, a shorter prefix first: the order of set and map keys. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** Runs `put` on a fresh writer and returns its bytes. */
export function encodeWith<T>(put: (w: Writer, v: T) => void, v: T): Uint8Array {
  const w = new Writer();
  put(w, v);
  return w.finish();
}

/** Builds one encoding: `encode(w => { w.uint(1); w.str('x'); })`. */
export function encode(build: (w: Writer) => void, initialCapacity = 64): Uint8Array {
  const w = new Writer(initialCapacity);
  build(w);
  return w.finish();
}
