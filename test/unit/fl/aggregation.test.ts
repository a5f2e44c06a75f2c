import { describe, expect, it } from 'vitest';
import {
  AggregationError,
  aggregate,
  clippedMean,
  coordinateMedian,
  fedAvg,
  l2Norm,
  multiKrum,
  trimmedMean,
  type ClientUpdate,
  type RuleName,
} from '../../../web/src/core/fl/aggregation.ts';
import { Prng } from '../../../web/src/core/util/index.ts';

const DIM = 50;

function gaussian(rng: Prng): number {
  const u = Math.max(rng.float(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.float());
}

/** Honest clients: the true direction plus per-client noise, with unequal sizes. */
function honest(rng: Prng, truth: Float32Array, n: number): ClientUpdate[] {
  return Array.from({ length: n }, () => {
    const delta = new Float32Array(DIM);
    for (let i = 0; i < DIM; i++) delta[i] = truth[i]! + 0.3 * gaussian(rng);
    return { delta, samples: 20 + rng.int(200) };
  });
}

function distance(a: Float32Array, b: Float32Array): number {
  const d = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) d[i] = a[i]! - b[i]!;
  return l2Norm(d);
}

const attacks: Record<string, (u: ClientUpdate, rng: Prng) => ClientUpdate> = {
  scale: (u) => ({ delta: u.delta.map((x) => x * 100), samples: u.samples }),
  'sign-flip': (u) => ({ delta: u.delta.map((x) => -4 * x), samples: u.samples }),
  noise: (u, rng) => ({ delta: u.delta.map(() => 20 * gaussian(rng)), samples: u.samples }),
};

describe('aggregation rules under attack (seeded synthetic updates)', () => {
  const rng = new Prng(6);
  const truth = new Float32Array(DIM).map(() => gaussian(rng));

  for (const [attack, corrupt] of Object.entries(attacks)) {
    it(`${attack}: 3 of 10 attackers break FedAvg, not the robust rules`, () => {
      const updates = honest(rng, truth, 10);
      for (let k = 0; k < 3; k++) updates[k] = corrupt(updates[k]!, rng);
      const scale = l2Norm(truth);
      expect(distance(fedAvg(updates), truth)).toBeGreaterThan(0.8 * scale);
      for (const rule of ['median', 'krum', 'trimmed'] as RuleName[]) {
        expect(distance(aggregate(rule, updates, 3), truth), rule).toBeLessThan(0.35 * scale);
      }
      // Clipping bounds each attacker's pull to that of an honest update: degraded, never broken.
      expect(distance(clippedMean(updates), truth)).toBeLessThan(distance(fedAvg(updates), truth));
    });
  }

  it('with no attack every rule stays near the honest mean', () => {
    const updates = honest(rng, truth, 10);
    const mean = fedAvg(updates);
    for (const rule of ['fedavg', 'clipped', 'trimmed', 'median', 'krum'] as RuleName[]) {
      expect(distance(aggregate(rule, updates, 3), mean), rule).toBeLessThan(0.25 * l2Norm(truth));
    }
  });
});

describe('determinism and exact values', () => {
  it('FedAvg weights by samples', () => {
    const out = fedAvg([
      { delta: Float32Array.of(1, 0), samples: 1 },
      { delta: Float32Array.of(4, 3), samples: 2 },
    ]);
    expect(Array.from(out)).toEqual([3, 2]);
  });

  it('median and trimmed mean per coordinate', () => {
    const u = [1, 2, 100, 3, 4].map((v) => ({ delta: Float32Array.of(v, -v), samples: 1 }));
    expect(Array.from(coordinateMedian(u))).toEqual([3, -3]);
    expect(Array.from(trimmedMean(u, 1))).toEqual([3, -3]);
  });

  it('Krum drops the outlier', () => {
    const u = [0, 0.1, -0.1, 0.05, 50].map((v) => ({ delta: Float32Array.of(v), samples: 1 }));
    expect(Math.abs(multiKrum(u, 1)[0]!)).toBeLessThan(0.1);
  });

  it('gives identical bytes for identical inputs', () => {
    const rng = new Prng(1);
    const updates = honest(rng, new Float32Array(DIM).fill(1), 7);
    for (const rule of ['fedavg', 'clipped', 'trimmed', 'median', 'krum'] as RuleName[]) {
      expect(Buffer.from(aggregate(rule, updates, 2).buffer)).toEqual(Buffer.from(aggregate(rule, updates, 2).buffer));
    }
  });

  it('refuses malformed input with a typed error', () => {
    expect(() => fedAvg([])).toThrow(AggregationError);
    expect(() =>
      fedAvg([
        { delta: Float32Array.of(1), samples: 1 },
        { delta: Float32Array.of(1, 2), samples: 1 },
      ]),
    ).toThrow(AggregationError);
    expect(() => fedAvg([{ delta: Float32Array.of(Number.NaN), samples: 1 }])).toThrow(AggregationError);
    expect(() => fedAvg([{ delta: Float32Array.of(1), samples: 0 }])).toThrow(AggregationError);
    expect(() => trimmedMean([{ delta: Float32Array.of(1), samples: 1 }], 1)).toThrow(AggregationError);
    expect(() => multiKrum([{ delta: Float32Array.of(1), samples: 1 }], 1)).toThrow(AggregationError);
  });
});
