// The canonical decoder (spec: wasm/assembly/codec/README.md). Like the AssemblyScript Reader, errors are
// sticky: the first is kept in `error`, later reads return zero values, and a parser checks `ok` or calls
// end() once. `done()` and `check()` turn a recorded error into a thrown CodecError.
import { CodecError, type CodecErrorCode } from './errors.ts';
import { compareBytes } from './writer.ts';

export const DEFAULT_MAX_BYTES = 1 << 20;
const MAX_U64 = (1n << 64n) - 1n;
const EMPTY = new Uint8Array(0);
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export class Reader {
  error: CodecErrorCode | null = null;
  private pos = 0;
  private readonly src: Uint8Array;

  constructor(src: Uint8Array, maxBytes = DEFAULT_MAX_BYTES) {
    this.src = src;
    if (src.length > maxBytes) this.error = 'Oversize';
  }

  get ok(): boolean {
    return this.error === null;
  }

  /** Records `code` unless an earlier error is recorded (for schema rules above this layer). */
  fail(code: CodecErrorCode): void {
    this.error ??= code;
  }

  /**
   * Scans one uvarint and returns its value as a number (exact below 2^53), or -1 after recording
   * Truncated, Overlong or OutOfRange (> 2^64-1). Same checks, in the same order, as the AS Reader.
   */
  private scan(): number {
    const src = this.src;
    let pos = this.pos;
    let v = 0;
    let mul = 1;
    for (let i = 0; ; i++) {
      const b = src[pos++];
      if (b === undefined) {
        this.fail('Truncated');
        return -1;
      }
      if (i === 9 && b > 1) {
        this.fail('OutOfRange');
        return -1;
      }
      // Float arithmetic: exact below 2^53; above it the sum rounds monotonically, so it stays >= 2^53
      // and is rejected by the callers' range check.
      v += (b & 0x7f) * mul;
      if (b < 0x80) {
        if (b === 0 && i > 0) {
          this.fail('Overlong');
          return -1;
        }
        this.pos = pos;
        return v;
      }
      mul *= 0x80;
    }
  }

  /** A uvarint as a number. Values above `max` (at most 2^53-1) => OutOfRange; use uint64 for more. */
  uint(max = Number.MAX_SAFE_INTEGER): number {
    if (this.error !== null) return 0;
    // One-byte fast path.
    const b = this.src[this.pos];
    if (b !== undefined && b < 0x80) {
      this.pos++;
      if (b > max) {
        this.fail('OutOfRange');
        return 0;
      }
      return b;
    }
    const v = this.scan();
    if (v < 0) return 0;
    if (v > max || v > Number.MAX_SAFE_INTEGER) {
      this.fail('OutOfRange');
      return 0;
    }
    return v;
  }

  /** A uvarint as a bigint, the full 0..2^64-1 range; > max => OutOfRange. */
  uint64(max: bigint = MAX_U64): bigint {
    if (this.error !== null) return 0n;
    const start = this.pos;
    if (this.scan() < 0) return 0n;
    let v = 0n;
    for (let i = this.pos - 1; i >= start; i--) v = (v << 7n) | BigInt(this.src[i]! & 0x7f);
    if (v > max) {
      this.fail('OutOfRange');
      return 0n;
    }
    return v;
  }

  /** A count or length bounded by `max` (> max => Oversize). */
  count(max: number): number {
    if (this.error !== null) return 0;
    const v = this.scan();
    if (v < 0) return 0;
    if (v > max) {
      this.fail('Oversize');
      return 0;
    }
    return v;
  }

  bool(): boolean {
    if (this.error !== null) return false;
    const b = this.src[this.pos];
    if (b === undefined) {
      this.fail('Truncated');
      return false;
    }
    this.pos++;
    if (b > 1) {
      this.fail('BadBool');
      return false;
    }
    return b === 1;
  }

  /** `n` raw bytes (a copy, so the caller may keep it). */
  fixed(n: number): Uint8Array {
    if (this.error !== null) return EMPTY;
    if (this.src.length - this.pos < n) {
      this.fail('Truncated');
      return EMPTY;
    }
    const out = this.src.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** uvarint length ‖ bytes; a length above `maxLen` => Oversize. */
  bytes(maxLen: number): Uint8Array {
    const n = this.count(maxLen);
    return this.fixed(n);
  }

  /** uvarint byte length ‖ well-formed UTF-8 (a leading U+FEFF is kept); else BadUtf8. */
  str(maxLen: number): string {
    const n = this.count(maxLen);
    if (this.error !== null) return '';
    const src = this.src;
    const start = this.pos;
    if (src.length - start < n) {
      this.fail('Truncated');
      return '';
    }
    const end = start + n;
    if (n <= 64) {
      let s = '';
      let i = start;
      for (; i < end; i++) {
        const c = src[i]!;
        if (c > 0x7f) break;
        s += String.fromCharCode(c);
      }
      if (i === end) {
        this.pos = end;
        return s;
      }
    }
    try {
      const s = utf8.decode(src.subarray(start, end));
      this.pos = end;
      return s;
    } catch {
      this.fail('BadUtf8');
      return '';
    }
  }

  /** An optional value: 0x00, or 0x01 ‖ value (any other presence byte => BadBool). */
  option<T>(get: (r: Reader) => T): T | null {
    return this.bool() ? get(this) : null;
  }

  /** uvarint count (<= maxCount, else Oversize) ‖ items. Stops early on error. */
  list<T>(maxCount: number, get: (r: Reader) => T): T[] {
    const n = this.count(maxCount);
    const out: T[] = [];
    for (let i = 0; i < n && this.error === null; i++) out.push(get(this));
    return out;
  }

  /** A set: items in strictly increasing order of their encodings, else Unsorted. */
  set<T>(maxCount: number, get: (r: Reader) => T): T[] {
    return this.sorted(maxCount, get, null).map((e) => e[0]);
  }

  /** A map: (key ‖ value)* in strictly increasing order of the keys' encodings, else Unsorted. */
  map<K, V>(maxCount: number, getKey: (r: Reader) => K, getValue: (r: Reader) => V): [K, V][] {
    return this.sorted(maxCount, getKey, getValue) as [K, V][];
  }

  private sorted<K, V>(maxCount: number, getKey: (r: Reader) => K, getValue: ((r: Reader) => V) | null): [K, V | null][] {
    const n = this.count(maxCount);
    const out: [K, V | null][] = [];
    let prev: Uint8Array | null = null;
    for (let i = 0; i < n && this.error === null; i++) {
      const start = this.pos;
      const k = getKey(this);
      if (this.error !== null) break;
      const enc = this.src.subarray(start, this.pos);
      if (prev !== null && compareBytes(prev, enc) >= 0) {
        this.fail('Unsorted');
        break;
      }
      prev = enc;
      out.push([k, getValue ? getValue(this) : null]);
    }
    return out;
  }

  /** A message's type tag; a tag not in `known` => UnknownTag. */
  tag(known: readonly number[]): number {
    if (this.error !== null) return 0;
    const t = this.scan();
    if (t < 0) return 0;
    if (!known.includes(t)) {
      this.fail('UnknownTag');
      return 0;
    }
    return t;
  }

  /** Skips `n` bytes (Truncated if fewer remain). */
  skip(n: number): void {
    if (this.error !== null) return;
    if (n < 0 || this.src.length - this.pos < n) {
      this.fail('Truncated');
      return;
    }
    this.pos += n;
  }

  /** Byte offset of the next unread byte. */
  offset(): number {
    return this.pos;
  }

  remaining(): number {
    return this.src.length - this.pos;
  }

  /** True iff no error so far and every byte was consumed; otherwise records Trailing. */
  end(): boolean {
    if (this.error !== null) return false;
    if (this.pos !== this.src.length) {
      this.fail('Trailing');
      return false;
    }
    return true;
  }

  /** Throws the recorded error, if any. */
  check(): void {
    if (this.error !== null) throw new CodecError(this.error);
  }

  /** end(), throwing CodecError if the input was not one whole valid encoding. */
  done(): void {
    this.end();
    this.check();
  }
}

/** Decodes one whole value: runs `read`, requires the end of input, throws CodecError on any violation. */
export function decode<T>(src: Uint8Array, read: (r: Reader) => T, maxBytes = DEFAULT_MAX_BYTES): T {
  const r = new Reader(src, maxBytes);
  const v = read(r);
  r.done();
  return v;
}
