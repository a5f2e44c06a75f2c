// The AI security layer: anomaly detection over access and network behaviour, FL update outliers, signed
// reports that name their reasons, and trust scores derived from committed reports. Framework-free,
// deterministic and integer-valued, so every node computes the same verdicts and scores.
export { AccessMonitor, ACCESS_FEATURES } from './access.ts';
export type { AccessEvent, AccessMonitorOptions } from './access.ts';
export { NetworkMonitor, NETWORK_FEATURES, updateNormOutliers, quantizeNorm } from './network.ts';
export type { NetworkEvent, NetworkEventKind, NetworkMonitorOptions, UpdateNorm, UpdateOutlierOptions } from './network.ts';
export { WindowedDetector, SecurityError, DEFAULT_DETECTOR } from './detector.ts';
export type { DetectorOptions, FeatureSpec } from './detector.ts';
export { FEATURES, REPORT_KINDS, REPORT_TAG, encodeReport, decodeReport, writeReport, readReport, reportSigningBytes } from './report.ts';
export type { Feature, Reason, Report, ReportKind } from './report.ts';
export { TrustScores, DEFAULT_TRUST, reportPenalty, leaderOrder, primaryForView } from './trust.ts';
export type { Evidence, TrustChange, TrustOptions } from './trust.ts';
export { median, mad, baselineOf, robustZMilli, History } from './robust.ts';
export type { Baseline } from './robust.ts';
