// Anomaly detection over network behaviour, per peer and window (default one minute): invalid signatures,
// equivocations, message volume, rejected messages; and, per FL round, updates whose norm is an outlier
// among that round's updates (robust z-score across the round).
import { WindowedDetector, SecurityError, checkInt, type DetectorOptions, type FeatureSpec } from './detector.ts';
import { baselineOf, robustZMilli } from './robust.ts';
import type { Feature, Reason, Report } from './report.ts';

export type NetworkEventKind = 'message' | 'invalid-signature' | 'equivocation' | 'rejected';

export interface NetworkEvent {
  time: number;
  /** The peer's public key hex. */
  peer: string;
  kind: NetworkEventKind;
  /** How many (default 1): adapters may batch counts. */
  count?: number;
}

export interface NetworkMonitorOptions extends Partial<DetectorOptions> {
  features?: Partial<Record<Feature, Partial<Omit<FeatureSpec, 'feature'>>>>;
}

export const NETWORK_FEATURES: readonly FeatureSpec[] = [
  // A valid signature cannot turn invalid on an authenticated channel: a few are evidence of forgery.
  { feature: 'invalidSignatures', floor: 1, quiet: 2, hard: 3 },
  // Two conflicting signed messages for one slot are proof of a Byzantine peer.
  { feature: 'equivocations', floor: 1, hard: 1 },
  { feature: 'messageRate', floor: 20 },
  { feature: 'rejectedMessages', floor: 3, quiet: 5 },
];

interface Acc {
  messages: number;
  invalid: number;
  equivocations: number;
  rejected: number;
}

export class NetworkMonitor {
  private readonly detector: WindowedDetector<Acc>;

  constructor(options: NetworkMonitorOptions = {}) {
    const specs = NETWORK_FEATURES.map((s) => ({ ...s, ...options.features?.[s.feature] }));
    this.detector = new WindowedDetector<Acc>(
      'network',
      specs,
      { windowMs: 60_000, ...options },
      () => ({ messages: 0, invalid: 0, equivocations: 0, rejected: 0 }),
      (a) =>
        new Map<Feature, number>([
          ['invalidSignatures', a.invalid],
          ['equivocations', a.equivocations],
          ['messageRate', a.messages],
          ['rejectedMessages', a.rejected],
        ]),
    );
  }

  observe(e: NetworkEvent): Report[] {
    const n = e.count ?? 1;
    checkInt('count', n, 1, 1 << 30);
    if (typeof e.peer !== 'string' || e.peer.length === 0) throw new SecurityError('badEvent', 'peer is required');
    return this.detector.record(e.peer, e.time, (a) => {
      switch (e.kind) {
        case 'message':
          a.messages += n;
          break;
        case 'invalid-signature':
          a.invalid += n;
          break;
        case 'equivocation':
          a.equivocations += n;
          break;
        case 'rejected':
          a.rejected += n;
          break;
        default:
          throw new SecurityError('badEvent', 'unknown network event kind');
      }
    });
  }

  advanceTo(time: number): Report[] {
    return this.detector.advanceTo(time);
  }

  flush(): Report[] {
    return this.detector.flush();
  }
}

export interface UpdateNorm {
  /** The client's public key hex. */
  peer: string;
  /** The L2 norm of its update (any non-negative finite number). */
  norm: number;
}

export interface UpdateOutlierOptions {
  /** Milli z-score threshold (default 3500). */
  thresholdMilli?: number;
  /** Smallest spread, as permille of the median norm (default 50 = 5%): equal honest norms do not alert. */
  floorPermille?: number;
  /** Fewest updates in a round to judge it (default 4). */
  minUpdates?: number;
}

/** Norms are compared as integers in micro-units, so every node gets the same verdict. */
export function quantizeNorm(norm: number): number {
  if (!Number.isFinite(norm) || norm < 0) throw new SecurityError('badEvent', 'an update norm is a finite non-negative number');
  return Math.min(Math.round(norm * 1e6), 2 ** 40);
}

/**
 * Flags the updates of one FL round whose norm is a robust outlier among the round's updates (scaled or
 * boosted updates: updateNormHigh; empty or free-riding ones: updateNormLow). Sign flips and label flips keep
 * the norm; the aggregation rules, not this check, bound those.
 */
export function updateNormOutliers(round: number, updates: readonly UpdateNorm[], options: UpdateOutlierOptions = {}): Report[] {
  checkInt('round', round);
  const threshold = options.thresholdMilli ?? 3500;
  const minUpdates = options.minUpdates ?? 4;
  if (updates.length < minUpdates) return [];
  const values = updates.map((u) => quantizeNorm(u.norm));
  const probe = baselineOf(values, 1);
  const b = baselineOf(values, Math.max(1, Math.floor((probe.median * (options.floorPermille ?? 50)) / 1000)));
  const reports: Report[] = [];
  const order = updates.map((u, i) => ({ peer: u.peer, value: values[i]! })).sort((x, y) => (x.peer < y.peer ? -1 : x.peer > y.peer ? 1 : x.value - y.value));
  for (const { peer, value } of order) {
    const z = robustZMilli(value, b);
    if (Math.abs(z) < threshold) continue;
    const reason: Reason = {
      feature: z > 0 ? 'updateNormHigh' : 'updateNormLow',
      value,
      baseline: b.median,
      scale: b.scale,
      score: Math.abs(z),
      hard: false,
    };
    reports.push({ kind: 'fl-update', subject: peer, window: round, severity: reason.score, reasons: [reason] });
  }
  return reports;
}
