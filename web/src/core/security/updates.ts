// The outlier test on one FL round's updates, run by every node over the ledger-agreed updates of the round:
// an update whose norm is a robust outlier among the round's norms (scaled or boosted: updateNormHigh; empty
// or free-riding: updateNormLow), or whose direction agrees far less than the others' with the round's
// coordinate-wise median update (sign or label flips keep the norm but turn the direction: updateDirection).
// Norms are judged on a log scale (a ratio to the round's median norm, not a difference: honest clinics with
// skewed labels send updates several times the median's size, a scaled one a hundred times), directions as
// cosines. Verdicts are integers (milli-nepers of norm, permille of cosine) computed in a fixed order from
// IEEE-exact operations, so every node that holds the same update bytes reaches the same reports.
import { SecurityError, checkInt } from './detector.ts';
import { exactLn } from './exact-ln.ts';
import { baselineOf, robustZMilli } from './robust.ts';
import { sortReasons, type Reason, type Report } from './report.ts';

export interface RoundUpdate {
  /** The clinic that sent it. */
  readonly subject: string;
  /** Its model delta, flattened (all of one round have the same length). */
  readonly delta: Float32Array;
}

export interface UpdateOutlierOptions {
  /** Milli z-score threshold (default 3500). */
  readonly thresholdMilli?: number;
  /** The norm ratio to the round's median that scores the threshold when norms agree closely (default 10). */
  readonly normRatio?: number;
  /** Smallest cosine spread in permille (default 150): honest non-IID directions vary this much. */
  readonly directionFloor?: number;
  /** Fewest updates in a round to judge it (default 4). */
  readonly minUpdates?: number;
}

/** Norms are reported as integers in micro-units. */
export function quantizeNorm(norm: number): number {
  if (!Number.isFinite(norm) || norm < 0) throw new SecurityError('badEvent', 'an update norm is a finite non-negative number');
  return Math.min(Math.round(norm * 1e6), 2 ** 40);
}

/** A norm on the log scale the test compares: milli-nepers of (micro-norm + 1), so 0 stays finite. */
function logNorm(micro: number): number {
  return Math.round(1000 * exactLn(micro + 1));
}

/** Cosine similarity offset into 0..2000 (1000 = orthogonal), so it fits a report's unsigned fields. */
export const COSINE_OFFSET = 1000;

function norm(v: Float32Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return Math.sqrt(s);
}

function coordinateMedian(updates: readonly RoundUpdate[], dim: number): Float64Array {
  const out = new Float64Array(dim);
  const column = new Float64Array(updates.length);
  const m = updates.length >> 1;
  for (let i = 0; i < dim; i++) {
    for (let k = 0; k < updates.length; k++) column[k] = updates[k]!.delta[i]!;
    column.sort();
    out[i] = updates.length % 2 === 1 ? column[m]! : (column[m - 1]! + column[m]!) / 2;
  }
  return out;
}

function cosinePermille(v: Float32Array, ref: Float64Array, refNorm: number): number {
  const n = norm(v);
  if (n === 0 || refNorm === 0) return COSINE_OFFSET;
  let dot = 0;
  for (let i = 0; i < v.length; i++) dot += v[i]! * ref[i]!;
  const c = Math.max(-1, Math.min(1, dot / (n * refNorm)));
  return COSINE_OFFSET + Math.round(c * 1000);
}

/** Reports about the updates of one round that are outliers (one report per subject, strongest reason first). */
export function updateOutliers(round: number, updates: readonly RoundUpdate[], options: UpdateOutlierOptions = {}): Report[] {
  checkInt('round', round);
  const threshold = options.thresholdMilli ?? 3500;
  if (updates.length < (options.minUpdates ?? 4)) return [];
  const dim = updates[0]!.delta.length;
  for (const u of updates) {
    if (u.delta.length !== dim) throw new SecurityError('badEvent', 'the updates of a round have different lengths');
    for (let i = 0; i < dim; i++) if (!Number.isFinite(u.delta[i]!)) throw new SecurityError('badEvent', 'an update is not finite');
  }
  // Sorted by subject so the verdicts do not depend on the order the caller holds the updates in.
  const sorted = [...updates].sort((a, b) => (a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : 0));
  const norms = sorted.map((u) => quantizeNorm(norm(u.delta)));
  const logs = norms.map(logNorm);
  // The spread floor that puts a ratio of `normRatio` at the threshold: z = 0.6745 · ln(ratio) / scale.
  const floor = Math.max(1, Math.round((6745 * 1000 * exactLn(options.normRatio ?? 10)) / (10 * threshold)));
  const logBase = baselineOf(logs, floor);
  const medianNorm = baselineOf(norms, 1).median;
  const ref = coordinateMedian(sorted, dim);
  let refNorm = 0;
  for (let i = 0; i < dim; i++) refNorm += ref[i]! * ref[i]!;
  refNorm = Math.sqrt(refNorm);
  const cosines = sorted.map((u) => cosinePermille(u.delta, ref, refNorm));
  const dirBase = baselineOf(cosines, options.directionFloor ?? 150);

  const reports: Report[] = [];
  sorted.forEach((u, k) => {
    const reasons: Reason[] = [];
    const zn = robustZMilli(logs[k]!, logBase);
    if (Math.abs(zn) >= threshold) {
      // value and baseline in micro-units of norm; scale is the log-norm spread (milli-nepers) the score used.
      reasons.push({ feature: zn > 0 ? 'updateNormHigh' : 'updateNormLow', value: norms[k]!, baseline: medianNorm, scale: logBase.scale, score: Math.abs(zn), hard: false });
    }
    const zd = robustZMilli(cosines[k]!, dirBase);
    if (zd <= -threshold) {
      reasons.push({ feature: 'updateDirection', value: cosines[k]!, baseline: dirBase.median, scale: dirBase.scale, score: -zd, hard: false });
    }
    if (reasons.length === 0) return;
    const ordered = sortReasons(reasons);
    reports.push({ kind: 'fl-update', subject: u.subject, window: round, severity: ordered[0]!.score, reasons: ordered });
  });
  return reports;
}
