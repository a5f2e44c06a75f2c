// The TypeScript codec's own API: what encoders refuse, sticky reader errors, helpers.
import { describe, expect, it } from 'vitest';
import { CodecError, Reader, Writer, codecErrorFromNumber, compareBytes, decode, domainTag, encode, signingBytes } from '../../../web/src/core/codec/index.ts';
import { equalBytes, fromHex, toHex } from '../../../web/src/core/util/index.ts';

function codeOf(f: () => unknown): string | null {
  try {
    f();
    return null;
  } catch (e) {
    return e instanceof CodecError ? e.code : `not a CodecError: ${String(e)}`;
  }
}

describe('Writer refuses values without a canonical encoding', () => {
  it.each([[-1], [1.5], [Number.NaN], [Infinity], [2 ** 53], [-1n], [2n ** 64n]])('uint(%s) => OutOfRange', (v) => {
    expect(codeOf(() => new Writer().uint(v))).toBe('OutOfRange');
  });
  it('accepts 2^64-1 as a bigint', () => {
    expect(toHex(encode((w) => w.uint(2n ** 64n - 1n)))).toBe('ffffffffffffffffff01');
  });
  it('refuses strings with lone surrogates, accepts pairs', () => {
    expect(codeOf(() => new Writer().str('a\uD800'))).toBe('BadUtf8');
    expect(codeOf(() => new Writer().str('\uDC00a'))).toBe('BadUtf8');
    expect(toHex(encode((w) => w.str('\uD83D\uDE00')))).toBe('04f09f9880');
  });
  it('sorts sets and maps by encoding and refuses duplicates', () => {
    expect(toHex(encode((w) => w.set([255, 256, 1], (ww, v) => ww.uint(v))))).toBe('03' + '01' + '8002' + 'ff01');
    expect(codeOf(() => new Writer().set([1, 1], (ww, v) => ww.uint(v)))).toBe('Unsorted');
    expect(
      codeOf(() =>
        new Writer().map(
          [
            ['a', 1],
            ['a', 2],
          ],
          (ww, k) => ww.str(k),
          (ww, v) => ww.uint(v),
        ),
      ),
    ).toBe('Unsorted');
  });
  it('grows from a tiny capacity and finish() copies', () => {
    const w = new Writer(1);
    for (let i = 0; i < 1000; i++) w.uint(i);
    const a = w.finish();
    w.uint(7);
    expect(a.length).toBe(w.length() - 1);
    w.reset();
    expect(w.length()).toBe(0);
  });
});

describe('Reader', () => {
  it('keeps the first error; later reads return zero values', () => {
    const r = new Reader(fromHex('8000' + '01' + '0161'));
    expect(r.uint()).toBe(0);
    expect(r.error).toBe('Overlong');
    expect(r.bool()).toBe(false);
    expect(r.str(10)).toBe('');
    expect(r.bytes(10).length).toBe(0);
    expect(r.end()).toBe(false);
    expect(r.error).toBe('Overlong');
    expect(codeOf(() => r.check())).toBe('Overlong');
  });
  it('fixed() returns a copy the caller may keep', () => {
    const src = fromHex('01020304');
    const got = new Reader(src).fixed(4);
    src[0] = 9;
    expect(toHex(got)).toBe('01020304');
  });
  it('option, list, tag helpers', () => {
    const bytes = encode((w) => {
      w.uint(7);
      w.option(5, (ww, v) => ww.uint(v));
      w.option(null, (ww, v: number) => ww.uint(v));
      w.list(['x', 'y'], (ww, v) => ww.str(v));
    });
    const got = decode(bytes, (r) => [r.tag([7]), r.option((rr) => rr.uint()), r.option((rr) => rr.uint()), r.list(2, (rr) => rr.str(1))]);
    expect(got).toEqual([7, 5, null, ['x', 'y']]);
    expect(codeOf(() => decode(bytes, (r) => r.tag([1, 2])))).toBe('UnknownTag');
    expect(codeOf(() => decode(bytes, (r) => [r.tag([7]), r.option((rr) => rr.uint())]))).toBe('Trailing');
  });
  it('skip and offset', () => {
    const r = new Reader(fromHex('010203'));
    r.skip(2);
    expect(r.offset()).toBe(2);
    expect(r.remaining()).toBe(1);
    r.skip(2);
    expect(r.error).toBe('Truncated');
  });
  it('error messages carry the rule, not the data', () => {
    const secret = 'patient-1234';
    try {
      decode(
        encode((w) => w.str(secret)),
        (r) => r.str(4),
      );
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).not.toContain(secret);
      expect((e as CodecError).code).toBe('Oversize');
    }
  });
});

describe('domain tags and helpers', () => {
  it('signingBytes prefixes the tag length', () => {
    expect(toHex(signingBytes('hygeia/a/b/v1', fromHex('ff')))).toBe('0d' + toHex(new TextEncoder().encode('hygeia/a/b/v1')) + 'ff');
    expect(() => signingBytes('', new Uint8Array(0))).toThrow(TypeError);
    expect(() => signingBytes('hygeia/é/b/v1', new Uint8Array(0))).toThrow(TypeError);
  });
  it('domainTag builds and checks the convention', () => {
    expect(domainTag('pbft', 'prepare')).toBe('hygeia/pbft/prepare/v1');
    expect(domainTag('ledger', 'block', 2)).toBe('hygeia/ledger/block/v2');
    expect(() => domainTag('PBFT', 'x')).toThrow(TypeError);
    expect(() => domainTag('a/b', 'x')).toThrow(TypeError);
    expect(() => domainTag('a', 'x', 0)).toThrow(TypeError);
  });
  it('hex round trip and errors', () => {
    expect(toHex(fromHex('00ffAb'))).toBe('00ffab');
    expect(() => fromHex('abc')).toThrow(TypeError);
    expect(() => fromHex('zz')).toThrow(TypeError);
  });
  it('compareBytes and equalBytes', () => {
    expect(compareBytes(fromHex('01'), fromHex('0100'))).toBeLessThan(0);
    expect(compareBytes(fromHex('02'), fromHex('0100'))).toBeGreaterThan(0);
    expect(compareBytes(fromHex(''), fromHex(''))).toBe(0);
    expect(equalBytes(fromHex('0102'), fromHex('0102'))).toBe(true);
    expect(equalBytes(fromHex('0102'), fromHex('0103'))).toBe(false);
    expect(equalBytes(fromHex('01'), fromHex('0100'))).toBe(false);
  });
  it('error numbers map to the AssemblyScript enum', () => {
    expect(codecErrorFromNumber(0)).toBeNull();
    expect(codecErrorFromNumber(1)).toBe('Truncated');
    expect(codecErrorFromNumber(9)).toBe('UnknownTag');
    expect(() => codecErrorFromNumber(10)).toThrow(RangeError);
  });
});
