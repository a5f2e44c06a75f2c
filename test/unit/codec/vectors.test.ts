// Every shared vector (test/vectors/codec) through both codecs: the TypeScript one and the AssemblyScript
// one in the wasm core. Valid vectors must decode to their value and re-encode to their bytes; invalid
// ones must fail with exactly their error code.
import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CODEC_ERROR_CODES, CodecError, Reader, decode, signingBytes } from '../../../web/src/core/codec/index.ts';
import { VECTOR_DIR, compileProgram, decodeTs, encodeTs, loadAsCodec, loadVectors, readValue, runAs, signingBytesAs, vectorFiles, type Vector } from './schema.ts';
import { fromHex, toHex } from '../../../web/src/core/util/index.ts';

beforeAll(loadAsCodec);

const files = vectorFiles();
const all: Vector[] = files.flatMap(loadVectors);

describe('the vector set', () => {
  it('covers every error code and has valid and invalid vectors', () => {
    const seen = new Set(all.map((v) => v.error).filter((e) => e !== undefined));
    expect([...seen].sort()).toEqual(Object.keys(CODEC_ERROR_CODES).sort());
    expect(all.filter((v) => v.error === undefined).length).toBeGreaterThan(80);
    expect(all.filter((v) => v.error !== undefined).length).toBeGreaterThan(200);
  });
});

for (const file of files) {
  describe(file, () => {
    const vectors = loadVectors(file);
    const valid = vectors.filter((v) => v.error === undefined);
    const invalid = vectors.filter((v) => v.error !== undefined);

    it.each(valid.map((v) => [v.name, v] as const))('TS accepts %s', (_n, v) => {
      const bytes = fromHex(v.hex);
      const got = decodeTs(v.type, bytes, v.maxBytes);
      expect(got.error).toBeNull();
      expect(got.value).toEqual(v.value);
      expect(toHex(encodeTs(v.type, v.value!))).toBe(v.hex);
      if (v.encodeFrom !== undefined) expect(toHex(encodeTs(v.type, v.encodeFrom))).toBe(v.hex);
      expect(decode(bytes, (r) => readValue(v.type, r), v.maxBytes)).toEqual(v.value);
    });

    it.each(invalid.map((v) => [v.name, v] as const))('TS rejects %s', (_n, v) => {
      const bytes = fromHex(v.hex);
      expect(decodeTs(v.type, bytes, v.maxBytes).error).toBe(v.error);
      let thrown: unknown = null;
      try {
        decode(bytes, (r) => readValue(v.type, r), v.maxBytes);
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(CodecError);
      expect((thrown as CodecError).code).toBe(v.error);
    });

    it.each(vectors.map((v) => [v.name, v] as const))('AS agrees on %s', (_n, v) => {
      const got = runAs(compileProgram(v.type), fromHex(v.hex), v.maxBytes);
      expect(got.error).toBe(v.error ?? null);
      if (v.error === undefined) expect(toHex(got.out)).toBe(v.hex);
      else expect(got.out.length).toBe(0);
    });
  });
}

describe('uints read as JS numbers', () => {
  const uints = loadVectors('uint.json').filter((v) => v.type === 'uint' && v.error === undefined);
  it.each(uints.map((v) => [v.name, v] as const))('%s', (_n, v) => {
    const r = new Reader(fromHex(v.hex));
    const n = r.uint();
    if (v.numberError) {
      expect(r.error).toBe(v.numberError);
      expect(n).toBe(0);
    } else {
      expect(r.end()).toBe(true);
      expect(BigInt(n)).toBe(BigInt(v.value as string));
    }
  });
});

describe('signingBytes', () => {
  const vectors = (
    JSON.parse(readFileSync(path.join(VECTOR_DIR, 'signing.json'), 'utf8')) as {
      vectors: { name: string; tag: string; body: string; hex: string }[];
    }
  ).vectors;
  it.each(vectors.map((v) => [v.name, v] as const))('%s (TS and AS)', (_n, v) => {
    expect(toHex(signingBytes(v.tag, fromHex(v.body)))).toBe(v.hex);
    expect(toHex(signingBytesAs(v.tag, fromHex(v.body)))).toBe(v.hex);
  });
});
