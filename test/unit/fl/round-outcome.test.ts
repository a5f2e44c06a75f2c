// What every honest node computes for a closed round: update bytes checked (malformed ones reported and left
// out), outliers reported over every committed update (probation included), the aggregate over the counted
// ones in digest order, identical whatever order the node received them in.
import { describe, expect, it } from 'vitest';
import type { FlRoundRecord } from '../../../web/src/core/ledger/contracts/index.ts';
import { decodeUpdate, digestHex, encodeUpdate, roundOutcome, weightsDigest, type CommittedUpdate } from '../../../web/src/core/fl/index.ts';
import { Prng } from '../../../web/src/core/util/index.ts';
import { useCore } from '../shared/core.ts';
import { closedRound } from './ledger-fixture.ts';

useCore();

const DIM = 31;
const clinics = ['clinic-1', 'clinic-2', 'clinic-3', 'clinic-4', 'clinic-5'];

/** The closed round as the contracts record it, with the fields a case is about (rule, counted, probation, DP) replaced. */
let closed: FlRoundRecord | undefined;
function record(over: Partial<FlRoundRecord> = {}): FlRoundRecord {
  closed ??= closedRound({ task: 't', model: `logreg:${DIM - 1}` }, clinics.length);
  return { ...closed, ...over };
}

function updates(seed: number, tweak?: (clinic: string, delta: Float32Array) => Float32Array): CommittedUpdate[] {
  const p = new Prng(seed);
  const shared = Float32Array.from({ length: DIM }, () => p.float() - 0.5);
  return clinics.map((clinic) => {
    let delta: Float32Array = Float32Array.from(shared, (v) => 0.1 * (v + 0.3 * (p.float() - 0.5)));
    if (tweak) delta = tweak(clinic, delta);
    const bytes = encodeUpdate({ task: 't', round: 1, clinic, samples: 50, delta });
    return { clinic, digest: digestHex(bytes), samples: 50, bytes };
  });
}

const base = new Float32Array(DIM).fill(0.5);

describe('roundOutcome', () => {
  it('does not depend on the order the updates are held in', () => {
    const u = updates(1);
    const a = roundOutcome(record(), base, u);
    const b = roundOutcome(record(), base, new Prng(9).shuffle([...u]));
    expect(b.digest).toBe(a.digest);
    expect(a.digest).toBe(weightsDigest(a.weights));
    expect(a.reports).toEqual([]);
    expect(a.aggregated).toEqual([...u].sort((x, y) => (x.digest < y.digest ? -1 : 1)).map((x) => x.clinic));
  });

  it('reports a scaled update and, on probation, leaves it out of the aggregate while still judging it', () => {
    const u = updates(2, (c, d) => (c === 'clinic-4' ? d.map((v) => v * 100) : d));
    const counted = clinics.filter((c) => c !== 'clinic-4');
    const out = roundOutcome(record({ counted, probation: ['clinic-4'] }), base, u);
    expect(out.reports.map((r) => [r.subject, r.reasons[0]!.feature])).toEqual([['clinic-4', 'updateNormHigh']]);
    expect(out.aggregated).not.toContain('clinic-4');
    const without = roundOutcome(
      record({ counted, probation: ['clinic-4'] }),
      base,
      u.filter((x) => x.clinic !== 'clinic-4'),
    );
    expect(out.digest).toBe(without.digest);
  });

  it("reports bytes that are not this round's update of that clinic as malformed and does not count them", () => {
    const u = updates(3);
    const forged = encodeUpdate({ ...decodeUpdate(u[1]!.bytes), clinic: 'clinic-9' });
    const wrongRound = encodeUpdate({ ...decodeUpdate(u[2]!.bytes), round: 2 });
    const bad = [
      { ...u[1]!, bytes: forged },
      { ...u[2]!, bytes: wrongRound },
      { ...u[3]!, bytes: Uint8Array.of(1, 2, 3) },
    ];
    const out = roundOutcome(record(), base, [u[0]!, ...bad, u[4]!]);
    expect(out.reports.map((r) => [r.subject, r.reasons[0]!.feature])).toEqual([
      ['clinic-2', 'updateMalformed'],
      ['clinic-3', 'updateMalformed'],
      ['clinic-4', 'updateMalformed'],
    ]);
    expect(out.aggregated.sort()).toEqual(['clinic-1', 'clinic-5']);
  });

  it('with no counted update keeps the starting weights; Multi-Krum with too few falls back to the median', () => {
    expect(roundOutcome(record({ counted: [] }), base, updates(4)).digest).toBe(weightsDigest(base));
    const u = updates(5).slice(0, 3);
    const krum = roundOutcome(record({ rule: 'krum', counted: clinics.slice(0, 3) }), base, u);
    const median = roundOutcome(record({ rule: 'median', counted: clinics.slice(0, 3) }), base, u);
    expect(krum.digest).toBe(median.digest);
  });

  it('adds DP noise seeded by the counted bytes: the same for every node, other for other bytes', () => {
    const dp = record({ rule: 'dp-mean', dpClip: 1_000_000, dpNoise: 1_000, dpDeltaInv: 100_000 });
    const a = roundOutcome(dp, base, updates(6));
    expect(roundOutcome(dp, base, new Prng(2).shuffle(updates(6))).digest).toBe(a.digest);
    expect(roundOutcome(dp, base, updates(7)).digest).not.toBe(a.digest);
    expect(roundOutcome(record({ rule: 'fedavg' }), base, updates(6)).digest).not.toBe(a.digest);
  });
});
