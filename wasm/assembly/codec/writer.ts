// The canonical encoder (spec: ./README.md). Appends into one growable buffer; never fails.

/** Appends canonical encodings. Call finish() once for the bytes. */
export class Writer {
  private buf: Uint8Array;
  private pos: i32 = 0;

  constructor(initialCapacity: i32 = 64) {
    this.buf = new Uint8Array(initialCapacity > 16 ? initialCapacity : 16);
  }

  @inline private ensure(n: i32): void {
    const need = this.pos + n;
    if (need > this.buf.length) {
      let cap = this.buf.length << 1;
      if (cap < need) cap = need;
      const next = new Uint8Array(cap);
      memory.copy(next.dataStart, this.buf.dataStart, <usize>this.pos);
      this.buf = next;
    }
  }

  /** Unsigned LEB128, minimal: 7 bits a byte, low group first, high bit set on all but the last byte. */
  uint(v: u64): void {
    this.ensure(10);
    let p = this.buf.dataStart + <usize>this.pos;
    const start = p;
    while (v >= 0x80) {
      store<u8>(p++, (<u8>(v & 0x7f)) | 0x80);
      v >>= 7;
    }
    store<u8>(p++, <u8>v);
    this.pos += <i32>(p - start);
  }

  bool(v: bool): void {
    this.ensure(1);
    store<u8>(this.buf.dataStart + <usize>this.pos, v ? 1 : 0);
    this.pos++;
  }

  /** Raw bytes whose length both sides know from the schema (keys, digests, signatures). */
  fixed(src: Uint8Array): void {
    const n = src.length;
    this.ensure(n);
    memory.copy(this.buf.dataStart + <usize>this.pos, src.dataStart, <usize>n);
    this.pos += n;
  }

  /** uvarint length ‖ bytes. */
  bytes(src: Uint8Array): void {
    this.uint(<u64>src.length);
    this.fixed(src);
  }

  /** uvarint byte length ‖ UTF-8. AssemblyScript strings are UTF-16; lone surrogates become U+FFFD. */
  str(s: string): void {
    const n = String.UTF8.byteLength(s, false);
    this.uint(<u64>n);
    this.ensure(n);
    String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, this.buf.dataStart + <usize>this.pos, false, String.UTF8.ErrorMode.REPLACE);
    this.pos += n;
  }

  /** Appends raw bytes from linear memory (for callers that hold a pointer, not an array). */
  raw(ptr: usize, len: i32): void {
    this.ensure(len);
    memory.copy(this.buf.dataStart + <usize>this.pos, ptr, <usize>len);
    this.pos += len;
  }

  length(): i32 {
    return this.pos;
  }

  /** A copy of the bytes written so far; the writer stays usable. */
  finish(): Uint8Array {
    const out = new Uint8Array(this.pos);
    memory.copy(out.dataStart, this.buf.dataStart, <usize>this.pos);
    return out;
  }

  /** Forgets the bytes written, keeping the capacity. */
  reset(): void {
    this.pos = 0;
  }
}
