// Client-level differential privacy for a round (DP-FedAvg, McMahan et al. 2018): every counted update is
// clipped to L2 norm C, the clipped updates are summed and divided by the number of clinics the round counts
// (fixed on the ledger when the round opens, so the denominator does not depend on anyone's data), and
// Gaussian noise of standard deviation σ·C / m is added to the mean. A Rényi-DP accountant tracks ε at a
// stated δ across a task's rounds.
//
// Every honest node must add the same noise, so it is drawn from a seed all of them derive from what only
// the round's participants hold: SHA-256 over the counted update bytes in the agreed order. A ledger reader
// sees the update digests but not their bytes, so it cannot recompute the noise and strip it from the model.
// What DP protects: whoever obtains the global model learns little about any one clinic's data. It does not
// hide updates from the other participating clinics, who receive them peer to peer (secure aggregation would).
import { sha256 } from '../../../../wasm/index.ts';
import { exactLn } from '../security/index.ts';
import { concatBytes } from '../util/index.ts';
import { AggregationError } from './aggregation.ts';

export interface DpOptions {
  /** L2 clipping bound per update. */
  readonly clip: number;
  /** σ: the noise standard deviation in units of the clipping bound. */
  readonly noiseMultiplier: number;
  /** m: how many clinics the round counts (the mean's fixed denominator). */
  readonly denominator: number;
  /** Seeds the noise (see noiseSeed). */
  readonly seed: Uint8Array;
}

/** The noise seed of a round: SHA-256("hygeia/fl/dp-noise/v1" ‖ task ‖ 0 ‖ round ‖ the counted update bytes in order). */
export function noiseSeed(task: string, round: number, updates: readonly Uint8Array[]): Uint8Array {
  const head = new TextEncoder().encode(`hygeia/fl/dp-noise/v1\u0000${task}\u0000${round}\u0000`);
  return sha256(concatBytes(head, ...updates));
}

/**
 * Uniform doubles in (0, 1) from SHA-256 in counter mode over a 32-byte seed: unpredictable without the seed
 * and identical on every engine.
 */
export class HashStream {
  private block: Uint8Array = new Uint8Array(0);
  private at = 0;
  private counter = 0;
  constructor(private readonly seed: Uint8Array) {}

  uniform(): number {
    if (this.at + 7 > this.block.length) {
      const c = new Uint8Array(8);
      new DataView(c.buffer).setFloat64(0, this.counter++, true);
      this.block = sha256(concatBytes(this.seed, c));
      this.at = 0;
    }
    // 53 random bits: 7 bytes, the top 3 bits of the last one dropped.
    let x = 0;
    for (let i = 0; i < 6; i++) x = x * 256 + this.block[this.at + i]!;
    x = x * 32 + (this.block[this.at + 6]! >> 3);
    this.at += 7;
    return (x + 0.5) / 2 ** 53;
  }
}

/** Standard normal pairs by Marsaglia's polar method over a HashStream (sqrt is correctly rounded). */
export class Gaussian {
  private spare: number | null = null;
  constructor(private readonly stream: HashStream) {}

  next(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    for (;;) {
      const u = 2 * this.stream.uniform() - 1;
      const v = 2 * this.stream.uniform() - 1;
      const s = u * u + v * v;
      if (s >= 1 || s === 0) continue;
      const f = Math.sqrt((-2 * exactLn(s)) / s);
      this.spare = v * f;
      return u * f;
    }
  }
}

/** The update scaled down to L2 norm `clip` if it is longer (float64 accumulation, one rounding per value). */
export function clipUpdate(delta: Float32Array, clip: number): Float32Array {
  let s = 0;
  for (let i = 0; i < delta.length; i++) s += delta[i]! * delta[i]!;
  const n = Math.sqrt(s);
  if (n <= clip || n === 0) return delta;
  const k = clip / n;
  return delta.map((v) => v * k);
}

/** The DP mean of a round's counted updates (see the file comment). */
export function dpMean(updates: readonly Float32Array[], o: DpOptions): Float32Array {
  if (updates.length === 0) throw new AggregationError('no updates to aggregate');
  if (!(o.clip > 0) || !(o.noiseMultiplier > 0) || !Number.isInteger(o.denominator) || o.denominator < updates.length) {
    throw new AggregationError('DP needs clip > 0, noise > 0 and a denominator of at least the number of updates');
  }
  const dim = updates[0]!.length;
  const acc = new Float64Array(dim);
  for (const u of updates) {
    if (u.length !== dim) throw new AggregationError('updates have different lengths');
    const c = clipUpdate(u, o.clip);
    for (let i = 0; i < dim; i++) acc[i]! += c[i]!;
  }
  const g = new Gaussian(new HashStream(o.seed));
  const std = (o.noiseMultiplier * o.clip) / o.denominator;
  const out = new Float32Array(dim);
  for (let i = 0; i < dim; i++) out[i] = acc[i]! / o.denominator + std * g.next();
  return out;
}

// ---- the accountant ------------------------------------------------------------------------------------------

/** Rényi orders the accountant minimises over. */
export const RDP_ORDERS: readonly number[] = [
  ...Array.from({ length: 99 }, (_, i) => 1 + (i + 1) / 100),
  ...Array.from({ length: 100 }, (_, i) => 2 + i / 10),
  ...Array.from({ length: 117 }, (_, i) => 12 + i),
  ...[160, 192, 256, 384, 512, 1024],
];

/**
 * The Rényi DP of `rounds` Gaussian mechanisms of noise multiplier σ (sensitivity 1 in units of the clipping
 * bound) with every clinic counted, no sampling (Mironov 2017, Prop. 7, composed): RDP(α) = rounds·α / (2σ²).
 */
export function gaussianRdp(noiseMultiplier: number, rounds: number, orders: readonly number[] = RDP_ORDERS): number[] {
  if (!(noiseMultiplier > 0) || !(rounds >= 0)) throw new RangeError('need σ > 0 and rounds ≥ 0');
  return orders.map((a) => (rounds * a) / (2 * noiseMultiplier * noiseMultiplier));
}

/**
 * The smallest ε at δ an RDP curve implies, and the order it is met at: Canonne, Kamath and Steinke (2020,
 * Prop. 12) ε = RDP(α) + ln(1 − 1/α) − ln(δ·α)/(α − 1), the conversion Google's dp_accounting and Opacus use;
 * ε = 0 where the KL bound already gives δ (δ² > 1 − e^(−RDP)); orders at or below 1.01 are numerically
 * unstable and skipped, as there.
 */
export function epsilonFromRdp(orders: readonly number[], rdp: readonly number[], delta: number): { epsilon: number; order: number } {
  if (orders.length !== rdp.length || orders.length === 0) throw new RangeError('one RDP value per order');
  if (!(delta > 0 && delta < 1)) throw new RangeError('need 0 < δ < 1');
  let best = { epsilon: Number.POSITIVE_INFINITY, order: orders[0]! };
  orders.forEach((a, i) => {
    const r = rdp[i]!;
    if (!(a >= 1) || !(r >= 0)) throw new RangeError('orders must be ≥ 1 and RDP ≥ 0');
    let eps = Number.POSITIVE_INFINITY;
    if (delta * delta + Math.expm1(-r) > 0) eps = 0;
    else if (a > 1.01) eps = r + Math.log1p(-1 / a) - Math.log(delta * a) / (a - 1);
    if (eps < best.epsilon) best = { epsilon: eps, order: a };
  });
  return { epsilon: Math.max(0, best.epsilon), order: best.order };
}

/** ε at δ after `rounds` full-participation Gaussian rounds of noise multiplier σ (the accountant's answer). */
export function epsilonSpent(noiseMultiplier: number, rounds: number, delta: number): number {
  if (rounds === 0) return 0;
  if (!(noiseMultiplier > 0) || !(delta > 0 && delta < 1) || !(rounds > 0)) throw new RangeError('need σ > 0, 0 < δ < 1 and rounds > 0');
  return epsilonFromRdp(RDP_ORDERS, gaussianRdp(noiseMultiplier, rounds), delta).epsilon;
}

/** The smallest noise multiplier (to 1/1000) whose ε after `rounds` rounds is at most `epsilon` at δ. */
export function noiseForEpsilon(epsilon: number, rounds: number, delta: number): number {
  if (!(epsilon > 0)) throw new RangeError('ε must be positive');
  let lo = 0.001;
  let hi = 1;
  while (epsilonSpent(hi, rounds, delta) > epsilon) hi *= 2;
  while (hi - lo > 0.0005) {
    const mid = (lo + hi) / 2;
    if (epsilonSpent(mid, rounds, delta) > epsilon) lo = mid;
    else hi = mid;
  }
  return Math.ceil(hi * 1000) / 1000;
}
