// Property tests (fast-check, seeded): round trips over random schemas, and differential decoding of
// arbitrary and mutated bytes by the TypeScript and AssemblyScript codecs.
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CodecError, Reader, Writer, decode } from '../../../web/src/core/codec/index.ts';
import { compileProgram, decodeTs, encodeTs, loadAsCodec, readValue, runAs, type Json, type Ty, type TyList } from './schema.ts';
import { toHex } from '../../../web/src/core/util/index.ts';

beforeAll(loadAsCodec);

const SEED = 0x5eed_c0de;
const U64 = (1n << 64n) - 1n;

const leafTy: fc.Arbitrary<Ty> = fc.oneof(
  fc.constant('uint'),
  fc.constant('bool'),
  fc.constantFrom<Ty>(['uint', '0'], ['uint', '127'], ['uint', '1000'], ['uint', String(2 ** 53 - 1)]),
  fc.integer({ min: 0, max: 6 }).map((n): Ty => ['fixed', n]),
  fc.integer({ min: 0, max: 40 }).map((n): Ty => ['bytes', n]),
  fc.integer({ min: 0, max: 24 }).map((n): Ty => ['str', n]),
);

const tyArb: fc.Arbitrary<Ty> = fc.letrec<{ ty: Ty }>((tie) => ({
  ty: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leafTy,
    fc.tuple(fc.integer({ min: 0, max: 4 }), tie('ty')).map(([m, t]): Ty => ['list', m, t]),
    tie('ty').map((t): Ty => ['option', t]),
    fc.tuple(fc.integer({ min: 0, max: 4 }), leafTy).map(([m, t]): Ty => ['set', m, t]),
    fc.tuple(fc.integer({ min: 0, max: 4 }), leafTy, tie('ty')).map(([m, k, v]): Ty => ['map', m, k, v]),
    fc.array(tie('ty'), { maxLength: 4 }).map((fs): Ty => ['struct', ...fs]),
    fc
      .uniqueArray(fc.tuple(fc.oneof(fc.integer({ min: 0, max: 300 }), fc.constant(2 ** 53 - 1)), tie('ty')), {
        minLength: 1,
        maxLength: 3,
        selector: (b) => b[0],
      })
      .map((bs): Ty => ['message', ...bs]),
  ),
})).ty;

const utf8Len = (s: string): number => new TextEncoder().encode(s).length;
const hexOf = (n: number): fc.Arbitrary<string> => fc.uint8Array({ minLength: n, maxLength: n }).map(toHex);

function valueArb(t: Ty): fc.Arbitrary<Json> {
  if (t === 'uint') return fc.oneof(fc.bigInt(0n, U64), fc.constantFrom(0n, 127n, 128n, 2n ** 32n - 1n, 2n ** 53n - 1n, 2n ** 53n, U64)).map(String);
  if (t === 'bool') return fc.boolean();
  const l = t as TyList;
  const n = l[1] as number;
  const sub = (i: number): Ty => l[i] as Ty;
  const enc = (ty: Ty) => (v: Json) => toHex(encodeTs(ty, v));
  switch (l[0]) {
    case 'uint':
      return fc.bigInt(0n, BigInt(l[1] as string)).map(String);
    case 'fixed':
      return hexOf(n);
    case 'bytes':
      return fc.integer({ min: 0, max: n }).chain(hexOf);
    case 'str':
      return fc.string({ unit: 'grapheme', maxLength: n }).filter((s) => utf8Len(s) <= n);
    case 'list':
      return fc.array(valueArb(sub(2)), { maxLength: n });
    case 'option':
      return fc.option(
        valueArb(sub(1)).map((v) => ({ some: v })),
        { nil: null },
      );
    case 'set':
      return fc.uniqueArray(valueArb(sub(2)), { maxLength: n, selector: enc(sub(2)) });
    case 'map':
      return fc.uniqueArray(fc.tuple(valueArb(sub(2)), valueArb(sub(3))), { maxLength: n, selector: (e) => enc(sub(2))(e[0]) });
    case 'struct':
      return fc.tuple(...(l.slice(1) as Ty[]).map(valueArb));
    case 'message':
      return fc.oneof(...(l.slice(1) as [number, Ty][]).map(([tag, body]) => valueArb(body).map((b) => ({ tag, body: b }))));
  }
  throw new Error('unknown type');
}

const unordered = (t: Ty): boolean => JSON.stringify(t).includes('"set"') || JSON.stringify(t).includes('"map"');

const typedValue = tyArb.chain((t) => valueArb(t).map((v) => ({ t, v })));

/** Both decoders give the same verdict; an accepted input re-encodes to itself in both. */
function agree(t: Ty, bytes: Uint8Array, maxBytes?: number): void {
  const ts = decodeTs(t, bytes, maxBytes);
  const as = runAs(compileProgram(t), bytes, maxBytes);
  expect(as.error).toBe(ts.error);
  if (ts.error === null) {
    expect(toHex(encodeTs(t, ts.value))).toBe(toHex(bytes));
    expect(toHex(as.out)).toBe(toHex(bytes));
  }
  // decode() throws CodecError and nothing else.
  try {
    decode(bytes, (r) => readValue(t, r), maxBytes);
    expect(ts.error).toBeNull();
  } catch (e) {
    expect(e).toBeInstanceOf(CodecError);
    expect((e as CodecError).code).toBe(ts.error);
  }
}

describe('round trip', () => {
  it('decode(encode(v)) == v and both codecs accept encode(v) unchanged', () => {
    fc.assert(
      fc.property(typedValue, ({ t, v }) => {
        const bytes = encodeTs(t, v);
        const back = decodeTs(t, bytes);
        expect(back.error).toBeNull();
        if (!unordered(t)) expect(back.value).toEqual(v);
        expect(toHex(encodeTs(t, back.value))).toBe(toHex(bytes));
        const as = runAs(compileProgram(t), bytes);
        expect(as.error).toBeNull();
        expect(toHex(as.out)).toBe(toHex(bytes));
      }),
      { seed: SEED, numRuns: 3000 },
    );
  });

  it('uint: number and bigint forms encode alike; uint() and uint64() agree below 2^53', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), (n) => {
        const a = new Writer();
        a.uint(n);
        const b = new Writer();
        b.uint(BigInt(n));
        expect(toHex(a.finish())).toBe(toHex(b.finish()));
        expect(new Reader(a.finish()).uint()).toBe(n);
        expect(new Reader(a.finish()).uint64()).toBe(BigInt(n));
      }),
      { seed: SEED, numRuns: 5000 },
    );
  });
});

describe('arbitrary input', () => {
  it('random bytes: TS and AS give the same verdict; accepted inputs are canonical', () => {
    fc.assert(
      fc.property(tyArb, fc.uint8Array({ maxLength: 48 }), (t, bytes) => agree(t, bytes)),
      { seed: SEED, numRuns: 4000 },
    );
  });

  it('mutated valid encodings (flip, insert, delete, truncate, size limit): same verdict in both', () => {
    const mutation = fc.record({
      op: fc.constantFrom('flip', 'set', 'insert', 'delete', 'truncate', 'limit'),
      at: fc.nat(),
      byte: fc.integer({ min: 0, max: 255 }),
    });
    fc.assert(
      fc.property(typedValue, mutation, ({ t, v }, m) => {
        const src = encodeTs(t, v);
        const at = src.length === 0 ? 0 : m.at % (src.length + 1);
        let out: Uint8Array;
        let maxBytes: number | undefined;
        switch (m.op) {
          case 'flip':
          case 'set':
            out = src.slice();
            if (out.length > 0) out[at % out.length] = m.op === 'flip' ? out[at % out.length]! ^ (1 << (m.byte & 7)) : m.byte;
            break;
          case 'insert':
            out = new Uint8Array([...src.subarray(0, at), m.byte, ...src.subarray(at)]);
            break;
          case 'delete':
            out = new Uint8Array([...src.subarray(0, at), ...src.subarray(at + 1)]);
            break;
          case 'truncate':
            out = src.subarray(0, at);
            break;
          default:
            out = src;
            maxBytes = at;
        }
        agree(t, out, maxBytes);
      }),
      { seed: SEED, numRuns: 4000 },
    );
  });
});
