// The table's definitions, applied alike to every architecture (README.md in this folder states them):
// integrity = tampering attempts detected / attempts; unauthorized access = unauthorized attempts that
// obtained data / unauthorized attempts; interoperability = exchanges valid FHIR R4 with every reference
// resolved / exchanges; audit = access events reconstructed and verified after the insider's edits / events;
// latency = update to committed-and-visible-everywhere, p50 and p95; model accuracy and AUC under poisoning.
import type { ArchitectureRun } from './architecture.ts';
import type { Workload } from './workload.ts';

export interface ArchitectureMetrics {
  integrity: number;
  unauthorizedAccess: number;
  interoperability: number;
  audit: number;
  latencyMs: { p50: number; p95: number };
  flAccuracy: number | null;
  flAuc: number | null;
}

export interface ArchitectureDetails {
  /** Per access kind: attempts and how many obtained data. */
  access: Record<string, { attempts: number; obtained: number }>;
  /** Per tamper kind: attempts and how many were detected. */
  tamper: Record<string, { attempts: number; detected: number }>;
  /** Legitimate attempts that obtained data (a measurement that can see a success). */
  legitimateServed: number;
  legitimateAttempts: number;
  exchanges: number;
  auditEvents: number;
  updates: number;
  flRule: string | null;
}

export class MetricsError extends Error {
  override readonly name = 'MetricsError';
}

const rate = (num: number, den: number): number => (den === 0 ? 0 : num / den);

/** The p-th percentile (0..100) by nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

export function computeMetrics(w: Workload, run: ArchitectureRun): { metrics: ArchitectureMetrics; details: ArchitectureDetails } {
  const byId = new Map(w.access.map((a) => [a.id, a]));
  if (run.access.length !== w.access.length) throw new MetricsError(`the run reports ${run.access.length} of ${w.access.length} access attempts`);
  if (run.tamper.length !== w.tamper.length) throw new MetricsError(`the run reports ${run.tamper.length} of ${w.tamper.length} tamper attempts`);
  const access: ArchitectureDetails['access'] = {};
  let unauthorized = 0;
  let leaked = 0;
  let legit = 0;
  let served = 0;
  for (const o of run.access) {
    const a = byId.get(o.id);
    if (a === undefined) throw new MetricsError(`an outcome for an unknown attempt ${o.id}`);
    const k = (access[a.kind] ??= { attempts: 0, obtained: 0 });
    k.attempts++;
    if (o.obtained) k.obtained++;
    if (a.label === 'unauthorized') {
      unauthorized++;
      if (o.obtained) leaked++;
    } else {
      legit++;
      if (o.obtained) served++;
    }
  }
  const tamper: ArchitectureDetails['tamper'] = {};
  for (const t of run.tamper) {
    const k = (tamper[t.kind] ??= { attempts: 0, detected: 0 });
    k.attempts++;
    if (t.detected) k.detected++;
  }
  const metrics: ArchitectureMetrics = {
    integrity: rate(run.tamper.filter((t) => t.detected).length, run.tamper.length),
    unauthorizedAccess: rate(leaked, unauthorized),
    interoperability: rate(run.exchanges.filter((e) => e.valid).length, run.exchanges.length),
    audit: rate(run.audit.filter((e) => e.reconstructed).length, run.audit.length),
    latencyMs: { p50: round(percentile(run.latencyMs, 50)), p95: round(percentile(run.latencyMs, 95)) },
    flAccuracy: run.fl?.accuracy ?? null,
    flAuc: run.fl?.auc ?? null,
  };
  const details: ArchitectureDetails = {
    access,
    tamper,
    legitimateServed: served,
    legitimateAttempts: legit,
    exchanges: run.exchanges.length,
    auditEvents: run.audit.length,
    updates: run.latencyMs.length,
    flRule: run.fl?.rule ?? null,
  };
  return { metrics, details };
}

const round = (v: number): number => Math.round(v * 10) / 10;
