// Trust scores from committed evidence: penalties, corroboration against lying reporters, recovery,
// bounds, order independence, and the leader order PBFT uses.
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_TRUST,
  SecurityError,
  TrustScores,
  leaderOrder,
  primaryForView,
  reportPenalty,
  type Evidence,
  type Report,
} from '../../../web/src/core/security/index.ts';
import { Prng } from '../../../web/src/core/util/index.ts';

const V = ['aa', 'bb', 'cc', 'dd', 'ee', 'ff', '0a'];

function equivocation(subject: string, window = 1): Report {
  return {
    kind: 'network',
    subject,
    window,
    severity: 3500,
    reasons: [{ feature: 'equivocations', value: 1, baseline: 0, scale: 1, score: 3500, hard: true }],
  };
}

function flood(subject: string, score: number): Report {
  return {
    kind: 'network',
    subject,
    window: 1,
    severity: score,
    reasons: [{ feature: 'messageRate', value: 3000, baseline: 300, scale: 20, score, hard: false }],
  };
}

describe('reportPenalty', () => {
  it('scales with the score between 1x and 4x the threshold; hard reasons at 4x; capped', () => {
    expect(reportPenalty(flood('x', 3500))).toBe(20);
    expect(reportPenalty(flood('x', 7000))).toBe(40);
    expect(reportPenalty(flood('x', 1_000_000))).toBe(80);
    expect(reportPenalty(equivocation('x'))).toBe(600);
    const many: Report = { ...flood('x', 14000), reasons: Array.from({ length: 11 }, () => flood('x', 14000).reasons[0]!) };
    expect(reportPenalty(many)).toBe(DEFAULT_TRUST.maxPenaltyPerEpoch);
  });
});

describe('TrustScores', () => {
  it('penalises on evidence, recovers without it, stays within bounds', () => {
    const t = new TrustScores(V);
    const changes = t.applyEpoch([{ reporter: 'aa', report: equivocation('cc') }]);
    expect(changes).toEqual([{ subject: 'cc', before: 1000, after: 400, penalty: 600, reporters: ['aa'] }]);
    t.applyEpoch([{ reporter: 'aa', report: equivocation('cc', 2) }]);
    expect(t.score('cc')).toBe(0);
    t.applyEpoch([{ reporter: 'bb', report: equivocation('cc', 3) }]);
    expect(t.score('cc')).toBe(0);
    let prev = 0;
    for (let e = 0; e < 200; e++) {
      t.applyEpoch([]);
      expect(t.score('cc')).toBeGreaterThan(prev);
      prev = t.score('cc');
      if (prev === 1000) break;
    }
    expect(t.score('cc')).toBe(1000);
    t.applyEpoch([]);
    expect(t.score('cc')).toBe(1000);
  });

  it('ignores self-reports and counts one report per reporter per epoch', () => {
    const t = new TrustScores(V);
    t.applyEpoch([
      { reporter: 'cc', report: equivocation('cc') },
      { reporter: 'aa', report: flood('dd', 3500) },
      { reporter: 'aa', report: flood('dd', 3500) },
      { reporter: 'aa', report: flood('dd', 7000) },
    ]);
    expect(t.score('cc')).toBe(1000);
    expect(t.score('dd')).toBe(960);
  });

  it('with corroboration f+1, f lying reporters cannot move an honest validator', () => {
    const f = 2;
    const t = new TrustScores(V, { corroboration: f + 1 });
    const lies: Evidence[] = [
      { reporter: 'ee', report: equivocation('aa') },
      { reporter: 'ff', report: equivocation('aa') },
    ];
    expect(t.applyEpoch(lies)).toEqual([]);
    expect(t.score('aa')).toBe(1000);
    // f liars plus one honest reporter: the applied penalty is the (f+1)-th largest, the honest one's.
    t.applyEpoch([...lies, { reporter: 'bb', report: flood('aa', 3500) }]);
    expect(t.score('aa')).toBe(980);
  });

  it('is independent of the order of evidence', () => {
    const p = new Prng(5);
    const evidence: Evidence[] = [];
    for (let i = 0; i < 60; i++) evidence.push({ reporter: p.pick(V), report: flood(p.pick(V), 3500 + p.int(20000)) });
    const a = new TrustScores(V, { corroboration: 2 });
    const b = new TrustScores(V, { corroboration: 2 });
    const ca = a.applyEpoch(evidence);
    const cb = b.applyEpoch(p.shuffle([...evidence]));
    expect(cb).toEqual(ca);
    expect(b.snapshot()).toEqual(a.snapshot());
    expect(ca.length).toBeGreaterThan(0);
  });

  it('snapshot and restore', () => {
    const t = new TrustScores(V);
    t.applyEpoch([{ reporter: 'aa', report: flood('bb', 9000) }]);
    const r = TrustScores.restore(t.snapshot());
    expect(r.snapshot()).toEqual(t.snapshot());
    expect(() => TrustScores.restore([['aa', 5000]])).toThrow(SecurityError);
    expect(() => new TrustScores([], { min: 10, initial: 5 })).toThrow(SecurityError);
  });
});

describe('leaderOrder', () => {
  const scores: Record<string, number> = { aa: 900, bb: 1000, cc: 1000, dd: 100, ee: 300, ff: 800, '0a': 1000 };
  const of = (k: string): number => scores[k]!;

  it('orders by trust, ties by key, dropping at most f below the floor', () => {
    expect(leaderOrder(V, of, 0, 2)).toEqual(['0a', 'bb', 'cc', 'aa', 'ff', 'ee', 'dd']);
    expect(leaderOrder(V, of, 500, 2)).toEqual(['0a', 'bb', 'cc', 'aa', 'ff']);
    expect(leaderOrder(V, of, 500, 1)).toEqual(['0a', 'bb', 'cc', 'aa', 'ff', 'ee']);
    expect(leaderOrder(V, of, 2000, 2)).toEqual(['0a', 'bb', 'cc', 'aa', 'ff']);
    expect(leaderOrder(['bb', 'aa'], () => 0, 10, 1)).toEqual(['aa']);
    expect(leaderOrder(['aa'], () => 0, 10, 1)).toEqual(['aa']);
  });

  it('primaryForView cycles the order', () => {
    const order = leaderOrder(V, of, 500, 2);
    expect([0, 1, 5, 6].map((v) => primaryForView(v, order))).toEqual(['0a', 'bb', '0a', 'bb']);
    expect(() => primaryForView(0, [])).toThrow(SecurityError);
  });

  it('a validator caught equivocating stops leading after the epoch is applied', () => {
    const t = new TrustScores(V);
    t.applyEpoch([{ reporter: 'bb', report: equivocation('0a') }]);
    const order = leaderOrder(V, (k) => t.score(k), DEFAULT_TRUST.trustFloor, 2);
    expect(order).not.toContain('0a');
    expect(order[0]).toBe('aa');
  });
});
