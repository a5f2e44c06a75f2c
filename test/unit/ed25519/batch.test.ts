// ed25519VerifyBatch: every item gets exactly ed25519Verify's verdict (and node:crypto's), whatever the mix
// of valid, tampered and malformed items, repeated or fresh keys, short or long messages.
import { describe, expect, it } from 'vitest';
import {
  ed25519ClearKeyCache,
  ed25519KeyTablesBuilt,
  ed25519PublicKey,
  ed25519Sign,
  ed25519Verify,
  ed25519VerifyBatch,
  initCore,
  type Ed25519BatchItem,
} from '../../../wasm/index.ts';
import { Prng } from '../../../web/src/core/util/index.ts';
import { createHash } from 'node:crypto';
import { L, base, bigToLe, leToBig } from './craft.ts';
import { nodeVerify } from './node-crypto.ts';

await initCore();

function signedItems(rng: Prng, count: number, keys: number, maxMessage = 200): Ed25519BatchItem[] {
  const seeds = Array.from({ length: keys }, () => rng.bytes(32));
  const publicKeys = seeds.map((s) => ed25519PublicKey(s));
  return Array.from({ length: count }, () => {
    const k = rng.int(keys);
    const message = rng.bytes(rng.int(maxMessage));
    return { publicKey: publicKeys[k]!, message, signature: ed25519Sign(seeds[k]!, message) };
  });
}

/** Flips one random bit of the key, the message or the signature. */
function tamper(rng: Prng, item: Ed25519BatchItem): Ed25519BatchItem {
  const which = rng.int(item.message.length > 0 ? 3 : 2);
  const copy = { publicKey: item.publicKey.slice(), message: item.message.slice(), signature: item.signature.slice() };
  const target = which === 0 ? copy.publicKey : which === 1 ? copy.signature : copy.message;
  const bit = rng.int(target.length * 8);
  target[bit >> 3] = (target[bit >> 3] as number) ^ (1 << (bit & 7));
  return copy;
}

describe('ed25519VerifyBatch', () => {
  it('accepts an empty batch and a batch of valid signatures', () => {
    expect(ed25519VerifyBatch([])).toEqual({ ok: true });
    const rng = new Prng(1);
    ed25519ClearKeyCache();
    expect(ed25519VerifyBatch(signedItems(rng, 64, 64))).toEqual({ ok: true });
    expect(ed25519VerifyBatch(signedItems(rng, 64, 4))).toEqual({ ok: true });
  });

  it('names exactly the items single verification and node:crypto refuse (seeded mixes, 1,200 items)', () => {
    const rng = new Prng(77);
    for (let round = 0; round < 6; round++) {
      // Round 0 starts cold; 300 distinct keys in later rounds overflow the 128-slot key cache.
      if (round === 0) ed25519ClearKeyCache();
      const items = signedItems(rng, 200, round < 3 ? 8 : 300).map((it) => (rng.int(4) === 0 ? tamper(rng, it) : it));
      const expected = items.flatMap((it, i) => (ed25519Verify(it.publicKey, it.message, it.signature) ? [] : [i]));
      for (const [i, it] of items.entries()) expect(nodeVerify(it.publicKey, it.message, it.signature), `item ${i}`).toBe(!expected.includes(i));
      const got = ed25519VerifyBatch(items);
      expect(got).toEqual(expected.length === 0 ? { ok: true } : { ok: false, bad: expected });
    }
  });

  it('a key that does not decode is refused every time, also from the cache', () => {
    const rng = new Prng(3);
    const [good] = signedItems(rng, 1, 1);
    // y = 2 is not the y-coordinate of any curve point.
    const badKey = new Uint8Array(32);
    badKey[0] = 2;
    const bad = { ...good!, publicKey: badKey };
    expect(ed25519VerifyBatch([good!, bad, bad, good!])).toEqual({ ok: false, bad: [1, 2] });
    expect(ed25519VerifyBatch([bad])).toEqual({ ok: false, bad: [0] });
  });

  it('keeps the tables of keys in use while a stream of one-off keys and a crowd of once-returning ones pass through', () => {
    ed25519ClearKeyCache();
    const rng = new Prng(77);
    const validators = signedItems(rng, 16, 8);
    const keysOf = (items: Ed25519BatchItem[]) => new Set(items.map((i) => i.publicKey.join())).size;
    ed25519VerifyBatch(validators);
    ed25519VerifyBatch(validators); // each validator's second signature: its tables are built
    const built = ed25519KeyTablesBuilt();
    expect(built).toBeGreaterThanOrEqual(keysOf(validators));
    for (let round = 0; round < 40; round++) {
      // 64 keys never seen again, and 8 that come back once (and so earn tables) in every round.
      const oneOff = Array.from({ length: 64 }, () => signedItems(rng, 1, 1)[0]!);
      const returning = Array.from({ length: 8 }, () => signedItems(rng, 1, 1)[0]!);
      expect(ed25519VerifyBatch([...oneOff, ...returning, ...returning, ...validators.slice(0, 4)])).toEqual({ ok: true });
    }
    // One-off keys earned nothing: only the returning ones were tabled (320 of them through 128 slots), and
    // the validators used all along kept theirs (one may lose its slot when every probe it shares is in use,
    // and earns it back).
    const before = ed25519KeyTablesBuilt();
    expect(before - built).toBeGreaterThanOrEqual(40 * 8 - 8);
    expect(before - built).toBeLessThanOrEqual(40 * 8 + 4);
    expect(ed25519VerifyBatch(validators.slice(0, 4))).toEqual({ ok: true });
    expect(ed25519KeyTablesBuilt()).toBe(before);
  });

  it('reports malformed items as bad without throwing', () => {
    const rng = new Prng(4);
    const [a, b] = signedItems(rng, 2, 2);
    const items = [
      a!,
      { ...b!, publicKey: b!.publicKey.subarray(0, 31) },
      { ...b!, signature: new Uint8Array(65) },
      { ...b!, message: 'text' as unknown as Uint8Array },
      null as unknown as Ed25519BatchItem,
      b!,
    ];
    expect(ed25519VerifyBatch(items)).toEqual({ ok: false, bad: [1, 2, 3, 4] });
  });

  it('known keys: R is compared as bytes, so only the canonical encoding of the right point passes (as node:crypto)', () => {
    // Through the key tables the batch computes [S]B - [k]A and compares its encoding with R's bytes. R = the
    // identity makes the equation hold for S = k·a with any encoding of R; only the canonical one may pass.
    const rng = new Prng(6);
    const a = leToBig(rng.bytes(32)) % L;
    const publicKey = base(a).toBytes();
    const p = (1n << 255n) - 19n;
    /** S = r + k·a with k hashed over the given R bytes: [S]B - [k]A = [r]B whatever R's bytes say. */
    const signWithR = (rBytes: Uint8Array, r: bigint, message: Uint8Array): Ed25519BatchItem => {
      const k = leToBig(createHash('sha512').update(rBytes).update(publicKey).update(message).digest()) % L;
      const signature = new Uint8Array(64);
      signature.set(rBytes, 0);
      signature.set(bigToLe((r + k * a) % L, 32), 32);
      return { publicKey, message, signature };
    };
    const identity = bigToLe(1n, 32); // y = 1, x = 0
    const identityPlusP = bigToLe(1n + p, 32); // y = 1 + p: non-canonical
    const identityNegZero = bigToLe(1n | (1n << 255n), 32); // x = 0 with the sign bit set
    const items = [identity, identityPlusP, identityNegZero, identity].map((r, i) => signWithR(r, 0n, rng.bytes(40 + i)));
    // [S]B - [k]A = Q while R's bytes say -Q (Q's encoding with the sign bit flipped): the right y, not the point.
    const r = leToBig(rng.bytes(32)) % L;
    const minusQ = base(r).toBytes();
    minusQ[31] = (minusQ[31] as number) ^ 0x80;
    const flipped = signWithR(minusQ, r, rng.bytes(10));
    // S + L: the same point, a non-canonical scalar.
    const sPlusL = { ...items[0]!, signature: items[0]!.signature.slice() };
    sPlusL.signature.set(bigToLe(leToBig(items[0]!.signature.subarray(32)) + L, 32), 32);
    const all = [...items, flipped, sPlusL];
    const expected = all.flatMap((it, i) => (nodeVerify(it.publicKey, it.message, it.signature) ? [] : [i]));
    expect(expected).toEqual([1, 2, 4, 5]);
    for (const [i, it] of all.entries()) expect(ed25519Verify(it.publicKey, it.message, it.signature), `item ${i}`).toBe(!expected.includes(i));
    ed25519ClearKeyCache();
    // Cold (the key is seen first, then gets its tables within the batch), then warm.
    expect(ed25519VerifyBatch(all)).toEqual({ ok: false, bad: expected });
    expect(ed25519VerifyBatch(all)).toEqual({ ok: false, bad: expected });
  });

  it('handles messages larger than the single-call message region', () => {
    const rng = new Prng(5);
    const seed = rng.bytes(32);
    const message = rng.bytes(70_000);
    const item = { publicKey: ed25519PublicKey(seed), message, signature: ed25519Sign(seed, message) };
    expect(ed25519VerifyBatch([item, item])).toEqual({ ok: true });
    expect(ed25519VerifyBatch([item, { ...item, message: message.subarray(1) }])).toEqual({ ok: false, bad: [1] });
  });
});
