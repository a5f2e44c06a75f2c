// The two primitives the ledger is built on, bound in one place: SHA-256 and the canonical encoding.
// TEMPORARY: until the wasm core's sha256 and the TypeScript codec (web/src/core/codec) land, this file carries
// a stand-in with the same names and semantics (the codec spec: unsigned LEB128, minimal; bytes = uvarint
// length ‖ bytes; signingBytes(tag, body) = uvarint(len(tag)) ‖ tag ‖ body). It is replaced by re-exports.
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';

export function sha256(data: Uint8Array): Uint8Array {
  return nobleSha256(data);
}

export type CodecErrorName = 'Truncated' | 'Overlong' | 'Trailing' | 'OutOfRange' | 'Oversize';

export class Writer {
  private buf: Uint8Array;
  private len = 0;
  constructor(initialCapacity = 64) {
    this.buf = new Uint8Array(initialCapacity);
  }
  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
  }
  uint(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError('uint must be a non-negative safe integer');
    this.ensure(10);
    let x = v;
    while (x >= 0x80) {
      this.buf[this.len++] = (x % 0x80) | 0x80;
      x = Math.floor(x / 0x80);
    }
    this.buf[this.len++] = x;
  }
  bool(v: boolean): void {
    this.ensure(1);
    this.buf[this.len++] = v ? 1 : 0;
  }
  fixed(src: Uint8Array): void {
    this.ensure(src.length);
    this.buf.set(src, this.len);
    this.len += src.length;
  }
  bytes(src: Uint8Array): void {
    this.uint(src.length);
    this.fixed(src);
  }
  length(): number {
    return this.len;
  }
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

export class Reader {
  error: CodecErrorName | null = null;
  private pos = 0;
  constructor(
    private readonly src: Uint8Array,
    maxBytes = 1 << 20,
  ) {
    if (src.length > maxBytes) this.error = 'Oversize';
  }
  get ok(): boolean {
    return this.error === null;
  }
  private fail(e: CodecErrorName): void {
    this.error ??= e;
  }
  uint(max = Number.MAX_SAFE_INTEGER): number {
    if (this.error) return 0;
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      if (this.pos >= this.src.length) {
        this.fail('Truncated');
        return 0;
      }
      const b = this.src[this.pos++]!;
      v += (b & 0x7f) * mul;
      mul *= 0x80;
      if ((b & 0x80) === 0) {
        if (b === 0 && i > 0) {
          this.fail('Overlong');
          return 0;
        }
        if (v > max) {
          this.fail('OutOfRange');
          return 0;
        }
        return v;
      }
    }
    this.fail('OutOfRange');
    return 0;
  }
  bool(): boolean {
    const v = this.uint(1);
    return v === 1;
  }
  fixed(n: number): Uint8Array {
    if (this.error) return new Uint8Array(n);
    if (this.pos + n > this.src.length) {
      this.fail('Truncated');
      return new Uint8Array(n);
    }
    const out = this.src.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  bytes(maxLen: number): Uint8Array {
    const n = this.uint();
    if (this.error) return new Uint8Array(0);
    if (n > maxLen) {
      this.fail('Oversize');
      return new Uint8Array(0);
    }
    return this.fixed(n);
  }
  remaining(): number {
    return this.src.length - this.pos;
  }
  end(): boolean {
    if (this.error) return false;
    if (this.pos !== this.src.length) {
      this.fail('Trailing');
      return false;
    }
    return true;
  }
}

export function signingBytes(tag: string, body: Uint8Array): Uint8Array {
  const w = new Writer(tag.length + body.length + 4);
  w.bytes(new TextEncoder().encode(tag));
  w.fixed(body);
  return w.finish();
}
