// Trust: the rule that turns corroborated reports into one integer score per clinic, and the leader order
// PBFT derives from the scores. The contracts apply the rule (web/src/core/ledger/contracts/reports.ts), so
// it is consensus-critical: every replica computes the same scores from the same committed reports, and
// changing a constant here changes state roots. Trust decides who leads, never quorums or membership.
//
// A Byzantine reporter must not be able to sink an honest clinic: a case (one kind of report about one
// subject in one window) moves trust only once f+1 distinct clinics other than the subject reported it, and
// the penalty applied is the (f+1)-th largest they asked for, so it never exceeds what an honest one asked.
import { compareBytes } from '../codec/index.ts';
import { SecurityError, checkInt } from './detector.ts';
import type { Feature, Reason } from './report.ts';

export interface TrustRule {
  readonly min: number;
  readonly max: number;
  /** Every clinic starts here (and at genesis). */
  readonly initial: number;
  /** Validators below this may be skipped as leaders (at most f of them). */
  readonly trustFloor: number;
  /** Per whole day without a penalty, a clinic regains this permille of its gap to max (at least 1 point). */
  readonly recoveryPermillePerDay: number;
  /** Penalty per feature for a reason at the threshold; up to 4x for stronger reasons, 4x for hard ones. */
  readonly weights: Readonly<Record<Feature, number>>;
  /** The report threshold the weights refer to (milli z). */
  readonly thresholdMilli: number;
  /** Cap on the penalty of one case. */
  readonly maxPenaltyPerCase: number;
}

export const TRUST_RULE: TrustRule = {
  min: 0,
  max: 1000,
  initial: 1000,
  trustFloor: 500,
  recoveryPermillePerDay: 50,
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
    updateDirection: 40,
    updateMalformed: 100,
  },
  thresholdMilli: 3500,
  maxPenaltyPerCase: 600,
};

export const DAY_MS = 86_400_000;

/** The penalty one report asks for: Σ weight × clamp(score / threshold, 1, 4), hard reasons at 4; capped. */
export function reasonsPenalty(reasons: readonly Reason[], rule: TrustRule = TRUST_RULE): number {
  const t = rule.thresholdMilli;
  let p = 0;
  for (const r of reasons) {
    const s = r.hard ? 4 * t : Math.min(Math.max(r.score, t), 4 * t);
    p += Math.floor((rule.weights[r.feature] * s) / t);
  }
  return Math.min(p, rule.maxPenaltyPerCase);
}

/** The (f+1)-th largest penalty asked, or 0 while fewer than f+1 distinct reporters asked. */
export function corroboratedPenalty(asks: readonly number[], f: number): number {
  checkInt('f', f, 0, 1 << 20);
  if (asks.length < f + 1) return 0;
  return [...asks].sort((a, b) => b - a)[f]!;
}

/** A score after `days` whole days without penalties. */
export function recoverTrust(score: number, days: number, rule: TrustRule = TRUST_RULE): number {
  checkInt('days', days);
  let s = score;
  for (let d = 0; d < days && s < rule.max; d++) s = Math.min(rule.max, s + Math.max(1, Math.floor(((rule.max - s) * rule.recoveryPermillePerDay) / 1000)));
  return s;
}

/**
 * Validator indices in leader order: trust descending, ties by public key bytes ascending; then at most f of
 * those below the trust floor (which form the tail) are dropped. The primary of view v is
 * order[v mod order.length]. The one TypeScript twin of wasm/assembly/pbft/leader.ts (a differential test
 * holds them equal).
 */
export function leaderOrder(keys: readonly Uint8Array[], trust: readonly number[], trustFloor: number, f: number): number[] {
  checkInt('f', f, 0, keys.length);
  if (trust.length !== keys.length) throw new SecurityError('badOptions', 'one trust score per validator');
  const order = keys.map((_, i) => i).sort((a, b) => trust[b]! - trust[a]! || compareBytes(keys[a]!, keys[b]!));
  let skip = 0;
  while (skip < f && skip < order.length - 1 && trust[order[order.length - 1 - skip]!]! < trustFloor) skip++;
  return order.slice(0, order.length - skip);
}

export function primaryForView<T>(view: number, order: readonly T[]): T {
  checkInt('view', view);
  if (order.length === 0) throw new SecurityError('badOptions', 'no validators');
  return order[view % order.length]!;
}
