// Reasons in plain words for the screens: which feature, how far from normal, against which baseline. Values
// are shown in their natural units (shares as percentages, norms as decimals, cosines as -1..1).
import { COSINE_OFFSET } from './updates.ts';
import type { Feature, Reason } from './report.ts';

const LABEL: Record<Feature, string> = {
  requestRate: 'requests in the window',
  offHoursShare: 'share of requests off hours',
  patientBreadth: 'distinct patients',
  breakGlass: 'break-glass accesses',
  denialRatio: 'share of requests denied',
  invalidSignatures: 'invalid signatures',
  equivocations: 'conflicting signed messages',
  messageRate: 'messages in the window',
  rejectedMessages: 'rejected messages',
  updateNormHigh: 'update size',
  updateNormLow: 'update size',
  updateDirection: 'agreement of the update with the others',
  updateMalformed: 'malformed update',
};

/** The reason's value and baseline in display units. */
export function displayValue(feature: Feature, v: number): number {
  switch (feature) {
    case 'offHoursShare':
    case 'denialRatio':
      return v / 10; // permille to percent
    case 'updateNormHigh':
    case 'updateNormLow':
      return v / 1e6; // micro-units
    case 'updateDirection':
      return (v - COSINE_OFFSET) / 1000; // cosine
    default:
      return v;
  }
}

const fmt = (x: number): string => (Number.isInteger(x) ? String(x) : x.toFixed(Math.abs(x) < 1 ? 3 : 1));

/** E.g. "update size 93.2 against a round median of 0.9 (robust z 171.3)". */
export function describeReason(r: Reason): string {
  const unit = r.feature === 'offHoursShare' || r.feature === 'denialRatio' ? ' %' : '';
  const what = LABEL[r.feature];
  if (r.feature === 'updateMalformed') return 'the update bytes do not decode as an update of this round';
  if (r.hard && r.feature !== 'breakGlass') return `${what}: ${fmt(displayValue(r.feature, r.value))}${unit}, evidence of misbehaviour whatever the baseline`;
  const base = r.feature.startsWith('update') ? 'the round median' : 'its usual';
  return `${what} ${fmt(displayValue(r.feature, r.value))}${unit} against ${base} ${fmt(displayValue(r.feature, r.baseline))}${unit} (robust z ${fmt(r.score / 1000)}${r.hard ? ', over the hard limit' : ''})`;
}
