import { describe, expect, it } from 'vitest';
import { HeldFrames } from '../../../web/src/core/consensus/held-frames.ts';

const frame = (n: number, size = 4): Uint8Array => new Uint8Array(size).fill(n);

describe('frames held for a peer without a link', () => {
  it('come out once, oldest first, for that peer only, when its link comes; after that nothing is held for it', () => {
    let now = 0;
    const h = new HeldFrames({ now: () => now });
    expect(h.hold('a', frame(1))).toBe(true);
    h.hold('b', frame(2));
    now = 10;
    h.hold('a', frame(3));
    expect(h.linked('a').map((f) => f[0])).toEqual([1, 3]);
    expect(h.linked('a')).toEqual([]);
    // Linked once: its frames go straight out, even while its link is down again.
    expect(h.hold('a', frame(4))).toBe(false);
    expect(h.linked('b').map((f) => f[0])).toEqual([2]);
    expect(h.size).toBe(0);
  });

  it('are bounded per peer by count and bytes, the oldest dropped first', () => {
    const h = new HeldFrames({ now: () => 0, maxFrames: 3, maxBytes: 10 });
    for (let i = 1; i <= 5; i++) h.hold('a', frame(i));
    expect(h.size).toBe(2); // 4 + 4 bytes fit in 10; a third frame of 4 would not
    expect(h.linked('a').map((f) => f[0])).toEqual([4, 5]);
    for (let i = 1; i <= 5; i++) h.hold('b', frame(i, 1));
    expect(h.linked('b').map((f) => f[0])).toEqual([3, 4, 5]);
    expect(h.hold('c', frame(9, 11))).toBe(true); // larger than the whole budget: dropped, not sent
    expect(h.linked('c')).toEqual([]);
  });

  it('go stale: a frame older than the age limit is not sent', () => {
    let now = 0;
    const h = new HeldFrames({ now: () => now, maxAgeMs: 100 });
    h.hold('a', frame(1));
    now = 60;
    h.hold('a', frame(2));
    now = 130;
    expect(h.linked('a').map((f) => f[0])).toEqual([2]);
    h.hold('z', frame(3));
    now = 1_000;
    h.hold('z', frame(4)); // the stale one makes room as it goes
    expect(h.size).toBe(1);
    expect(h.linked('z').map((f) => f[0])).toEqual([4]);
  });
});
