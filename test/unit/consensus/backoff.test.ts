// The consensus host's one back-off policy (backoff.ts): a wait doubles per step from a base up to a cap. Every
// state-transfer fetch applies it as PeerRotation: peers in turn, timeouts doubling per full round up to 8 × the
// base, the next peer at once after a bad answer unless a round is spent, and a fresh start after a useful answer.
import { describe, expect, it } from 'vitest';
import { Backoff, PeerRotation } from '../../../web/src/core/consensus/index.ts';

describe('Backoff', () => {
  it('doubles per step from the base and stops at the cap', () => {
    const b = new Backoff(500, 16_000);
    expect([0, 1, 2, 3, 4, 5, 6, 40].map((s) => b.delay(s))).toEqual([500, 1000, 2000, 4000, 8000, 16_000, 16_000, 16_000]);
  });

  it('treats a negative step as step 0 and never exceeds a cap below the base', () => {
    expect(new Backoff(100, 1_000).delay(-3)).toBe(100);
    expect(new Backoff(100, 50).delay(0)).toBe(50);
  });
});

describe('PeerRotation', () => {
  it('asks each peer in turn, doubling the timeout each full round, capped at 8 × base', () => {
    const r = new PeerRotation(['a', 'b', 'c'], 100);
    const asked = Array.from({ length: 15 }, () => r.take());
    expect(asked.map((x) => x.peer).join('')).toBe('abcabcabcabcabc');
    expect(asked.map((x) => x.timeoutMs)).toEqual([100, 100, 100, 200, 200, 200, 400, 400, 400, 800, 800, 800, 800, 800, 800]);
  });

  it('after a bad answer asks the next peer at once, but pauses when the round is spent', () => {
    const r = new PeerRotation(['a', 'b'], 100);
    r.take();
    expect(r.pauseAfterFailure()).toBe(0);
    r.take();
    expect(r.pauseAfterFailure()).toBe(100);
    r.take();
    r.take();
    expect(r.pauseAfterFailure()).toBe(200);
  });

  it('starts a fresh round after a useful answer', () => {
    const r = new PeerRotation(['a', 'b'], 100);
    for (let i = 0; i < 5; i++) r.take();
    r.succeeded();
    expect(r.take()).toEqual({ peer: 'a', timeoutMs: 100 });
    expect(r.rounds).toBe(0);
  });
});
