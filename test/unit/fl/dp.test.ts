// Client-level DP: the deterministic logarithm and Gaussian behind the noise every node must agree on, the
// clipped DP mean (its noise scale, its determinism in the seed), and the Rényi accountant against the
// classical RDP bound and the ε it was asked for.
import { describe, expect, it } from 'vitest';
import { Gaussian, HashStream, RDP_ORDERS, clipUpdate, dpMean, epsilonFromRdp, epsilonSpent, gaussianRdp, noiseForEpsilon, noiseSeed } from '../../../web/src/core/fl/index.ts';
import { exactLn } from '../../../web/src/core/security/index.ts';
import { Prng } from '../../../web/src/core/util/index.ts';
import { useCore } from '../shared/core.ts';

useCore();

describe('exactLn', () => {
  it('agrees with Math.log to within a few ulps across magnitudes', () => {
    const p = new Prng(1);
    for (let i = 0; i < 2000; i++) {
      const x = p.float() * 10 ** (p.int(40) - 20) + Number.MIN_VALUE;
      expect(Math.abs(exactLn(x) - Math.log(x))).toBeLessThanOrEqual(4e-16 * Math.max(1, Math.abs(Math.log(x))));
    }
    expect(exactLn(1)).toBe(0);
    expect(() => exactLn(0)).toThrow(RangeError);
    expect(() => exactLn(Number.NaN)).toThrow(RangeError);
  });
});

describe('the seeded Gaussian', () => {
  it('replays from its seed and has mean 0, variance 1', () => {
    const seed = new Uint8Array(32).fill(7);
    const a = new Gaussian(new HashStream(seed));
    const b = new Gaussian(new HashStream(seed));
    const xs = Array.from({ length: 20_000 }, () => a.next());
    expect(Array.from({ length: 20_000 }, () => b.next())).toEqual(xs);
    const mean = xs.reduce((s, v) => s + v, 0) / xs.length;
    const variance = xs.reduce((s, v) => s + (v - mean) ** 2, 0) / xs.length;
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(variance - 1)).toBeLessThan(0.04);
    expect(new Gaussian(new HashStream(new Uint8Array(32).fill(8))).next()).not.toBe(xs[0]);
  });

  it('draws uniforms strictly inside (0, 1)', () => {
    const s = new HashStream(new Uint8Array(32));
    for (let i = 0; i < 10_000; i++) {
      const u = s.uniform();
      expect(u > 0 && u < 1).toBe(true);
    }
  });
});

describe('dpMean', () => {
  const updates = [Float32Array.of(3, 4), Float32Array.of(0.3, 0.4), Float32Array.of(-30, 40)];

  it('clips every update to the bound before averaging over the fixed denominator', () => {
    expect(Array.from(clipUpdate(Float32Array.of(3, 4), 1))).toEqual([Math.fround(0.6), Math.fround(0.8)]);
    expect(clipUpdate(Float32Array.of(0.3, 0.4), 1)).toEqual(Float32Array.of(0.3, 0.4));
    // With almost no noise the result is the clipped sum / denominator.
    const m = dpMean(updates, { clip: 1, noiseMultiplier: 1e-9, denominator: 4, seed: new Uint8Array(32) });
    expect(m[0]).toBeCloseTo((0.6 + 0.3 - 0.6) / 4, 6);
    expect(m[1]).toBeCloseTo((0.8 + 0.4 + 0.8) / 4, 6);
  });

  it('adds noise of standard deviation σ·C/m, the same for the same seed, other for another', () => {
    const zero = Array.from({ length: 5 }, () => new Float32Array(4000));
    const seed = noiseSeed('t', 1, [Uint8Array.of(1, 2, 3)]);
    const a = dpMean(zero, { clip: 2, noiseMultiplier: 1.5, denominator: 5, seed });
    const sd = Math.sqrt(a.reduce((s, v) => s + v * v, 0) / a.length);
    expect(sd).toBeGreaterThan(0.6 * 0.95);
    expect(sd).toBeLessThan(0.6 * 1.05);
    expect(dpMean(zero, { clip: 2, noiseMultiplier: 1.5, denominator: 5, seed })).toEqual(a);
    expect(dpMean(zero, { clip: 2, noiseMultiplier: 1.5, denominator: 5, seed: noiseSeed('t', 1, [Uint8Array.of(1, 2, 4)]) })).not.toEqual(a);
  });

  it('refuses a denominator smaller than the updates it averages', () => {
    expect(() => dpMean(updates, { clip: 1, noiseMultiplier: 1, denominator: 2, seed: new Uint8Array(32) })).toThrow(/denominator/);
  });
});

describe('the Rényi accountant', () => {
  // Published values from Google's dp_accounting (python/dp_accounting/dp_accounting/rdp/
  // rdp_privacy_accountant_test.py), whose RDP-to-(ε, δ) conversion Opacus shares.
  it('converts a constant RDP curve (pure DP) as dp_accounting does: ε = 1.32783806176 at order 32', () => {
    const orders = Array.from({ length: 31 }, (_, i) => i + 2);
    const { epsilon, order } = epsilonFromRdp(
      orders,
      orders.map(() => 1.1),
      1e-5,
    );
    expect(epsilon).toBeCloseTo(1.32783806176, 10);
    expect(order).toBe(32);
  });

  it('gives (1, 1e-6)-DP for one full-batch Gaussian of σ = 4.530877117, as dp_accounting does', () => {
    const fine = Array.from({ length: 99_000 }, (_, i) => 0.001 * (i + 1000));
    expect(epsilonFromRdp(fine, gaussianRdp(4.530877117, 1, fine), 1e-6).epsilon).toBeCloseTo(1, 6);
    // The accountant's own, coarser grid of orders costs at most a hair of ε.
    const eps = epsilonSpent(4.530877117, 1, 1e-6);
    expect(eps).toBeGreaterThanOrEqual(1 - 1e-7);
    expect(eps).toBeLessThan(1.001);
    // Composition: k rounds of σ are one round of σ/√k.
    expect(epsilonSpent(4.530877117 * Math.sqrt(20), 20, 1e-6)).toBeCloseTo(eps, 9);
  });

  it("is Mironov's Gaussian RDP α/(2σ²) per round, composed by addition", () => {
    expect(gaussianRdp(2.71828, 1, [3.14159])[0]).toBeCloseTo(3.14159 / (2 * 2.71828 ** 2), 12);
    expect(gaussianRdp(2.71828, 6, [3.14159])[0]).toBeCloseTo((6 * 3.14159) / (2 * 2.71828 ** 2), 12);
    expect(gaussianRdp(1, 1).length).toBe(RDP_ORDERS.length);
    expect(() => epsilonFromRdp([2], [1, 2], 1e-5)).toThrow(RangeError);
    expect(() => epsilonFromRdp([0.5], [1], 1e-5)).toThrow(RangeError);
  });

  it('is never above the classical RDP conversion and grows with rounds, shrinks with noise', () => {
    for (const [sigma, rounds, delta] of [
      [1, 1, 1e-5],
      [2, 20, 1e-5],
      [10, 20, 1e-6],
      [0.8, 5, 1e-3],
    ] as const) {
      let classical = Infinity;
      for (let a = 1.01; a < 2000; a *= 1.01) classical = Math.min(classical, (rounds * a) / (2 * sigma * sigma) + Math.log(1 / delta) / (a - 1));
      const eps = epsilonSpent(sigma, rounds, delta);
      expect(eps).toBeLessThanOrEqual(classical + 1e-9);
      expect(eps).toBeGreaterThan(0.7 * classical);
      expect(epsilonSpent(sigma, rounds + 1, delta)).toBeGreaterThan(eps);
      expect(epsilonSpent(sigma * 1.1, rounds, delta)).toBeLessThan(eps);
    }
    expect(epsilonSpent(1, 0, 1e-5)).toBe(0);
  });

  it('finds the noise multiplier that spends at most the ε asked for', () => {
    for (const eps of [1, 4, 8]) {
      const sigma = noiseForEpsilon(eps, 20, 1e-5);
      expect(epsilonSpent(sigma, 20, 1e-5)).toBeLessThanOrEqual(eps);
      expect(epsilonSpent(sigma - 0.002, 20, 1e-5)).toBeGreaterThan(eps);
    }
  });
});
