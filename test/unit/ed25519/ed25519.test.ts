import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Ed25519InputError, Ed25519Signer, ed25519GenerateSecretKey, ed25519PublicKey, ed25519Sign, ed25519Verify, initCore } from '../../../wasm/index.ts';
import { Prng, toHex } from '../../../web/src/core/util/index.ts';
import { bigToLe, leToBig } from './craft.ts';
import { nodePrivateKey, nodePublicKey, nodeVerify } from './node-crypto.ts';

const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));

interface Vector {
  name: string;
  seed: string;
  publicKey: string;
  message: string;
  signature: string;
}
const { vectors } = JSON.parse(readFileSync(new URL('../../vectors/ed25519/rfc8032.json', import.meta.url), 'utf8')) as { vectors: Vector[] };

const L = (1n << 252n) + 27742317777372353535851937790883648493n;
const P = (1n << 255n) - 19n;

await initCore();

describe('RFC 8032 section 7.1 vectors', () => {
  it('has the published vectors', () => expect(vectors.length).toBeGreaterThanOrEqual(7));
  for (const v of vectors) {
    it(`${v.name}: public key, signature and verification`, () => {
      const seed = unhex(v.seed);
      expect(toHex(ed25519PublicKey(seed))).toBe(v.publicKey);
      expect(toHex(ed25519Sign(seed, unhex(v.message)))).toBe(v.signature);
      expect(toHex(new Ed25519Signer(seed).sign(unhex(v.message)))).toBe(v.signature);
      expect(ed25519Verify(unhex(v.publicKey), unhex(v.message), unhex(v.signature))).toBe(true);
    });
  }
});

describe('cross-check against node:crypto (seeded)', () => {
  it('agrees byte for byte on 1,500 random keys and messages, both directions', () => {
    const rng = new Prng(8032);
    for (let i = 0; i < 1500; i++) {
      const seed = rng.bytes(32);
      const msg = rng.bytes(rng.int(i % 50 === 0 ? 70_000 : 300));
      const key = nodePrivateKey(seed);
      const pub = ed25519PublicKey(seed);
      expect(toHex(pub)).toBe(toHex(crypto.createPublicKey(key).export({ format: 'der', type: 'spki' }).subarray(12)));
      const ours = ed25519Sign(seed, msg);
      const theirs = crypto.sign(null, msg, key);
      expect(toHex(ours)).toBe(theirs.toString('hex'));
      expect(ed25519Verify(pub, msg, theirs)).toBe(true);
      expect(crypto.verify(null, msg, nodePublicKey(pub), ours)).toBe(true);
    }
  });

  it('rejects every single-bit change node:crypto rejects', () => {
    const rng = new Prng(99);
    for (let i = 0; i < 150; i++) {
      const seed = rng.bytes(32);
      const msg = rng.bytes(1 + rng.int(64));
      const pub = ed25519PublicKey(seed);
      const sig = ed25519Sign(seed, msg);
      const which = rng.int(3);
      const target = which === 0 ? msg.slice() : which === 1 ? sig.slice() : pub.slice();
      const bit = rng.int(target.length * 8);
      target[bit >> 3] = (target[bit >> 3] as number) ^ (1 << (bit & 7));
      const [m, s, k] = which === 0 ? [target, sig, pub] : which === 1 ? [msg, target, pub] : [msg, sig, target];
      expect(ed25519Verify(k, m, s)).toBe(nodeVerify(k, m, s));
      expect(ed25519Verify(k, m, s)).toBe(false);
    }
  });
});

describe('verification agrees with node:crypto on 3,000 seeded mutated inputs', () => {
  // Small-order encodings (the eight torsion points, some non-canonical spellings of them).
  const smallOrder = [
    '0100000000000000000000000000000000000000000000000000000000000000',
    'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    '0000000000000000000000000000000000000000000000000000000000000000',
    '0000000000000000000000000000000000000000000000000000000000000080',
    '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
    'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
    '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
    'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
    'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
  ].map(unhex);

  it('same verdict for valid, bit-flipped, random-R, random-S, S near L and small-order cases', () => {
    const rng = new Prng(1_000_003);
    let accepted = 0;
    for (let i = 0; i < 3000; i++) {
      const seed = rng.bytes(32);
      const msg = rng.bytes(rng.int(120));
      let pub = ed25519PublicKey(seed);
      const sig = ed25519Sign(seed, msg);
      const kind = rng.int(8);
      if (kind === 1)
        for (let f = 1 + rng.int(3); f > 0; f--) {
          const at = rng.int(64);
          sig[at] = (sig[at] as number) ^ (1 << rng.int(8));
        }
      if (kind === 2) sig.set(rng.bytes(32), 0);
      if (kind === 3) sig.set(bigToLe(leToBig(rng.bytes(32)) % (1n << 253n), 32), 32);
      if (kind === 4) sig.set(bigToLe(L + BigInt(rng.int(3)) - 1n, 32), 32);
      if (kind === 5) pub = smallOrder[rng.int(smallOrder.length)]!;
      if (kind === 6) sig.set(smallOrder[rng.int(smallOrder.length)]!, 0);
      if (kind === 7) pub = rng.bytes(32);
      const ours = ed25519Verify(pub, msg, sig);
      expect(ours, `case ${i} (kind ${kind})`).toBe(nodeVerify(pub, msg, sig));
      if (ours) accepted++;
    }
    // About one case in eight is left unmutated and must verify.
    expect(accepted).toBeGreaterThan(300);
  });
});

describe('verification never throws and refuses malformed input', () => {
  const seed = unhex(vectors[1]!.seed);
  const pub = ed25519PublicKey(seed);
  const msg = new Uint8Array([0x72]);
  const sig = ed25519Sign(seed, msg);

  it('wrong lengths give false', () => {
    for (const n of [0, 31, 33]) expect(ed25519Verify(new Uint8Array(n), msg, sig)).toBe(false);
    for (const n of [0, 63, 65]) expect(ed25519Verify(pub, msg, new Uint8Array(n))).toBe(false);
    expect(ed25519Verify(pub.subarray(0, 31), msg, sig)).toBe(false);
    expect(ed25519Verify(undefined as unknown as Uint8Array, msg, sig)).toBe(false);
    expect(ed25519Verify(pub, 'hello' as unknown as Uint8Array, sig)).toBe(false);
  });

  it('non-canonical S (S + L, S + 2L, and S = L) gives false', () => {
    const s = leToBig(sig.subarray(32));
    for (const bad of [s + L, s + 2n * L, L, (1n << 256n) - 1n]) {
      const forged = sig.slice();
      forged.set(bigToLe(bad, 32), 32);
      expect(ed25519Verify(pub, msg, forged)).toBe(false);
    }
  });

  it('a public key with y >= p, or not on the curve, gives false', () => {
    // y = p + 1 encodes the same field element as y = 1 (the identity) but non-canonically.
    expect(ed25519Verify(bigToLe(P + 1n, 32), msg, sig)).toBe(false);
    expect(ed25519Verify(bigToLe(P, 32), msg, sig)).toBe(false);
    // y = 2 is not the y-coordinate of any curve point (x^2 would be a non-square).
    expect(ed25519Verify(bigToLe(2n, 32), msg, sig)).toBe(false);
  });

  it('a non-canonical R never verifies', () => {
    const forged = sig.slice();
    forged.set(bigToLe(leToBig(sig.subarray(0, 32)) + P, 32).subarray(0, 32), 0);
    expect(ed25519Verify(pub, msg, forged)).toBe(false);
  });

  it('small-order public keys do not verify an honest signature', () => {
    // The identity (y = 1) and the point of order 2 (y = -1).
    for (const k of [bigToLe(1n, 32), bigToLe(P - 1n, 32)]) expect(ed25519Verify(k, msg, sig)).toBe(false);
  });

  it('fuzzed garbage gives false without throwing', () => {
    const rng = new Prng(5);
    for (let i = 0; i < 300; i++) expect(ed25519Verify(rng.bytes(32), rng.bytes(rng.int(40)), rng.bytes(64))).toBe(false);
  });
});

describe('keys and signing errors', () => {
  it('signing and key derivation refuse wrong-length secret keys with a typed error', () => {
    for (const n of [0, 31, 33, 64]) {
      expect(() => ed25519Sign(new Uint8Array(n), new Uint8Array(1))).toThrow(Ed25519InputError);
      expect(() => ed25519PublicKey(new Uint8Array(n))).toThrow(Ed25519InputError);
    }
  });

  it('generates distinct random keys that sign and verify', () => {
    const a = ed25519GenerateSecretKey();
    const b = ed25519GenerateSecretKey();
    expect(a).toHaveLength(32);
    expect(toHex(a)).not.toBe(toHex(b));
    const m = new TextEncoder().encode('hygeia');
    expect(ed25519Verify(ed25519PublicKey(a), m, ed25519Sign(a, m))).toBe(true);
  });

  it('a destroyed signer refuses to sign', () => {
    const s = new Ed25519Signer(ed25519GenerateSecretKey());
    s.destroy();
    expect(() => s.sign(new Uint8Array(1))).toThrow(Ed25519InputError);
  });
});
