// The evaluation's face: the workload, the three architectures, the metrics and the report (see README.md).
export { runEvaluation } from './evaluate.ts';
export type { EvaluationOptions, EvaluationResult } from './evaluate.ts';
export { generateWorkload, workloadDigest, patientIdentifiers, QUICK_SIZE, FULL_SIZE, TAMPER_KINDS, LEGITIMATE_KINDS, UNAUTHORIZED_KINDS, WorkloadError } from './workload.ts';
export type { Workload, WorkloadSize, AccessAttempt, TamperAttempt, AccessKind, TamperKind, RecordUpdate } from './workload.ts';
export { computeMetrics, percentile, MetricsError } from './metrics.ts';
export type { ArchitectureMetrics, ArchitectureDetails } from './metrics.ts';
export { ARCHITECTURES } from './architecture.ts';
export type { Architecture, ArchitectureName, ArchitectureRun } from './architecture.ts';
export { PAPER_QUOTED } from './paper.ts';
export { tableText, chartSvg } from './report.ts';
export { runAttacks } from './attacks.ts';
export type { AttackReport, AttackCase } from './attacks.ts';
export { Consortium } from './consortium.ts';
