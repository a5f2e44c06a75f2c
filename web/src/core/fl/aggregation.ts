// Aggregation rules over flat Float32 update vectors. Pure and deterministic: the caller passes updates in
// the ledger-agreed order (sorted by update digest), every rule reads them in that order and accumulates in
// float64 before rounding once to float32, so every honest node computes the same bytes.

export interface ClientUpdate {
  /** The model delta (new weights minus the round's global weights), flattened. */
  readonly delta: Float32Array;
  /** Training samples behind the update (FedAvg's weight). */
  readonly samples: number;
}

export type RuleName = 'fedavg' | 'clipped' | 'trimmed' | 'median' | 'krum';

export class AggregationError extends Error {
  override readonly name = 'AggregationError';
}

function check(updates: readonly ClientUpdate[]): number {
  if (updates.length === 0) throw new AggregationError('no updates to aggregate');
  const dim = updates[0]!.delta.length;
  for (const u of updates) {
    if (u.delta.length !== dim) throw new AggregationError('updates have different lengths');
    if (!(u.samples > 0) || !Number.isFinite(u.samples)) throw new AggregationError('an update has no samples');
    for (let i = 0; i < dim; i++) if (!Number.isFinite(u.delta[i]!)) throw new AggregationError('an update is not finite');
  }
  return dim;
}

export function l2Norm(v: Float32Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return Math.sqrt(s);
}

function medianOf(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Size-weighted mean (McMahan et al.). No defence: one scaled update moves it arbitrarily. */
export function fedAvg(updates: readonly ClientUpdate[]): Float32Array {
  const dim = check(updates);
  const acc = new Float64Array(dim);
  let total = 0;
  for (const u of updates) {
    total += u.samples;
    for (let i = 0; i < dim; i++) acc[i]! += u.delta[i]! * u.samples;
  }
  const out = new Float32Array(dim);
  for (let i = 0; i < dim; i++) out[i] = acc[i]! / total;
  return out;
}

/**
 * Norm-clipped, size-weighted mean: every update is scaled down to at most `factor` times the median norm, so
 * a scaled or noisy update keeps at most the influence of an honest one while honest non-IID updates, whose
 * norms are alike, pass unchanged.
 */
export function clippedMean(updates: readonly ClientUpdate[], factor = 2): Float32Array {
  const dim = check(updates);
  const norms = updates.map((u) => l2Norm(u.delta));
  const bound = factor * medianOf(norms);
  const acc = new Float64Array(dim);
  let total = 0;
  updates.forEach((u, k) => {
    const scale = norms[k]! > bound && norms[k]! > 0 ? bound / norms[k]! : 1;
    total += u.samples;
    for (let i = 0; i < dim; i++) acc[i]! += u.delta[i]! * scale * u.samples;
  });
  const out = new Float32Array(dim);
  for (let i = 0; i < dim; i++) out[i] = acc[i]! / total;
  return out;
}

/** Coordinate-wise trimmed mean: drops the `trim` largest and smallest values of every coordinate. */
export function trimmedMean(updates: readonly ClientUpdate[], trim: number): Float32Array {
  const dim = check(updates);
  const n = updates.length;
  if (!Number.isInteger(trim) || trim < 0 || 2 * trim >= n) throw new AggregationError(`cannot trim ${trim} of ${n} on each side`);
  const out = new Float32Array(dim);
  const column = new Float64Array(n);
  for (let i = 0; i < dim; i++) {
    for (let k = 0; k < n; k++) column[k] = updates[k]!.delta[i]!;
    column.sort();
    let s = 0;
    for (let k = trim; k < n - trim; k++) s += column[k]!;
    out[i] = s / (n - 2 * trim);
  }
  return out;
}

/** Coordinate-wise median. */
export function coordinateMedian(updates: readonly ClientUpdate[]): Float32Array {
  const dim = check(updates);
  const n = updates.length;
  const out = new Float32Array(dim);
  const column = new Float64Array(n);
  for (let i = 0; i < dim; i++) {
    for (let k = 0; k < n; k++) column[k] = updates[k]!.delta[i]!;
    column.sort();
    const m = n >> 1;
    out[i] = n % 2 === 1 ? column[m]! : (column[m - 1]! + column[m]!) / 2;
  }
  return out;
}

/**
 * Multi-Krum (Blanchard et al.): scores each update by the summed squared distances to its n - f - 2 nearest
 * neighbours, keeps the m best-scored (ties by position, i.e. by digest order) and averages them by size.
 */
export function multiKrum(updates: readonly ClientUpdate[], f: number, m = updates.length - f): Float32Array {
  const dim = check(updates);
  const n = updates.length;
  if (!Number.isInteger(f) || f < 0 || n - f - 2 < 1) throw new AggregationError(`Krum needs n - f - 2 >= 1 (n = ${n}, f = ${f})`);
  const dist: number[][] = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let a = 0; a < n; a++) {
    for (let b = a + 1; b < n; b++) {
      let s = 0;
      const da = updates[a]!.delta;
      const db = updates[b]!.delta;
      for (let i = 0; i < dim; i++) {
        const d = da[i]! - db[i]!;
        s += d * d;
      }
      dist[a]![b] = s;
      dist[b]![a] = s;
    }
  }
  const scores = dist.map((row, a) => {
    const others = row.filter((_, b) => b !== a).sort((x, y) => x - y);
    return others.slice(0, n - f - 2).reduce((s, x) => s + x, 0);
  });
  const chosen = scores
    .map((score, index) => ({ score, index }))
    .sort((x, y) => x.score - y.score || x.index - y.index)
    .slice(0, Math.max(1, Math.min(n, m)))
    .map((c) => updates[c.index]!);
  return fedAvg(chosen);
}

/** Applies a rule by name; `f` is the number of Byzantine clients tolerated (trim and Krum use it). */
export function aggregate(rule: RuleName, updates: readonly ClientUpdate[], f: number): Float32Array {
  switch (rule) {
    case 'fedavg':
      return fedAvg(updates);
    case 'clipped':
      return clippedMean(updates);
    case 'trimmed':
      return trimmedMean(updates, Math.min(f, Math.floor((updates.length - 1) / 2)));
    case 'median':
      return coordinateMedian(updates);
    case 'krum':
      return multiKrum(updates, f);
  }
}
