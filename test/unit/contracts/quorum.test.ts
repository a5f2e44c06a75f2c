// quorumSize(n) = ceil((n+f+1)/2): any two quorums share at least f+1 replicas (so an honest one), and the
// n-f honest replicas can still form one alone. Checked for every n the replica supports (1..64).
import { describe, expect, it } from 'vitest';
import { faultsTolerated, quorumSize } from '../../../web/src/core/ledger/quorum.ts';

describe('quorumSize', () => {
  it('any two quorums intersect in at least f+1 replicas, and the honest replicas alone form one, for n = 1..64', () => {
    for (let n = 1; n <= 64; n++) {
      const f = faultsTolerated(n);
      const q = quorumSize(n);
      expect(f, `f at n=${n}`).toBe(Math.floor((n - 1) / 3));
      // The smallest possible intersection of two q-subsets of n replicas is 2q - n.
      expect(2 * q - n, `intersection at n=${n}`).toBeGreaterThanOrEqual(f + 1);
      expect(q, `liveness at n=${n}`).toBeLessThanOrEqual(n - f);
      // And it is the smallest size with that property.
      expect(2 * (q - 1) - n, `minimality at n=${n}`).toBeLessThan(f + 1);
    }
  });

  it('differs from 2f+1 exactly where 2f+1 is unsafe (n = 5: 3 of 5 is not enough)', () => {
    expect([4, 5, 6, 7, 8, 9, 10].map(quorumSize)).toEqual([3, 4, 4, 5, 6, 6, 7]);
    expect(quorumSize(5)).toBeGreaterThan(2 * faultsTolerated(5) + 1);
  });

  it('refuses a count that is not a positive integer', () => {
    for (const n of [0, -1, 1.5, Number.NaN]) expect(() => quorumSize(n)).toThrow(RangeError);
  });
});
