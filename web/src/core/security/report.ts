// Findings of the security layer: a report names its subject, its window and the reasons that drove it.
// Reports reach the ledger inside signed transactions (`fileReport`, and the flags of `flCommitAggregate`),
// where each reason travels in one canonical text form, so the audit trail reads without a decoder and the
// contracts can refuse anything that is not exactly canonical.

/** Every feature a reason can name. Append only, never reorder (the text form names them, weights key on them). */
export const FEATURES = [
  'requestRate',
  'offHoursShare',
  'patientBreadth',
  'breakGlass',
  'denialRatio',
  'invalidSignatures',
  'equivocations',
  'messageRate',
  'rejectedMessages',
  'updateNormHigh',
  'updateNormLow',
  'updateDirection',
  'updateMalformed',
] as const;
export type Feature = (typeof FEATURES)[number];

export const REPORT_KINDS = ['access', 'network', 'fl-update'] as const;
export type ReportKind = (typeof REPORT_KINDS)[number];

/** Which features each kind of report may name. */
export const KIND_FEATURES: Readonly<Record<ReportKind, readonly Feature[]>> = {
  access: ['requestRate', 'offHoursShare', 'patientBreadth', 'breakGlass', 'denialRatio'],
  network: ['invalidSignatures', 'equivocations', 'messageRate', 'rejectedMessages'],
  'fl-update': ['updateNormHigh', 'updateNormLow', 'updateDirection', 'updateMalformed'],
};

/** One feature that drove an alert. All non-negative integers: counts, permille shares or micro-units (norms). */
export interface Reason {
  feature: Feature;
  /** The subject's value in this window. */
  value: number;
  /** The baseline median it was compared with, and the spread (max(MAD, floor)). */
  baseline: number;
  scale: number;
  /** Modified z-score in milli-units (3500 = 3.5); for a hard limit, at least the threshold. */
  score: number;
  /** True when a hard limit (evidence of misbehaviour, e.g. any equivocation) fired, whatever the baseline. */
  hard: boolean;
}

export interface Report {
  kind: ReportKind;
  /** The requester's key (access), the peer's key (network) or the clinic (fl-update). Never a patient. */
  subject: string;
  /** The window index (event time / window length), or the FL round. */
  window: number;
  /** max score over the reasons, milli-units. */
  severity: number;
  /** Strongest first (score descending, then feature order). */
  reasons: Reason[];
}

/** The largest integer a reason field may hold in its text form (fits a float64 exactly). */
const MAX_FIELD = Number.MAX_SAFE_INTEGER;
const UINT = /^(0|[1-9][0-9]{0,15})$/;

/** `feature:value:baseline:scale:score:hard` (hard is 0 or 1), decimal without leading zeros. */
export function reasonText(r: Reason): string {
  for (const v of [r.value, r.baseline, r.scale, r.score]) {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError('reason fields are non-negative safe integers');
  }
  if (!FEATURES.includes(r.feature)) throw new RangeError('unknown feature');
  return `${r.feature}:${r.value}:${r.baseline}:${r.scale}:${r.score}:${r.hard ? 1 : 0}`;
}

/** Parses the canonical text form; null for anything else (unknown feature, leading zeros, out of range). */
export function parseReasonText(text: string): Reason | null {
  if (typeof text !== 'string' || text.length > 128) return null;
  const parts = text.split(':');
  if (parts.length !== 6) return null;
  const [feature, ...rest] = parts as [string, string, string, string, string, string];
  if (!(FEATURES as readonly string[]).includes(feature)) return null;
  const nums = rest.slice(0, 4);
  if (!nums.every((s) => UINT.test(s) && Number(s) <= MAX_FIELD)) return null;
  if (rest[4] !== '0' && rest[4] !== '1') return null;
  const [value, baseline, scale, score] = nums.map(Number) as [number, number, number, number];
  return { feature: feature as Feature, value, baseline, scale, score, hard: rest[4] === '1' };
}

/** Sorts reasons strongest first (score descending, then feature order): the order a report carries them. */
export function sortReasons(reasons: readonly Reason[]): Reason[] {
  return [...reasons].sort((x, y) => y.score - x.score || FEATURES.indexOf(x.feature) - FEATURES.indexOf(y.feature));
}
