// Trust scores: one integer per validator or organisation, derived only from committed evidence (signed
// security reports that the ledger accepted), bounded, recovering toward the maximum when no evidence
// arrives. Trust decides PBFT's leader order, never quorums or membership.
//
// A Byzantine reporter must not be able to sink an honest validator: reports about a subject count in an
// epoch only when `corroboration` distinct reporters (other than the subject) filed one, and the penalty
// applied is the corroboration-th largest of their penalties, so with corroboration = f+1 it never exceeds
// what some honest reporter claimed.
import { SecurityError, checkInt } from './detector.ts';
import { FEATURES, type Feature, type Report } from './report.ts';

export interface TrustOptions {
  /** Bounds; new subjects start at `initial` (default: max). */
  min: number;
  max: number;
  initial: number;
  /** Validators below this may be skipped as leaders (at most f of them). */
  trustFloor: number;
  /** Per epoch without a penalty, a subject regains this permille of its gap to max (at least 1 point). */
  recoveryPermille: number;
  /** Distinct reporters needed before reports about a subject count (use f+1 in a consortium). */
  corroboration: number;
  /** Penalty per feature for a reason at the threshold; up to 4x for stronger or hard reasons. */
  weights: Record<Feature, number>;
  /** The report threshold the weights refer to (milli z). */
  thresholdMilli: number;
  /** Cap on one subject's penalty in one epoch. */
  maxPenaltyPerEpoch: number;
}

export const DEFAULT_TRUST: TrustOptions = {
  min: 0,
  max: 1000,
  initial: 1000,
  trustFloor: 500,
  recoveryPermille: 50,
  corroboration: 1,
  weights: {
    requestRate: 10,
    offHoursShare: 10,
    patientBreadth: 20,
    breakGlass: 15,
    denialRatio: 15,
    invalidSignatures: 60,
    equivocations: 150,
    messageRate: 20,
    rejectedMessages: 10,
    updateNormHigh: 40,
    updateNormLow: 15,
  },
  thresholdMilli: 3500,
  maxPenaltyPerEpoch: 600,
};

/** A committed report and who filed it (its signature was verified before it was committed). */
export interface Evidence {
  reporter: string;
  report: Report;
}

export interface TrustChange {
  subject: string;
  before: number;
  after: number;
  /** The penalty applied (0 for recovery), and the reporters that counted. */
  penalty: number;
  reporters: string[];
}

/** The penalty one report asks for: Σ weight × clamp(score / threshold, 1, 4), hard reasons at 4. */
export function reportPenalty(report: Report, o: Pick<TrustOptions, 'weights' | 'thresholdMilli' | 'maxPenaltyPerEpoch'> = DEFAULT_TRUST): number {
  let p = 0;
  for (const r of report.reasons) {
    const t = o.thresholdMilli;
    const s = r.hard ? 4 * t : Math.min(Math.max(r.score, t), 4 * t);
    p += Math.floor((o.weights[r.feature] * s) / t);
  }
  return Math.min(p, o.maxPenaltyPerEpoch);
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export class TrustScores {
  readonly options: TrustOptions;
  private readonly scores = new Map<string, number>();

  constructor(subjects: readonly string[] = [], options: Partial<TrustOptions> = {}) {
    this.options = { ...DEFAULT_TRUST, ...options, weights: { ...DEFAULT_TRUST.weights, ...options.weights } };
    const o = this.options;
    for (const k of ['min', 'max', 'initial', 'trustFloor', 'recoveryPermille', 'corroboration', 'thresholdMilli', 'maxPenaltyPerEpoch'] as const)
      checkInt(k, o[k], -(2 ** 40), 2 ** 40);
    if (!(o.min <= o.initial && o.initial <= o.max) || o.corroboration < 1 || o.thresholdMilli < 1 || o.recoveryPermille < 0 || o.recoveryPermille > 1000)
      throw new SecurityError('badOptions', 'need min <= initial <= max, corroboration >= 1, thresholdMilli >= 1, 0 <= recoveryPermille <= 1000');
    for (const f of FEATURES) checkInt(`weights.${f}`, o.weights[f], 0, 1 << 20);
    for (const s of subjects) this.scores.set(s, o.initial);
  }

  score(subject: string): number {
    return this.scores.get(subject) ?? this.options.initial;
  }

  /** All known scores, sorted by subject: the state a checkpoint commits. */
  snapshot(): [string, number][] {
    return [...this.scores].sort((a, b) => cmp(a[0], b[0]));
  }

  static restore(entries: readonly (readonly [string, number])[], options: Partial<TrustOptions> = {}): TrustScores {
    const t = new TrustScores([], options);
    for (const [s, v] of entries) {
      checkInt('score', v, t.options.min, t.options.max);
      t.scores.set(s, v);
    }
    return t;
  }

  /**
   * Applies one epoch of committed evidence, then recovery for the subjects not penalised. Independent of
   * the order of `evidence`. Returns the changes, sorted by subject.
   */
  applyEpoch(evidence: readonly Evidence[]): TrustChange[] {
    const o = this.options;
    // Per subject, per reporter: the largest penalty that reporter asked for this epoch.
    const asks = new Map<string, Map<string, number>>();
    for (const { reporter, report } of evidence) {
      if (reporter === report.subject) continue;
      let m = asks.get(report.subject);
      if (!m) {
        m = new Map();
        asks.set(report.subject, m);
      }
      m.set(reporter, Math.max(m.get(reporter) ?? 0, reportPenalty(report, o)));
    }
    for (const s of asks.keys()) if (!this.scores.has(s)) this.scores.set(s, o.initial);
    const changes: TrustChange[] = [];
    for (const subject of [...this.scores.keys()].sort(cmp)) {
      const before = this.scores.get(subject)!;
      const m = asks.get(subject);
      let after = before;
      let penalty = 0;
      let reporters: string[] = [];
      if (m && m.size >= o.corroboration) {
        const ranked = [...m].sort((a, b) => b[1] - a[1] || cmp(a[0], b[0]));
        penalty = Math.min(ranked[o.corroboration - 1]![1], o.maxPenaltyPerEpoch);
        reporters = ranked.map((r) => r[0]).sort(cmp);
        after = Math.max(o.min, before - penalty);
      }
      if (penalty === 0 && before < o.max) {
        after = Math.min(o.max, before + Math.max(1, Math.floor(((o.max - before) * o.recoveryPermille) / 1000)));
      }
      if (after !== before) {
        this.scores.set(subject, after);
        changes.push({ subject, before, after, penalty, reporters });
      }
    }
    return changes;
  }
}

/**
 * Validators in leader order: trust descending, ties by public key (hex, i.e. bytes) ascending; then at most
 * f of those below the trust floor (which form the tail) are dropped. The primary of view v is
 * order[v mod order.length]. Matches wasm/assembly/pbft/leader.ts.
 */
export function leaderOrder(validators: readonly string[], scoreOf: (key: string) => number, trustFloor: number, f: number): string[] {
  checkInt('f', f, 0, validators.length);
  const order = [...validators].sort((a, b) => scoreOf(b) - scoreOf(a) || cmp(a.toLowerCase(), b.toLowerCase()));
  let skip = 0;
  while (skip < f && skip < order.length - 1 && scoreOf(order[order.length - 1 - skip]!) < trustFloor) skip++;
  return order.slice(0, order.length - skip);
}

export function primaryForView(view: number, order: readonly string[]): string {
  checkInt('view', view);
  if (order.length === 0) throw new SecurityError('badOptions', 'no validators');
  return order[view % order.length]!;
}
