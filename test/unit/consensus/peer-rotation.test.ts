// The one back-off policy every state-transfer fetch uses: peers in turn, timeouts doubling per full round up
// to 8 × the base, the next peer at once after a bad answer unless a round is spent, and a fresh start after
// a useful answer.
import { describe, expect, it } from 'vitest';
import { PeerRotation } from '../../../web/src/core/consensus/index.ts';

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
