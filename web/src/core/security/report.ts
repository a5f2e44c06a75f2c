// Findings of the security layer, and their canonical encoding: a report is what a node signs and commits to
// the ledger, and what trust scores are derived from. Every report says why: the features that drove it.
import { CodecError, Reader, Writer, domainTag, signingBytes } from '../codec/index.ts';

/** Every feature a report can name. The index + 1 is its wire code: append only, never reorder. */
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
] as const;
export type Feature = (typeof FEATURES)[number];

export const REPORT_KINDS = ['access', 'network', 'fl-update'] as const;
export type ReportKind = (typeof REPORT_KINDS)[number];

/** One feature that drove an alert. All integers: counts, permille shares or micro-units (norms). */
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
  /** The requester (access) or peer public key hex (network, fl-update). Never a patient. */
  subject: string;
  /** The window index (event time / window length), or the FL round. */
  window: number;
  /** max score over the reasons, milli-units. */
  severity: number;
  /** Strongest first (score descending, then feature order). */
  reasons: Reason[];
}

export const REPORT_TAG = domainTag('security', 'report');
const MAX_SUBJECT = 256;
const MAX_REASONS = FEATURES.length;

/** Writes a report; throws CodecError (Oversize, OutOfRange) for one that decodeReport would refuse. */
export function writeReport(w: Writer, r: Report): void {
  if (new TextEncoder().encode(r.subject).length > MAX_SUBJECT || r.reasons.length > MAX_REASONS) throw new CodecError('Oversize', 'report subject or reasons too long');
  if (!REPORT_KINDS.includes(r.kind) || r.reasons.some((x) => !FEATURES.includes(x.feature))) throw new CodecError('OutOfRange', 'unknown report kind or feature');
  w.uint(REPORT_KINDS.indexOf(r.kind) + 1);
  w.str(r.subject);
  w.uint(r.window);
  w.uint(r.severity);
  w.list(r.reasons, (ww, x) => {
    ww.uint(FEATURES.indexOf(x.feature) + 1);
    ww.uint(x.value);
    ww.uint(x.baseline);
    ww.uint(x.scale);
    ww.uint(x.score);
    ww.bool(x.hard);
  });
}

export function readReport(r: Reader): Report {
  const kind = REPORT_KINDS[r.uint(REPORT_KINDS.length) - 1];
  if (kind === undefined) r.fail('OutOfRange');
  const subject = r.str(MAX_SUBJECT);
  const window = r.uint();
  const severity = r.uint();
  const reasons = r.list(MAX_REASONS, (rr): Reason => {
    const feature = FEATURES[rr.uint(FEATURES.length) - 1];
    if (feature === undefined) rr.fail('OutOfRange');
    return { feature: feature ?? 'requestRate', value: rr.uint(), baseline: rr.uint(), scale: rr.uint(), score: rr.uint(), hard: rr.bool() };
  });
  return { kind: kind ?? 'access', subject, window, severity, reasons };
}

export function encodeReport(r: Report): Uint8Array {
  const w = new Writer(64 + 16 * r.reasons.length);
  writeReport(w, r);
  return w.finish();
}

/** Decodes one report; throws CodecError on any violation of the encoding. */
export function decodeReport(bytes: Uint8Array): Report {
  const r = new Reader(bytes, 4096);
  const report = readReport(r);
  r.done();
  return report;
}

/** What a reporter signs: signingBytes('hygeia/security/report/v1', encodeReport(r)). */
export function reportSigningBytes(r: Report): Uint8Array {
  return signingBytes(REPORT_TAG, encodeReport(r));
}

