import { describe, expect, it } from 'vitest';
import { BatchCache, toHex } from '../../../web/src/core/consensus/index.ts';
import { batchDigestOfHashes, txHash } from '../../../web/src/core/ledger/index.ts';
import { Writer } from '../../../web/src/core/ledger/primitives.ts';
import { Prng } from '../../../web/src/core/net/index.ts';

const rng = new Prng(5);

function prePrepare(time: number, claimed: Uint8Array, requests: Uint8Array[], withBatch = true): Uint8Array {
  const body = new Writer();
  body.uint(0);
  body.uint(3);
  body.uint(7);
  body.uint(time);
  body.fixed(claimed);
  const w = new Writer();
  w.uint(2);
  w.bytes(body.finish());
  w.fixed(rng.bytes(64)); // the cache never trusts the signature: it recomputes the digest
  if (withBatch) {
    w.uint(requests.length);
    for (const r of requests) w.bytes(r);
  }
  return w.finish();
}

describe('BatchCache', () => {
  it('learns a batch from a pre-prepare under the digest it computes itself', () => {
    const cache = new BatchCache();
    const reqs = [rng.bytes(40), rng.bytes(50)];
    const digest = batchDigestOfHashes(123, reqs.map(txHash));
    cache.observe(prePrepare(123, digest, reqs));
    const got = cache.take(digest);
    expect(got?.time).toBe(123);
    expect(got?.requests.map(toHex)).toEqual(reqs.map(toHex));
    expect(cache.take(digest)).toBeUndefined();
  });

  it('cannot be made to hold a batch under another batch digest', () => {
    const cache = new BatchCache();
    const honest = [rng.bytes(40)];
    const digest = batchDigestOfHashes(9, honest.map(txHash));
    cache.observe(prePrepare(9, digest, [rng.bytes(40)])); // claims the honest digest for other requests
    expect(cache.take(digest)).toBeUndefined();
  });

  it('ignores malformed input and stays within its bounds', () => {
    const cache = new BatchCache(3);
    cache.observe(new Uint8Array([2, 0xff, 0xff]));
    cache.observe(new Uint8Array(0));
    const digests: Uint8Array[] = [];
    for (let i = 0; i < 5; i++) {
      const reqs = [rng.bytes(10)];
      const d = batchDigestOfHashes(i, reqs.map(txHash));
      digests.push(d);
      cache.observe(prePrepare(i, d, reqs));
    }
    expect(cache.size).toBe(3);
    expect(cache.take(digests[0]!)).toBeUndefined();
    expect(cache.take(digests[4]!)).toBeDefined();
  });
});
