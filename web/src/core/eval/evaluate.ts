// One evaluation: the seeded workload, the three architectures run on it one after another, the metrics.
import { PGlite } from '@electric-sql/pglite';
import type { Dataset, Trainer } from '../fl/index.ts';
import { ARCHITECTURES, type Architecture, type ArchitectureName } from './architecture.ts';
import { centralized } from './centralized.ts';
import { federated } from './federated.ts';
import { hygeia } from './hygeia.ts';
import { DELAY_MODEL } from './latency.ts';
import { computeMetrics, type ArchitectureDetails, type ArchitectureMetrics } from './metrics.ts';
import { PAPER_QUOTED } from './paper.ts';
import { generateWorkload, workloadDigest, type WorkloadSize } from './workload.ts';

export interface EvaluationResult {
  seed: number;
  workload: { digest: string; clinics: number; patients: number; accessAttempts: number; tamperAttempts: number; updates: number; flRounds: number };
  architectures: Record<ArchitectureName, ArchitectureMetrics>;
  paper: typeof PAPER_QUOTED;
  /** Per-kind counts behind each rate, the delay model, the FL task, how long each architecture took. */
  details: {
    quick: boolean;
    delayModel: string;
    fl: { attack: string; attackers: number; clients: number };
    architectures: Record<ArchitectureName, ArchitectureDetails & { elapsedMs: number }>;
  };
}

export interface EvaluationOptions {
  readonly seed: number;
  readonly quick: boolean;
  readonly bundles: readonly unknown[];
  readonly flData: Dataset;
  readonly trainer: Trainer;
  readonly progress: (message: string) => void;
  readonly dbPrefix: string;
  readonly size?: WorkloadSize;
}

const ADAPTERS: Record<ArchitectureName, Architecture> = { centralized, federated, hygeia };

export async function runEvaluation(o: EvaluationOptions): Promise<EvaluationResult> {
  const w = generateWorkload({ seed: o.seed, quick: o.quick, bundles: o.bundles, ...(o.size ? { size: o.size } : {}) });
  const digest = workloadDigest(w);
  o.progress(
    `workload ${digest.slice(0, 16)}…: ${w.clinics.length} clinics, ${w.patients.length} patients, ${w.access.length} access attempts, ${w.tamper.length} tamper attempts, ${w.updates.length} updates, ${w.fl.rounds} FL rounds (${w.fl.attack})`,
  );
  const architectures = {} as Record<ArchitectureName, ArchitectureMetrics>;
  const details = {} as Record<ArchitectureName, ArchitectureDetails & { elapsedMs: number }>;
  const engine: { pg: Promise<PGlite> | null } = { pg: null };
  const postgres = (): Promise<PGlite> => (engine.pg ??= PGlite.create());
  try {
    for (const name of ARCHITECTURES) {
      const t0 = performance.now();
      const run = await ADAPTERS[name].run(w, { progress: o.progress, flData: o.flData, trainer: o.trainer, dbPrefix: `${o.dbPrefix}-${name}`, postgres });
      const m = computeMetrics(w, run);
      architectures[name] = m.metrics;
      details[name] = { ...m.details, elapsedMs: Math.round(performance.now() - t0) };
      o.progress(`${name} done in ${(details[name].elapsedMs / 1000).toFixed(1)} s`);
    }
  } finally {
    if (engine.pg !== null) await (await engine.pg).close();
  }
  return {
    seed: o.seed,
    workload: {
      digest,
      clinics: w.clinics.length,
      patients: w.patients.length,
      accessAttempts: w.access.length,
      tamperAttempts: w.tamper.length,
      updates: w.updates.length,
      flRounds: w.fl.rounds,
    },
    architectures,
    paper: PAPER_QUOTED,
    details: { quick: o.quick, delayModel: DELAY_MODEL, fl: { attack: w.fl.attack, attackers: w.fl.attackers, clients: w.fl.clients }, architectures: details },
  };
}
