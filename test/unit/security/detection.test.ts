// Anomaly detection on seeded synthetic streams: injected anomalies are flagged with the right reasons,
// normal behaviour mostly is not (the false-positive rates are asserted under a bound), and the verdicts
// are deterministic and survive the canonical encoding.
import { describe, expect, it } from 'vitest';
import { AccessMonitor, NetworkMonitor, SecurityError, parseReasonText, reasonText, updateOutliers, type Report } from '../../../web/src/core/security/index.ts';
import { Prng } from '../../../web/src/core/util/index.ts';
import { DAY, accessStream, gauss, networkStream, type Injected } from './streams.ts';

/** Every report a monitor makes over `events`, then on flush. */
function reportsOf<E>(monitor: { observe(e: E): Report[]; flush(): Report[] }, events: readonly E[]): Report[] {
  const reports: Report[] = [];
  for (const e of events) reports.push(...monitor.observe(e));
  reports.push(...monitor.flush());
  return reports;
}

function runAccess(seed: number, attacks = true): { reports: Report[]; stream: ReturnType<typeof accessStream> } {
  const stream = accessStream(seed, 40, 40, attacks);
  return { reports: reportsOf(new AccessMonitor(), stream.events), stream };
}

function runNetwork(seed: number, attacks = true): { reports: Report[]; stream: ReturnType<typeof networkStream> } {
  const stream = networkStream(seed, 10, 120, attacks);
  return { reports: reportsOf(new NetworkMonitor(), stream.events), stream };
}

/** Each of the `count` anomalies injected into the stream is reported in its window with its expected reason. */
function expectInjectedFlagged(reports: Report[], injected: readonly Injected[], count: number): void {
  expect(injected.length).toBe(count);
  for (const inj of injected) {
    const r = reports.find((x) => x.subject === inj.subject && x.window === inj.window);
    expect(r, `${inj.subject} in window ${inj.window}`).toBeDefined();
    expect(r!.reasons.map((x) => x.feature)).toContain(inj.expect);
    expect(r!.severity).toBe(r!.reasons[0]!.score);
  }
}

/**
 * Normal `subject/window` pairs from window `warmup` on (the subjects' warm-up left out): more than 1000 of
 * them, and under `bound` of those flagged.
 */
function expectFewFalsePositives(reports: Report[], normal: Set<string>, warmup: number, bound: number): void {
  const flagged = new Set(reports.map((r) => `${r.subject}/${r.window}`));
  let fp = 0;
  let total = 0;
  for (const key of normal) {
    if (Number(key.split('/')[1]) < warmup) continue;
    total++;
    if (flagged.has(key)) fp++;
  }
  expect(total).toBeGreaterThan(1000);
  expect(fp / total).toBeLessThan(bound);
}

describe('access behaviour', () => {
  const seeds = [1, 2, 3];

  it.each(seeds)('flags every injected anomaly with its reason (seed %i)', (seed) => {
    const { reports, stream } = runAccess(seed);
    expectInjectedFlagged(reports, stream.injected, 5);
    const snooper = reports.find((r) => r.subject === 'clin-03' && r.window === 31)!;
    expect(snooper.reasons[0]!.feature === 'patientBreadth' || snooper.reasons[0]!.feature === 'requestRate').toBe(true);
    const glass = reports.find((r) => r.subject === 'clin-11' && r.window === 33)!;
    expect(glass.reasons.find((r) => r.feature === 'breakGlass')!.hard).toBe(true);
    const intruder = reports.find((r) => r.subject === 'intruder')!;
    expect(intruder.reasons.map((r) => r.feature)).toEqual(expect.arrayContaining(['patientBreadth', 'requestRate', 'offHoursShare', 'denialRatio']));
  });

  it.each(seeds)('rarely flags normal clinician-days (seed %i)', (seed) => {
    const { reports, stream } = runAccess(seed, false);
    expectFewFalsePositives(reports, stream.normalDays, 7, 0.01);
  });

  it('is deterministic: the same stream gives the same reports', () => {
    const a = runAccess(7).reports.map((r) => JSON.stringify(r));
    const b = runAccess(7).reports.map((r) => JSON.stringify(r));
    expect(a.length).toBeGreaterThan(0);
    expect(b).toEqual(a);
  });

  it('reports have a canonical text form for the ledger', () => {
    for (const r of runAccess(4).reports) for (const reason of r.reasons) expect(parseReasonText(reasonText(reason))).toEqual(reason);
  });

  it('counts off hours in the clinic local time', () => {
    const m = new AccessMonitor({ workingHours: [8, 17], utcOffsetMinutes: 120 });
    expect(m.isOffHours(6 * 3_600_000)).toBe(false); // 08:00 local
    expect(m.isOffHours(5 * 3_600_000)).toBe(true); // 07:00 local
    expect(m.isOffHours(15 * 3_600_000)).toBe(true); // 17:00 local
    expect(() => new AccessMonitor({ workingHours: [18, 8] })).toThrow(SecurityError);
  });

  it('rejects malformed events with a typed error', () => {
    const m = new AccessMonitor();
    expect(() => m.observe({ time: -1, requester: 'a', patient: 'p', granted: true, breakGlass: false })).toThrow(SecurityError);
    expect(() => m.observe({ time: 1.5, requester: 'a', patient: 'p', granted: true, breakGlass: false })).toThrow(SecurityError);
    expect(() => m.observe({ time: 1, requester: '', patient: 'p', granted: true, breakGlass: false })).toThrow(SecurityError);
  });

  it('closes a quiet window on a clock tick', () => {
    const m = new AccessMonitor();
    for (let k = 0; k < 7; k++) m.observe({ time: k, requester: 'a', patient: `p${k}`, granted: true, breakGlass: true });
    const out = m.advanceTo(DAY + 1);
    expect(out.map((r) => [r.subject, r.window, r.reasons[0]!.feature])).toEqual([['a', 0, 'breakGlass']]);
  });
});

describe('network behaviour', () => {
  const seeds = [1, 2, 3];

  it.each(seeds)('flags floods, forged signatures, equivocation and rejected floods (seed %i)', (seed) => {
    const { reports, stream } = runNetwork(seed);
    expectInjectedFlagged(reports, stream.injected, 4);
    const eq = reports.find((r) => r.reasons.some((x) => x.feature === 'equivocations'))!;
    expect(eq.reasons[0]!.hard).toBe(true);
  });

  it.each(seeds)('does not flag normal peers, nor a peer that joins late (seed %i)', (seed) => {
    const { reports, stream } = runNetwork(seed, false);
    expectFewFalsePositives(reports, stream.normalWindows, 5, 0.005);
    expect(reports.filter((r) => r.subject === 'late-joiner')).toEqual([]);
  });

  it('rejects an unknown event kind and a bad count', () => {
    const m = new NetworkMonitor();
    expect(() => m.observe({ time: 0, peer: 'x', kind: 'nonsense' as 'message' })).toThrow(SecurityError);
    expect(() => m.observe({ time: 0, peer: 'x', kind: 'message', count: 0 })).toThrow(SecurityError);
  });
});

describe('FL update outliers', () => {
  /** Honest deltas: a shared direction plus per-client variation (non-IID), norms near 1. */
  function round(p: Prng, n: number, dim = 31): { subject: string; delta: Float32Array }[] {
    const shared = Float32Array.from({ length: dim }, () => gauss(p));
    return Array.from({ length: n }, (_, i) => {
      const delta = Float32Array.from(shared, (v) => v + 0.6 * gauss(p));
      let norm = 0;
      for (const v of delta) norm += v * v;
      const scale = (1 + 0.08 * gauss(p)) / Math.sqrt(norm);
      return { subject: `client${String(i).padStart(2, '0')}`, delta: delta.map((v) => v * scale) };
    });
  }

  it('flags a scaled update (norm high), an empty one (norm low) and a flipped one (direction), not the honest ones', () => {
    const p = new Prng(11);
    const updates = round(p, 12);
    updates[3] = { subject: 'client03', delta: updates[3]!.delta.map((v) => v * 100) };
    updates[8] = { subject: 'client08', delta: new Float32Array(31) };
    updates[10] = { subject: 'client10', delta: updates[10]!.delta.map((v) => -v) };
    const reports = updateOutliers(5, updates);
    expect(reports.map((r) => [r.subject, r.reasons[0]!.feature])).toEqual([
      ['client03', 'updateNormHigh'],
      ['client08', 'updateNormLow'],
      ['client10', 'updateDirection'],
    ]);
    expect(reports.every((r) => r.window === 5 && r.kind === 'fl-update')).toBe(true);
    expect(reports[2]!.reasons[0]!.value).toBeLessThan(1000); // a negative cosine, offset by 1000
  });

  it('does not depend on the order of updates', () => {
    const p = new Prng(12);
    const updates = round(p, 10);
    updates[0] = { subject: 'client00', delta: updates[0]!.delta.map((v) => v * 50) };
    const a = updateOutliers(1, updates).map((r) => JSON.stringify(r));
    const b = updateOutliers(1, new Prng(3).shuffle([...updates])).map((r) => JSON.stringify(r));
    expect(a.length).toBe(1);
    expect(b).toEqual(a);
  });

  it('rarely flags honest rounds', () => {
    const p = new Prng(13);
    let flagged = 0;
    let total = 0;
    for (let r = 0; r < 300; r++) {
      const updates = round(p, 12);
      total += updates.length;
      flagged += updateOutliers(r, updates).length;
    }
    expect(flagged / total).toBeLessThan(0.01);
  });

  it('needs enough updates, equal lengths and finite values', () => {
    const one = Float32Array.of(1, 0);
    expect(
      updateOutliers(0, [
        { subject: 'a', delta: one },
        { subject: 'b', delta: one.map((v) => v * 100) },
      ]),
    ).toEqual([]);
    const four = ['a', 'b', 'c', 'd'].map((subject) => ({ subject, delta: one }));
    expect(() => updateOutliers(0, [...four, { subject: 'e', delta: Float32Array.of(Number.NaN, 0) }])).toThrow(SecurityError);
    expect(() => updateOutliers(0, [...four, { subject: 'e', delta: Float32Array.of(1) }])).toThrow(SecurityError);
  });
});
