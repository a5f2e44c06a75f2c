// Integer robust statistics: median, MAD and the modified z-score (Iglewicz & Hoaglin), in milli-units so
// every node computes bit-identical scores from the same inputs (no floating point in a verdict).

/** Median of integers; for an even count the lower-middle average, rounded down. Empty => 0. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : Math.floor((s[m - 1]! + s[m]!) / 2);
}

/** Median absolute deviation around `med`. */
export function mad(values: readonly number[], med: number = median(values)): number {
  return median(values.map((v) => Math.abs(v - med)));
}

/** A baseline: centre and spread of a feature, both integers in the feature's units. */
export interface Baseline {
  median: number;
  /** max(MAD, the feature's floor): the spread a deviation is measured against. */
  scale: number;
  /** How many samples it was computed from. */
  samples: number;
}

export function baselineOf(values: readonly number[], floor: number): Baseline {
  const med = median(values);
  return { median: med, scale: Math.max(mad(values, med), floor, 1), samples: values.length };
}

/**
 * Modified z-score in milli-units: 1000 × 0.6745 × (x − median) / scale, truncated toward zero.
 * 3500 is the customary outlier threshold.
 */
export function robustZMilli(x: number, b: Baseline): number {
  return Math.trunc(((x - b.median) * 6745) / (10 * b.scale));
}

/** The last `capacity` values of a series (a per-subject feature history). */
export class History {
  private readonly values: number[] = [];
  constructor(private readonly capacity: number) {}
  push(v: number): void {
    this.values.push(v);
    if (this.values.length > this.capacity) this.values.shift();
  }
  get length(): number {
    return this.values.length;
  }
  all(): readonly number[] {
    return this.values;
  }
}
