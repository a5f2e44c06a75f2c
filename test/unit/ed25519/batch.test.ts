// ed25519VerifyBatch: every item gets exactly ed25519Verify's verdict (and node:crypto's), whatever the mix
// of valid, tampered and malformed items, repeated or fresh keys, short or long messages.
import { describe, expect, it } from 'vitest';
import { ed25519ClearKeyCache, ed25519PublicKey, ed25519Sign, ed25519Verify, ed25519VerifyBatch, initCore, type Ed25519BatchItem } from '../../../wasm/index.ts';
import { Prng } from '../../../web/src/core/util/index.ts';
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

  it('handles messages larger than the single-call message region', () => {
    const rng = new Prng(5);
    const seed = rng.bytes(32);
    const message = rng.bytes(70_000);
    const item = { publicKey: ed25519PublicKey(seed), message, signature: ed25519Sign(seed, message) };
    expect(ed25519VerifyBatch([item, item])).toEqual({ ok: true });
    expect(ed25519VerifyBatch([item, { ...item, message: message.subarray(1) }])).toEqual({ ok: false, bad: [1] });
  });
});
