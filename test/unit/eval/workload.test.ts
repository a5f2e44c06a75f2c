// The evaluation's workload and metric definitions: the seed decides the workload (and its digest), every
// patient is valid FHIR R4 with its references resolved, every attack kind is in a quick run, and the rates
// follow the README's definitions.
import { describe, expect, it } from 'vitest';
import { syntheaBundles } from '../records/synthea.ts';
import { validateExchange } from '../../../web/src/core/records/index.ts';
import {
  computeMetrics,
  generateWorkload,
  percentile,
  workloadDigest,
  MetricsError,
  TAMPER_KINDS,
  UNAUTHORIZED_KINDS,
  WorkloadError,
  type ArchitectureRun,
} from '../../../web/src/core/eval/index.ts';
import { useCore } from '../shared/core.ts';

const bundles = syntheaBundles();

useCore();

describe('workload', () => {
  it('same seed, same workload and digest; another seed, another', () => {
    const a = generateWorkload({ seed: 5, quick: true, bundles });
    const b = generateWorkload({ seed: 5, quick: true, bundles });
    const c = generateWorkload({ seed: 6, quick: true, bundles });
    expect(workloadDigest(a)).toBe(workloadDigest(b));
    expect(workloadDigest(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(workloadDigest(c)).not.toBe(workloadDigest(a));
    expect(c.access.map((x) => x.kind)).not.toEqual(a.access.map((x) => x.kind));
  });

  it('a quick workload has at least 100 access and 50 tamper attempts, every kind, and labels that match', () => {
    const w = generateWorkload({ seed: 1, quick: true, bundles });
    expect(w.access.length).toBeGreaterThanOrEqual(100);
    expect(w.tamper.length).toBeGreaterThanOrEqual(50);
    expect(new Set(w.access.map((x) => x.kind))).toEqual(new Set(['consented', 'emergency', ...UNAUTHORIZED_KINDS]));
    expect(new Set(w.tamper.map((x) => x.kind))).toEqual(new Set(TAMPER_KINDS));
    for (const a of w.access) {
      expect(a.label).toBe(a.kind === 'consented' || a.kind === 'emergency' ? 'legitimate' : 'unauthorized');
      if (a.kind === 'emergency') expect(w.emergencyPartners[a.holder]).toContain(a.requester);
      if (a.kind === 'break-glass-abuse') expect(w.emergencyPartners[a.holder]).not.toContain(a.requester);
      if (a.kind === 'replayed-credentials') expect(w.access.find((x) => x.id === a.replayOf)?.kind).toBe('consented');
      if (a.kind === 'wrong-resource-type' && a.consent.state !== 'none')
        expect(a.resourceTypes.some((t) => a.consent.state !== 'none' && a.consent.resourceTypes.includes(t))).toBe(false);
    }
  });

  it('every patient, Synthea or derived, is a valid FHIR R4 bundle with every reference resolved', async () => {
    const w = generateWorkload({ seed: 2, quick: true, bundles });
    expect(w.patients.filter((p) => p.derived).length).toBeGreaterThan(0);
    const ids = new Set(w.patients.map((p) => p.patientId));
    expect(ids.size).toBe(w.patients.length);
    for (const p of w.patients) {
      const report = await validateExchange(p.bundle.entry!.map((e) => e.resource));
      expect(report.invalid).toEqual([]);
      expect(report.unresolved).toEqual([]);
    }
  }, 60_000);

  it('refuses to build patients from nothing', () => {
    expect(() => generateWorkload({ seed: 1, quick: true, bundles: [] })).toThrow(WorkloadError);
  });
});

describe('metrics', () => {
  const w = generateWorkload({ seed: 1, quick: true, bundles, size: { clinics: 4, patients: 3, access: 20, tamper: 8, updates: 4, flRounds: 1 } });
  const run = (leak: (id: string) => boolean): ArchitectureRun => ({
    access: w.access.map((a) => ({ id: a.id, obtained: a.label === 'legitimate' || leak(a.id), event: true, reason: '' })),
    tamper: w.tamper.map((t, i) => ({ id: t.id, kind: t.kind, detected: i % 2 === 0 })),
    exchanges: [
      { id: 'x', resources: 3, valid: true },
      { id: 'y', resources: 1, valid: false },
    ],
    audit: [
      { id: 'a', reconstructed: true },
      { id: 'b', reconstructed: true },
      { id: 'c', reconstructed: false },
      { id: 'd', reconstructed: true },
    ],
    latencyMs: [10, 20, 30, 40],
    fl: { accuracy: 0.9, auc: 0.95, rule: 'fedavg', attack: 'sign-flip' },
  });

  it('applies the definitions', () => {
    const unauthorized = w.access.filter((a) => a.label === 'unauthorized');
    const leaked = new Set(unauthorized.slice(0, 3).map((a) => a.id));
    const { metrics, details } = computeMetrics(
      w,
      run((id) => leaked.has(id)),
    );
    expect(metrics.unauthorizedAccess).toBeCloseTo(3 / unauthorized.length);
    expect(metrics.integrity).toBe(0.5);
    expect(metrics.interoperability).toBe(0.5);
    expect(metrics.audit).toBe(0.75);
    expect(metrics.latencyMs).toEqual({ p50: 20, p95: 40 });
    expect(details.legitimateServed).toBe(details.legitimateAttempts);
    expect(metrics.flAccuracy).toBe(0.9);
  });

  it('refuses a run that left attempts out', () => {
    const r = run(() => false);
    expect(() => computeMetrics(w, { ...r, access: r.access.slice(1) })).toThrow(MetricsError);
  });

  it('percentile by nearest rank', () => {
    expect(percentile([5, 1, 3], 50)).toBe(3);
    expect(percentile([], 95)).toBe(0);
    expect(
      percentile(
        Array.from({ length: 100 }, (_, i) => i + 1),
        95,
      ),
    ).toBe(95);
  });
});
