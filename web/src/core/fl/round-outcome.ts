// What every honest node computes once a round has closed, from the committed round record, the weights the
// round started from and the bytes of the committed updates: which updates are malformed, which are outliers
// (norm and direction, over every committed update, those on probation included), and the aggregate over the
// counted, well-formed updates in the agreed order. Pure and deterministic: the same inputs give the same
// reports and the same weights, bit for bit, on every node.
import type { FlRoundRecord } from '../ledger/contracts/index.ts';
import { updateOutliers, type Report } from '../security/index.ts';
import { aggregate, coordinateMedian, type ClientUpdate, type RuleName } from './aggregation.ts';
import { dpMean, noiseSeed } from './dp.ts';
import { decodeUpdate, weightsDigest } from './wire.ts';

export interface CommittedUpdate {
  readonly clinic: string;
  /** The committed digest (hex) these bytes were checked against. */
  readonly digest: string;
  readonly samples: number;
  readonly bytes: Uint8Array;
}

export interface RoundOutcome {
  /** Malformed and outlier updates, one report per clinic. */
  readonly reports: Report[];
  readonly weights: Float32Array;
  readonly digest: string;
  /** Clinics whose updates the aggregate counted, in the agreed order. */
  readonly aggregated: string[];
}

/** f for a round of n clinics (the trimmed mean and Krum tolerate it): floor((n - 1) / 3). */
export function roundFaults(clinics: number): number {
  return Math.max(0, Math.floor((clinics - 1) / 3));
}

const byDigest = (a: CommittedUpdate, b: CommittedUpdate): number => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0);

export function roundOutcome(r: FlRoundRecord, base: Float32Array, updates: readonly CommittedUpdate[]): RoundOutcome {
  const reports: Report[] = [];
  const valid: { u: CommittedUpdate; delta: Float32Array }[] = [];
  for (const u of [...updates].sort(byDigest)) {
    const delta = wellFormed(r, base.length, u);
    if (delta) valid.push({ u, delta });
    else
      reports.push({
        kind: 'fl-update',
        subject: u.clinic,
        window: r.round,
        severity: 3500,
        reasons: [{ feature: 'updateMalformed', value: 1, baseline: 0, scale: 1, score: 3500, hard: true }],
      });
  }
  reports.push(
    ...updateOutliers(
      r.round,
      valid.map((v) => ({ subject: v.u.clinic, delta: v.delta })),
    ),
  );
  reports.sort((a, b) => (a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : 0));

  const counted = valid.filter((v) => r.counted.includes(v.u.clinic));
  let step: Float32Array;
  if (counted.length === 0) step = new Float32Array(base.length);
  else if (r.rule === 'dp-mean') {
    step = dpMean(
      counted.map((v) => v.delta),
      {
        clip: r.dpClip / 1e6,
        noiseMultiplier: r.dpNoise / 1000,
        denominator: r.counted.length,
        seed: noiseSeed(
          r.task,
          r.round,
          counted.map((v) => v.u.bytes),
        ),
      },
    );
  } else {
    const f = roundFaults(r.clinics.length);
    const cu: ClientUpdate[] = counted.map((v) => ({ delta: v.delta, samples: v.u.samples }));
    // Multi-Krum needs n - f - 2 >= 1: with too few counted updates the coordinate median stands in for it.
    step = r.rule === 'krum' && cu.length - f - 2 < 1 ? coordinateMedian(cu) : aggregate(r.rule as RuleName, cu, f);
  }
  const weights = new Float32Array(base.length);
  for (let i = 0; i < base.length; i++) weights[i] = base[i]! + step[i]!;
  return { reports, weights, digest: weightsDigest(weights), aggregated: counted.map((v) => v.u.clinic) };
}

/** The delta if the bytes are a well-formed update of this round by this clinic, else null. */
function wellFormed(r: FlRoundRecord, dim: number, u: CommittedUpdate): Float32Array | null {
  let m;
  try {
    m = decodeUpdate(u.bytes);
  } catch {
    return null;
  }
  if (m.task !== r.task || m.round !== r.round || m.clinic !== u.clinic || m.samples !== u.samples || m.delta.length !== dim) return null;
  for (let i = 0; i < dim; i++) if (!Number.isFinite(m.delta[i]!)) return null;
  return m.delta;
}
