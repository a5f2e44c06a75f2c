// Anomaly detection over access behaviour, per requester and window (default one day): how many requests,
// what share off hours, how many distinct patients, how many break-glass accesses, what share denied.
// Patients appear only as opaque identifiers (e.g. a hash) and only as a count of distinct ones.
import { WindowedDetector, SecurityError, checkInt, type DetectorOptions, type FeatureSpec } from './detector.ts';
import type { Feature, Report } from './report.ts';

export interface AccessEvent {
  /** Event time, ms since the epoch (the block's agreed time when replayed from the ledger). */
  time: number;
  /** Who asked (a practitioner or organisation id / key hex). */
  requester: string;
  /** An opaque patient reference (a hash or pseudonym), only counted. */
  patient: string;
  granted: boolean;
  breakGlass: boolean;
}

export interface AccessMonitorOptions extends Partial<DetectorOptions> {
  /** Working hours [startHour, endHour) in local time; outside is off hours. Default [7, 19). */
  workingHours?: readonly [number, number];
  /** Local time = UTC + this many minutes. Default 0. */
  utcOffsetMinutes?: number;
  /** Fewest requests in a window for the shares (off hours, denials) to be judged: small days are noisy. Default 8. */
  minRequestsForShares?: number;
  /** Per-feature overrides of floors and hard limits. */
  features?: Partial<Record<Feature, Partial<Omit<FeatureSpec, 'feature'>>>>;
}

const DAY = 86_400_000;

/** Floors are in feature units: requests, permille, patients, break-glass events, permille. */
export const ACCESS_FEATURES: readonly FeatureSpec[] = [
  { feature: 'requestRate', floor: 4 },
  { feature: 'offHoursShare', floor: 60, quiet: 250 },
  { feature: 'patientBreadth', floor: 4 },
  { feature: 'breakGlass', floor: 1, quiet: 1, hard: 4 },
  { feature: 'denialRatio', floor: 60, quiet: 200 },
];

interface Acc {
  requests: number;
  offHours: number;
  denied: number;
  breakGlass: number;
  patients: Set<string>;
}

export class AccessMonitor {
  private readonly detector: WindowedDetector<Acc>;
  private readonly start: number;
  private readonly end: number;
  private readonly offset: number;

  constructor(options: AccessMonitorOptions = {}) {
    const [start, end] = options.workingHours ?? [7, 19];
    if (!(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start < end && end <= 24))
      throw new SecurityError('badOptions', 'workingHours must be integers 0 <= start < end <= 24');
    this.start = start;
    this.end = end;
    this.offset = options.utcOffsetMinutes ?? 0;
    checkInt('utcOffsetMinutes', this.offset, -14 * 60, 14 * 60);
    const minShares = options.minRequestsForShares ?? 8;
    checkInt('minRequestsForShares', minShares, 1);
    const specs = ACCESS_FEATURES.map((s) => ({ ...s, ...options.features?.[s.feature] }));
    this.detector = new WindowedDetector<Acc>(
      'access',
      specs,
      { windowMs: DAY, ...options },
      () => ({ requests: 0, offHours: 0, denied: 0, breakGlass: 0, patients: new Set() }),
      (a) => {
        const values = new Map<Feature, number>([
          ['requestRate', a.requests],
          ['patientBreadth', a.patients.size],
          ['breakGlass', a.breakGlass],
        ]);
        if (a.requests >= minShares) {
          values.set('offHoursShare', Math.floor((a.offHours * 1000) / a.requests));
          values.set('denialRatio', Math.floor((a.denied * 1000) / a.requests));
        }
        return values;
      },
    );
  }

  /** Is `time` outside working hours (local time of the clinic)? */
  isOffHours(time: number): boolean {
    const minutes = Math.floor(time / 60_000) + this.offset;
    const hour = Math.floor((((minutes % 1440) + 1440) % 1440) / 60);
    return hour < this.start || hour >= this.end;
  }

  /** Records one access decision; returns reports for windows it closed. */
  observe(e: AccessEvent): Report[] {
    if (typeof e.requester !== 'string' || e.requester.length === 0) throw new SecurityError('badEvent', 'requester is required');
    const off = this.isOffHours(e.time);
    return this.detector.record(e.requester, e.time, (a) => {
      a.requests++;
      if (off) a.offHours++;
      if (!e.granted) a.denied++;
      if (e.breakGlass) a.breakGlass++;
      a.patients.add(e.patient);
    });
  }

  /** Closes the window containing `time` if it has passed (call on a clock tick with no events). */
  advanceTo(time: number): Report[] {
    return this.detector.advanceTo(time);
  }

  flush(): Report[] {
    return this.detector.flush();
  }
}
