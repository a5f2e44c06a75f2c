import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createSha256, createSha512, HashInputError, HashStateError, sha256, sha512 } from '../../../wasm/index.ts';
import { core } from '../../../wasm/face/instance.ts';
import { Prng, toHex } from '../../../web/src/core/util/index.ts';
import { useCore } from '../shared/core.ts';

const vectorsDir = new URL('../../vectors/sha/', import.meta.url);

function parseRsp(text: string): { msg: Uint8Array; md: string }[] {
  const out: { msg: Uint8Array; md: string }[] = [];
  let len = -1;
  let msg = '';
  for (const line of text.split('\n')) {
    const m = /^(\w+) = ?(.*)$/.exec(line.trim());
    if (!m) continue;
    const [, key, value = ''] = m;
    if (key === 'Len') len = Number(value);
    else if (key === 'Msg') msg = value;
    else if (key === 'MD') out.push({ msg: Buffer.from(msg, 'hex').subarray(0, len / 8), md: value });
  }
  return out;
}

function randomBytes(rng: Prng, n: number): Uint8Array {
  return rng.bytes(n);
}

useCore();

describe('SHA-256 against NIST CAVP ShortMsg', () => {
  const vectors = parseRsp(readFileSync(new URL('SHA256ShortMsg.rsp', vectorsDir), 'utf8'));
  it('has all 65 byte-oriented messages', () => expect(vectors).toHaveLength(65));
  it('matches every digest, one-shot and streamed byte by byte', () => {
    for (const { msg, md } of vectors) {
      expect(toHex(sha256(msg))).toBe(md);
      const h = createSha256();
      for (let i = 0; i < msg.length; i++) h.update(msg.subarray(i, i + 1));
      expect(toHex(h.digest())).toBe(md);
    }
  });
});

describe('NIST CAVP subsets: SHA-512 ShortMsg and SHA-256 LongMsg', () => {
  const cases: [string, 'sha256' | 'sha512', number][] = [
    ['SHA512ShortMsg-subset.rsp', 'sha512', 4],
    ['SHA256LongMsg-subset.rsp', 'sha256', 1],
  ];
  for (const [file, alg, count] of cases) {
    it(`${file}: every record, one-shot and streamed in odd chunks`, () => {
      const vectors = parseRsp(readFileSync(new URL(file, vectorsDir), 'utf8'));
      expect(vectors).toHaveLength(count);
      for (const { msg, md } of vectors) {
        expect(toHex(alg === 'sha256' ? sha256(msg) : sha512(msg))).toBe(md);
        const h = alg === 'sha256' ? createSha256() : createSha512();
        for (let off = 0; off < msg.length; off += 13) h.update(msg.subarray(off, off + 13));
        expect(toHex(h.digest())).toBe(md);
      }
    });
  }
});

describe('NIST FIPS 180 examples (multi-block and the million-a message)', () => {
  const examples = JSON.parse(readFileSync(new URL('nist-examples.json', vectorsDir), 'utf8')) as {
    alg: 'sha256' | 'sha512';
    message: string;
    repeat: number;
    digest: string;
  }[];
  for (const ex of examples) {
    it(`${ex.alg}(${ex.repeat > 1 ? `${ex.repeat} x "${ex.message}"` : `"${ex.message.slice(0, 12)}…"`})`, () => {
      const data = new TextEncoder().encode(ex.message.repeat(ex.repeat));
      const oneShot = ex.alg === 'sha256' ? sha256(data) : sha512(data);
      expect(toHex(oneShot)).toBe(ex.digest);
      // The same through the streaming form in uneven chunks that straddle block boundaries.
      const h = ex.alg === 'sha256' ? createSha256() : createSha512();
      for (let off = 0, step = 1; off < data.length; off += step, step = ((step * 7 + 3) % 1000) + 1) {
        h.update(data.subarray(off, off + step));
      }
      expect(toHex(h.digest())).toBe(ex.digest);
    });
  }
});

describe('cross-check against node:crypto (seeded)', () => {
  it('agrees on 3,000 random messages of 0..5,000 bytes, both algorithms', () => {
    const rng = new Prng(0x5a256);
    for (let i = 0; i < 3000; i++) {
      const msg = randomBytes(rng, rng.int(5001));
      expect(toHex(sha256(msg))).toBe(createHash('sha256').update(msg).digest('hex'));
      expect(toHex(sha512(msg))).toBe(createHash('sha512').update(msg).digest('hex'));
    }
  });

  it('agrees for random chunkings of the streaming form', () => {
    const rng = new Prng(20261125);
    for (let i = 0; i < 400; i++) {
      const msg = randomBytes(rng, rng.int(9000));
      const a = createSha256();
      const b = createSha512();
      let off = 0;
      while (off < msg.length) {
        const step = rng.int(300);
        a.update(msg.subarray(off, off + step));
        b.update(msg.subarray(off, off + step));
        off += step;
      }
      expect(toHex(a.digest())).toBe(createHash('sha256').update(msg).digest('hex'));
      expect(toHex(b.digest())).toBe(createHash('sha512').update(msg).digest('hex'));
    }
  });

  it('handles inputs larger than the shared input region (one-shot streams through it)', () => {
    const rng = new Prng(7);
    const big = randomBytes(rng, 300_000);
    expect(toHex(sha256(big))).toBe(createHash('sha256').update(big).digest('hex'));
    expect(toHex(sha512(big))).toBe(createHash('sha512').update(big).digest('hex'));
  });
});

describe('edge cases', () => {
  it('pads correctly at every length around the block boundaries', () => {
    for (const n of [0, 1, 55, 56, 57, 63, 64, 65, 111, 112, 113, 127, 128, 129, 239, 240, 255, 256]) {
      const msg = new Uint8Array(n).fill(0x61);
      expect(toHex(sha256(msg))).toBe(createHash('sha256').update(msg).digest('hex'));
      expect(toHex(sha512(msg))).toBe(createHash('sha512').update(msg).digest('hex'));
    }
  });

  it('keeps several streaming hashers independent', () => {
    const a = createSha256().update(new Uint8Array([1, 2, 3]));
    const b = createSha256().update(new Uint8Array([9]));
    a.update(new Uint8Array([4]));
    expect(toHex(a.digest())).toBe(
      createHash('sha256')
        .update(Buffer.from([1, 2, 3, 4]))
        .digest('hex'),
    );
    expect(toHex(b.digest())).toBe(
      createHash('sha256')
        .update(Buffer.from([9]))
        .digest('hex'),
    );
  });

  it('refuses a hasher used after its digest, with a typed error', () => {
    const h = createSha512().update(new Uint8Array([1]));
    h.digest();
    expect(() => h.update(new Uint8Array([2]))).toThrow(HashStateError);
    expect(() => h.digest()).toThrow(HashStateError);
  });

  it('keeps working after linear memory grows (old views are detached)', () => {
    const msg = new Prng(99).bytes(1000);
    const h = createSha512().update(msg.subarray(0, 400));
    expect(toHex(sha256(msg))).toBe(createHash('sha256').update(msg).digest('hex'));
    const before = core().memory.buffer;
    core().memory.grow(1);
    expect(core().memory.buffer).not.toBe(before);
    expect(toHex(sha256(msg))).toBe(createHash('sha256').update(msg).digest('hex'));
    expect(toHex(h.update(msg.subarray(400)).digest())).toBe(createHash('sha512').update(msg).digest('hex'));
  });

  it('refuses inputs that are not bytes with a typed error, and the hasher stays usable', () => {
    expect(() => sha256('abc' as unknown as Uint8Array)).toThrow(HashInputError);
    expect(() => sha512([1, 2, 3] as unknown as Uint8Array)).toThrow(HashInputError);
    const h = createSha256().update(new Uint8Array([1]));
    expect(() => h.update(null as unknown as Uint8Array)).toThrow(HashInputError);
    expect(toHex(h.update(new Uint8Array([2])).digest())).toBe(
      createHash('sha256')
        .update(Buffer.from([1, 2]))
        .digest('hex'),
    );
  });

  it('returns copies, not views into wasm memory', () => {
    const d1 = sha256(new Uint8Array([1]));
    const before = toHex(d1);
    sha256(new Uint8Array([2]));
    expect(toHex(d1)).toBe(before);
  });
});
