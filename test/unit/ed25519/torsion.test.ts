// Torsion cases: signatures under keys or R values with a small-order component. Cofactorless verification
// (node:crypto / OpenSSL, and our core) accepts exactly those whose equation holds on the nose; the tests
// check that single and batch verification both agree with node:crypto on every one of them, including the
// ones a cofactored equation (or a random linear combination) would let through.
import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Point } from '@noble/ed25519';
import { ed25519ClearKeyCache, ed25519Verify, ed25519VerifyBatch, initCore } from '../../../wasm/index.ts';
import { Prng } from '../../../web/src/core/util/index.ts';
import { L, T8, craft, leToBig, torsion, type Crafted } from './craft.ts';
import { nodeVerify } from './node-crypto.ts';

await initCore();

describe('the crafting helper', () => {
  it('T8 has order exactly 8', () => {
    expect(torsion(8n).is0()).toBe(true);
    expect(torsion(4n).is0()).toBe(false);
    expect(T8.multiply(8n, false).is0()).toBe(true);
  });

  it('builds what it claims (checked with independent point arithmetic)', () => {
    const rng = new Prng(41);
    for (const wantD of [0n, 1n, 4n]) {
      const c = craft(rng, leToBig(rng.bytes(32)) % L, 3n, wantD);
      const A = Point.fromBytes(c.publicKey);
      const R = Point.fromBytes(c.signature.subarray(0, 32));
      const S = leToBig(c.signature.subarray(32));
      const h = crypto.createHash('sha512').update(c.signature.subarray(0, 32)).update(c.publicKey).update(c.message);
      const k = leToBig(h.digest()) % L;
      // k < L, so noble's plain double-and-add gives the exact [k]A, torsion component included.
      const D = Point.BASE.multiply(S, false).subtract(A.multiply(k, false)).subtract(R);
      expect(D.equals(torsion(wantD))).toBe(true);
      expect(D.clearCofactor().is0()).toBe(true);
      expect(D.is0()).toBe(wantD === 0n);
    }
  });
});

describe('single and batch verification agree with node:crypto on torsion cases', () => {
  const rng = new Prng(2024);
  const cases: { name: string; c: Crafted }[] = [];
  const a = () => leToBig(rng.bytes(32)) % L;
  for (let i = 0; i < 6; i++) {
    // Mixed-order keys (prime part and torsion part), R with whatever torsion makes the equation exact.
    cases.push({ name: `mixed-order key ${i}, cofactorless-valid`, c: craft(rng, a(), BigInt(1 + rng.int(7)), 0n) });
    // The same, off by a torsion point: valid for a cofactored equation only.
    cases.push({ name: `mixed-order key ${i}, cofactored-only (D of order 2)`, c: craft(rng, a(), BigInt(1 + rng.int(7)), 4n) });
    cases.push({ name: `mixed-order key ${i}, cofactored-only (D of order 8)`, c: craft(rng, a(), BigInt(1 + rng.int(7)), 1n) });
    // Honest (torsion-free) keys with a torsion component smuggled into R.
    cases.push({ name: `torsion-free key ${i}, R off by order 2`, c: craft(rng, a(), 0n, 4n) });
    cases.push({ name: `torsion-free key ${i}, R off by order 4`, c: craft(rng, a(), 0n, 2n) });
    // Small-order keys (no prime part at all).
    cases.push({ name: `small-order key ${i}, cofactorless-valid`, c: craft(rng, 0n, BigInt(1 + rng.int(7)), 0n) });
    cases.push({ name: `small-order key ${i}, cofactored-only`, c: craft(rng, 0n, BigInt(1 + rng.int(7)), 6n) });
  }

  it('node:crypto accepts exactly the cofactorless-valid ones (the crafted set is what it says)', () => {
    for (const { name, c } of cases) expect(nodeVerify(c.publicKey, c.message, c.signature), name).toBe(c.cofactorless);
  });

  it('single verification gives node:crypto verdict on each', () => {
    for (const { name, c } of cases) expect(ed25519Verify(c.publicKey, c.message, c.signature), name).toBe(c.cofactorless);
  });

  it('batch verification names exactly the cofactored-only ones, cold and warm key cache, any order', () => {
    const items = cases.map(({ c }) => ({ publicKey: c.publicKey, message: c.message, signature: c.signature }));
    const expected = cases.flatMap(({ c }, i) => (c.cofactorless ? [] : [i]));
    ed25519ClearKeyCache();
    expect(ed25519VerifyBatch(items)).toEqual({ ok: false, bad: expected });
    expect(ed25519VerifyBatch(items)).toEqual({ ok: false, bad: expected });
    const order = items.map((_, i) => i).reverse();
    const reversed = order.map((i) => items[i]!);
    const got = ed25519VerifyBatch(reversed);
    expect(got.ok).toBe(false);
    if (!got.ok) expect(got.bad.map((j) => order[j]).sort((x, y) => (x as number) - (y as number))).toEqual(expected);
  });

  it('two cofactored-only signatures whose torsion would cancel in a sum are both reported bad', () => {
    // D1 and D2 of order 2 by the same torsion-free key: D1 + D2 = O, so any equation that adds the
    // entries with odd (or equal) weights would pass them; the batch must name both.
    const key = a();
    const first = craft(rng, key, 0n, 4n);
    const second = craft(rng, key, 0n, 4n);
    const honest = craft(rng, key, 0n, 0n);
    const items = [honest, first, second].map((c) => ({ publicKey: c.publicKey, message: c.message, signature: c.signature }));
    expect(ed25519VerifyBatch(items)).toEqual({ ok: false, bad: [1, 2] });
    expect(ed25519VerifyBatch([items[0]!])).toEqual({ ok: true });
  });
});
