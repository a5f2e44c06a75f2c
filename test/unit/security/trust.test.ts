// The trust rule's pure parts (what the contracts apply to corroborated reports) and the leader order PBFT
// derives from trust scores.
import { describe, expect, it } from 'vitest';
import { SecurityError, TRUST_RULE, corroboratedPenalty, leaderOrder, primaryForView, reasonsPenalty, recoverTrust, type Reason } from '../../../web/src/core/security/index.ts';
import { fromHex } from '../../../web/src/core/util/index.ts';

const equivocation: Reason = { feature: 'equivocations', value: 1, baseline: 0, scale: 1, score: 3500, hard: true };
const flood = (score: number): Reason => ({ feature: 'messageRate', value: 3000, baseline: 300, scale: 20, score, hard: false });

describe('reasonsPenalty', () => {
  it('scales with the score between 1x and 4x the threshold; hard reasons at 4x; capped per case', () => {
    expect(reasonsPenalty([flood(3500)])).toBe(20);
    expect(reasonsPenalty([flood(7000)])).toBe(40);
    expect(reasonsPenalty([flood(1_000_000)])).toBe(80);
    expect(reasonsPenalty([flood(100)])).toBe(20);
    expect(reasonsPenalty([equivocation])).toBe(600);
    expect(reasonsPenalty([equivocation, flood(14000)])).toBe(TRUST_RULE.maxPenaltyPerCase);
  });
});

describe('corroboratedPenalty', () => {
  it('is 0 until f+1 reporters asked, then the (f+1)-th largest ask', () => {
    expect(corroboratedPenalty([600], 1)).toBe(0);
    expect(corroboratedPenalty([600, 20], 1)).toBe(20);
    expect(corroboratedPenalty([20, 600, 40], 1)).toBe(40);
    expect(corroboratedPenalty([5], 0)).toBe(5);
  });

  it('f liars cannot push it above what an honest reporter asked, nor below when f+1 honest agree', () => {
    const honest = 40;
    for (const lie of [0, 1, 599, 600]) {
      expect(corroboratedPenalty([lie, lie, honest], 2)).toBeLessThanOrEqual(honest);
      expect(corroboratedPenalty([lie, lie, honest, honest, honest], 2)).toBe(honest);
    }
  });
});

describe('recoverTrust', () => {
  it('regains 5 % of the gap per day (at least a point), never above the maximum', () => {
    expect(recoverTrust(0, 1)).toBe(50);
    expect(recoverTrust(0, 2)).toBe(97);
    expect(recoverTrust(999, 1)).toBe(1000);
    expect(recoverTrust(1000, 30)).toBe(1000);
    expect(recoverTrust(400, 0)).toBe(400);
    let s = 0;
    for (let d = 1; d < 400; d++) {
      const next = recoverTrust(0, d);
      expect(next).toBeGreaterThanOrEqual(s);
      s = next;
    }
    expect(s).toBe(1000);
  });
});

describe('leaderOrder', () => {
  const keys = ['aa', 'bb', 'cc', 'dd', 'ee', 'ff', '0a'].map((h) => fromHex(h.repeat(32)));
  const trust = [900, 1000, 950, 100, 200, 300, 1000];
  const hex = (order: number[]): string[] => order.map((i) => ['aa', 'bb', 'cc', 'dd', 'ee', 'ff', '0a'][i]!);

  it('orders by trust, ties by key bytes, and drops at most f below the floor from the tail', () => {
    expect(hex(leaderOrder(keys, trust, 0, 2))).toEqual(['0a', 'bb', 'cc', 'aa', 'ff', 'ee', 'dd']);
    expect(hex(leaderOrder(keys, trust, 500, 2))).toEqual(['0a', 'bb', 'cc', 'aa', 'ff']);
    expect(hex(leaderOrder(keys, trust, 500, 1))).toEqual(['0a', 'bb', 'cc', 'aa', 'ff', 'ee']);
    expect(hex(leaderOrder(keys, trust, 2000, 2))).toEqual(['0a', 'bb', 'cc', 'aa', 'ff']);
    expect(leaderOrder(keys.slice(0, 2), [0, 0], 10, 1)).toEqual([0]);
    expect(leaderOrder(keys.slice(0, 1), [0], 10, 1)).toEqual([0]);
  });

  it('primaryForView cycles the order; bad input is a typed error', () => {
    const order = leaderOrder(keys, trust, 500, 2);
    expect(hex([0, 1, 5, 6].map((v) => primaryForView(v, order)))).toEqual(['0a', 'bb', '0a', 'bb']);
    expect(() => primaryForView(0, [])).toThrow(SecurityError);
    expect(() => leaderOrder(keys, [1, 2], 0, 1)).toThrow(SecurityError);
  });
});
