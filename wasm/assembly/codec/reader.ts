// The canonical decoder (spec: ./README.md). Errors are sticky: the first one is kept in `error` and every
// later read returns a zero value, so a message parser can read all fields and check `ok` once at the end.
import { CodecError } from './errors';

export class Reader {
  error: CodecError = CodecError.None;
  private src: Uint8Array;
  private pos: i32 = 0;
  private len: i32;

  constructor(src: Uint8Array, maxBytes: i32 = 1 << 20) {
    this.src = src;
    this.len = src.length;
    if (src.length > maxBytes) this.error = CodecError.Oversize;
  }

  get ok(): bool {
    return this.error == CodecError.None;
  }

  /** Records `e` unless an earlier error is already recorded (for schema rules above this layer). */
  fail(e: CodecError): void {
    if (this.error == CodecError.None) this.error = e;
  }

  /** Unsigned LEB128; rejects truncation, overlong forms, values above 2^64-1 and above `max`. */
  uint(max: u64 = u64.MAX_VALUE): u64 {
    if (this.error != CodecError.None) return 0;
    const base = this.src.dataStart;
    let v: u64 = 0;
    let shift: u64 = 0;
    let i: i32 = 0;
    while (true) {
      if (this.pos >= this.len) {
        this.error = CodecError.Truncated;
        return 0;
      }
      const b = <u64>load<u8>(base + <usize>this.pos);
      this.pos++;
      // The tenth byte carries bit 63 only: anything more is beyond 2^64-1.
      if (i == 9 && b > 1) {
        this.error = CodecError.OutOfRange;
        return 0;
      }
      v |= (b & 0x7f) << shift;
      if (b < 0x80) {
        if (b == 0 && i > 0) {
          this.error = CodecError.Overlong;
          return 0;
        }
        break;
      }
      shift += 7;
      i++;
    }
    if (v > max) {
      this.error = CodecError.OutOfRange;
      return 0;
    }
    return v;
  }

  /** A count or length as i32, bounded by `max` (> max => Oversize). */
  count(max: i32): i32 {
    const n = this.uint();
    if (this.error != CodecError.None) return 0;
    if (n > <u64>max) {
      this.error = CodecError.Oversize;
      return 0;
    }
    return <i32>n;
  }

  bool(): bool {
    if (this.error != CodecError.None) return false;
    if (this.pos >= this.len) {
      this.error = CodecError.Truncated;
      return false;
    }
    const b = load<u8>(this.src.dataStart + <usize>this.pos);
    this.pos++;
    if (b > 1) {
      this.error = CodecError.BadBool;
      return false;
    }
    return b == 1;
  }

  /** `n` raw bytes (a copy). */
  fixed(n: i32): Uint8Array {
    if (this.error != CodecError.None || n < 0) return new Uint8Array(0);
    if (this.len - this.pos < n) {
      this.error = CodecError.Truncated;
      return new Uint8Array(0);
    }
    const out = new Uint8Array(n);
    memory.copy(out.dataStart, this.src.dataStart + <usize>this.pos, <usize>n);
    this.pos += n;
    return out;
  }

  /** uvarint length ‖ bytes; a length above `maxLen` => Oversize (checked before the bytes are needed). */
  bytes(maxLen: i32): Uint8Array {
    const n = this.count(maxLen);
    return this.fixed(n);
  }

  /** uvarint byte length ‖ well-formed UTF-8 (no overlong forms, surrogates or code points > U+10FFFF). */
  str(maxLen: i32): string {
    const n = this.count(maxLen);
    if (this.error != CodecError.None) return '';
    if (this.len - this.pos < n) {
      this.error = CodecError.Truncated;
      return '';
    }
    const p = this.src.dataStart + <usize>this.pos;
    if (!validUtf8(p, n)) {
      this.error = CodecError.BadUtf8;
      return '';
    }
    this.pos += n;
    return String.UTF8.decodeUnsafe(p, <usize>n, false);
  }

  /** The address of the next unread byte (for callers that hash or copy in place). */
  cursor(): usize {
    return this.src.dataStart + <usize>this.pos;
  }

  /** Byte offset of the next unread byte. */
  offset(): i32 {
    return this.pos;
  }

  /** Skips `n` bytes (Truncated if fewer remain). */
  skip(n: i32): void {
    if (this.error != CodecError.None) return;
    if (n < 0 || this.len - this.pos < n) {
      this.error = CodecError.Truncated;
      return;
    }
    this.pos += n;
  }

  remaining(): i32 {
    return this.len - this.pos;
  }

  /** True iff no error so far and every byte was consumed; otherwise records Trailing. */
  end(): bool {
    if (this.error != CodecError.None) return false;
    if (this.pos != this.len) {
      this.error = CodecError.Trailing;
      return false;
    }
    return true;
  }
}

/** Strict UTF-8 well-formedness (Unicode 15, table 3-7). */
export function validUtf8(p: usize, n: i32): bool {
  let i: i32 = 0;
  while (i < n) {
    const b0 = <u32>load<u8>(p + <usize>i);
    if (b0 < 0x80) {
      i++;
      continue;
    }
    if (b0 < 0xc2 || b0 > 0xf4) return false;
    const need: i32 = b0 < 0xe0 ? 1 : b0 < 0xf0 ? 2 : 3;
    // The second byte's range narrows after E0 and F0 (no overlong forms), ED (no surrogates) and F4 (nothing
    // above U+10FFFF).
    const lo: u32 = b0 == 0xe0 ? 0xa0 : b0 == 0xf0 ? 0x90 : 0x80;
    const hi: u32 = b0 == 0xed ? 0x9f : b0 == 0xf4 ? 0x8f : 0xbf;
    if (n - i <= need) return false;
    const b1 = <u32>load<u8>(p + <usize>(i + 1));
    if (b1 < lo || b1 > hi) return false;
    for (let k = 2; k <= need; k++) {
      const b = <u32>load<u8>(p + <usize>(i + k));
      if ((b & 0xc0) != 0x80) return false;
    }
    i += need + 1;
  }
  return true;
}
