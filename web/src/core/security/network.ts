// Anomaly detection over network behaviour, per peer and window (default one minute): invalid signatures,
// equivocations, message volume, rejected messages.
import { WindowedDetector, SecurityError, checkInt, type DetectorOptions, type FeatureSpec } from './detector.ts';
import type { Feature, Report } from './report.ts';

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

/** One peer's window: how many events of each kind. */
type Acc = Record<NetworkEventKind, number>;

export class NetworkMonitor {
  private readonly detector: WindowedDetector<Acc>;

  constructor(options: NetworkMonitorOptions = {}) {
    const specs = NETWORK_FEATURES.map((s) => ({ ...s, ...options.features?.[s.feature] }));
    this.detector = new WindowedDetector<Acc>(
      'network',
      specs,
      { windowMs: 60_000, ...options },
      () => ({ message: 0, 'invalid-signature': 0, equivocation: 0, rejected: 0 }),
      (a) =>
        new Map<Feature, number>([
          ['invalidSignatures', a['invalid-signature']],
          ['equivocations', a.equivocation],
          ['messageRate', a.message],
          ['rejectedMessages', a.rejected],
        ]),
    );
  }

  observe(e: NetworkEvent): Report[] {
    const n = e.count ?? 1;
    checkInt('count', n, 1, 1 << 30);
    if (typeof e.peer !== 'string' || e.peer.length === 0) throw new SecurityError('badEvent', 'peer is required');
    return this.detector.record(e.peer, e.time, (a) => {
      if (!Object.hasOwn(a, e.kind)) throw new SecurityError('badEvent', 'unknown network event kind');
      a[e.kind] += n;
    });
  }

  advanceTo(time: number): Report[] {
    return this.detector.advanceTo(time);
  }

  flush(): Report[] {
    return this.detector.flush();
  }
}
