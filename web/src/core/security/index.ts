// The AI security layer: anomaly detection over access and network behaviour and over each FL round's
// updates, reports that name their reasons, the trust rule the contracts apply to corroborated reports, and
// the leader order PBFT derives from trust. Framework-free, deterministic and integer-valued, so every node
// computes the same verdicts and scores.
export { AccessMonitor, ACCESS_FEATURES } from './access.ts';
export type { AccessEvent, AccessMonitorOptions } from './access.ts';
export { NetworkMonitor, NETWORK_FEATURES } from './network.ts';
export type { NetworkEvent, NetworkEventKind, NetworkMonitorOptions } from './network.ts';
export { updateOutliers, quantizeNorm, COSINE_OFFSET } from './updates.ts';
export type { RoundUpdate, UpdateOutlierOptions } from './updates.ts';
export { WindowedDetector, SecurityError, DEFAULT_DETECTOR } from './detector.ts';
export type { DetectorOptions, FeatureSpec } from './detector.ts';
export { FEATURES, REPORT_KINDS, KIND_FEATURES, reasonText, parseReasonText, sortReasons } from './report.ts';
export type { Feature, Reason, Report, ReportKind } from './report.ts';
export { TRUST_RULE, DAY_MS, reasonsPenalty, corroboratedPenalty, recoverTrust, leaderOrder, primaryForView } from './trust.ts';
export type { TrustRule } from './trust.ts';
export { describeReason, displayValue } from './explain.ts';
export { exactLn } from './exact-ln.ts';
export { SecurityService, trustVector } from './service.ts';
export type { SecurityAlert, SecurityServiceOptions, TrustPoint } from './service.ts';
export { median, mad, baselineOf, robustZMilli, History } from './robust.ts';
export type { Baseline } from './robust.ts';
