// The engine both monitors share: per-subject accumulators over tumbling windows of event time, one robust
// baseline per (subject, feature) from the subject's own recent windows (or, while it has too few, from the
// population of other subjects), and a verdict per window that names the features that drove it.
// Deterministic: the same event sequence gives the same reports, byte for byte.
import { History, baselineOf, robustZMilli, median, type Baseline } from './robust.ts';
import { sortReasons, type Feature, type Reason, type Report, type ReportKind } from './report.ts';

export interface FeatureSpec {
  feature: Feature;
  /** The smallest spread a deviation is measured against (feature units): keeps a quiet series from alerting on noise. */
  floor: number;
  /** A value at or above which the feature alerts whatever the baseline (evidence, not statistics). */
  hard?: number;
  /** Values at or below this never alert statistically (e.g. one break-glass in a window). */
  quiet?: number;
}

export interface DetectorOptions {
  /** Window length in the events' time unit (ms). */
  windowMs: number;
  /** Windows of own history kept per subject. */
  historyWindows: number;
  /** Own windows needed before the own baseline replaces the population baseline. */
  minHistory: number;
  /** Other subjects (each with minHistory windows) needed for a population baseline. */
  minPopulation: number;
  /** Milli z-score at or above which a feature alerts (3500 = 3.5). */
  thresholdMilli: number;
}

export const DEFAULT_DETECTOR: Omit<DetectorOptions, 'windowMs'> = {
  historyWindows: 21,
  minHistory: 5,
  minPopulation: 3,
  thresholdMilli: 3500,
};

export class SecurityError extends Error {
  override readonly name = 'SecurityError';
  constructor(
    readonly code: 'badOptions' | 'badEvent',
    detail: string,
  ) {
    super(`${code}: ${detail}`);
  }
}

export function checkInt(name: string, v: number, min = 0, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isSafeInteger(v) || v < min || v > max) throw new SecurityError('badEvent', `${name} must be an integer in ${min}..${max}`);
}

export class WindowedDetector<A> {
  private current: number | null = null;
  private readonly acc = new Map<string, A>();
  private readonly history = new Map<string, Map<Feature, History>>();
  readonly options: DetectorOptions;

  constructor(
    private readonly kind: ReportKind,
    private readonly specs: readonly FeatureSpec[],
    options: Partial<DetectorOptions> & { windowMs: number },
    private readonly fresh: () => A,
    private readonly extract: (acc: A) => Map<Feature, number>,
  ) {
    this.options = { ...DEFAULT_DETECTOR, ...options };
    const o = this.options;
    if (!(o.windowMs > 0) || o.minHistory < 1 || o.historyWindows < o.minHistory || o.thresholdMilli < 1)
      throw new SecurityError('badOptions', 'windowMs > 0, 1 <= minHistory <= historyWindows, thresholdMilli >= 1');
  }

  /**
   * Adds one event of `subject` at `time` (events arrive in time order; a late one counts in the current
   * window). Returns the reports of the windows this event closed.
   */
  record(subject: string, time: number, update: (acc: A) => void): Report[] {
    checkInt('time', time);
    const reports = this.advanceTo(time);
    let a = this.acc.get(subject);
    if (!a) {
      a = this.fresh();
      this.acc.set(subject, a);
    }
    update(a);
    return reports;
  }

  /** Closes the current window if `time` lies beyond it. */
  advanceTo(time: number): Report[] {
    const w = Math.floor(time / this.options.windowMs);
    if (this.current === null) {
      this.current = w;
      return [];
    }
    if (w <= this.current) return [];
    const out = this.close();
    this.current = w;
    return out;
  }

  /** Closes the current window now (end of a stream). */
  flush(): Report[] {
    if (this.current === null) return [];
    const out = this.close();
    this.current = null;
    return out;
  }

  private historyOf(subject: string, f: Feature): History {
    let m = this.history.get(subject);
    if (!m) {
      m = new Map();
      this.history.set(subject, m);
    }
    let h = m.get(f);
    if (!h) {
      h = new History(this.options.historyWindows);
      m.set(f, h);
    }
    return h;
  }

  /** Own baseline if the subject has enough windows, else the median of other subjects' medians. */
  private baseline(subject: string, spec: FeatureSpec): Baseline | null {
    const own = this.history.get(subject)?.get(spec.feature);
    if (own && own.length >= this.options.minHistory) return baselineOf(own.all(), spec.floor);
    const pool: number[] = [];
    for (const [other, m] of this.history) {
      if (other === subject) continue;
      const h = m.get(spec.feature);
      if (h && h.length >= this.options.minHistory) pool.push(median(h.all()));
    }
    return pool.length >= this.options.minPopulation ? baselineOf(pool, spec.floor) : null;
  }

  private close(): Report[] {
    const window = this.current!;
    const subjects = [...this.acc.keys()].sort();
    const reports: Report[] = [];
    const updates: [string, Map<Feature, number>][] = [];
    for (const subject of subjects) {
      const values = this.extract(this.acc.get(subject)!);
      const reasons: Reason[] = [];
      for (const spec of this.specs) {
        const value = values.get(spec.feature);
        if (value === undefined) continue;
        const b = this.baseline(subject, spec);
        const score = b ? robustZMilli(value, b) : 0;
        const hard = spec.hard !== undefined && value >= spec.hard;
        const statistical = b !== null && score >= this.options.thresholdMilli && value > (spec.quiet ?? -1);
        if (!hard && !statistical) continue;
        reasons.push({
          feature: spec.feature,
          value,
          baseline: b?.median ?? 0,
          scale: b?.scale ?? spec.floor,
          score: hard ? Math.max(score, this.options.thresholdMilli) : score,
          hard,
        });
      }
      updates.push([subject, values]);
      if (reasons.length === 0) continue;
      const ordered = sortReasons(reasons);
      reports.push({ kind: this.kind, subject, window, severity: ordered[0]!.score, reasons: ordered });
    }
    // Histories change only after every subject of the window was judged, so the order of subjects and the
    // population baseline do not interact.
    for (const [subject, values] of updates) for (const [f, v] of values) this.historyOf(subject, f).push(v);
    this.acc.clear();
    return reports;
  }
}
