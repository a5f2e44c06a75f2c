// Tabular datasets for federated learning: a numeric CSV loader (named or last-column label, scikit-learn's
// metadata header recognised), a seeded train/test split, standardisation fitted on the training split only,
// and client partitioners (IID, Dirichlet label skew, unequal sizes).
import { Prng } from '../util/index.ts';

export interface Dataset {
  /** Row-major features, rows × features. */
  readonly x: Float32Array;
  /** Integer class labels. */
  readonly y: Int32Array;
  readonly rows: number;
  readonly features: number;
  readonly featureNames: readonly string[];
}

export class DatasetError extends Error {
  override readonly name = 'DatasetError';
}

/**
 * Parses a numeric CSV. `label` is a column name or 'last'. A first line that is scikit-learn's metadata
 * header (`n_samples,n_features,class names…`) is recognised and skipped; a first line with non-numeric
 * fields is taken as column names.
 */
export function parseCsv(text: string, label: string): Dataset {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length < 2) throw new DatasetError('the CSV has no data rows');
  const first = lines[0]!.split(',').map((s) => s.trim());
  let names: string[] | null = null;
  let start = 0;
  const numeric = (s: string): boolean => s !== '' && Number.isFinite(Number(s));
  const secondWidth = lines[1]!.split(',').length;
  const sklearnHeader = numeric(first[0] ?? '') && numeric(first[1] ?? '') && Number(first[1]) === secondWidth - 1 && first.some((s) => s !== '' && !numeric(s));
  if (sklearnHeader) {
    start = 1;
  } else if (first.some((s) => !numeric(s))) {
    names = first;
    start = 1;
  }
  const width = lines[start]!.split(',').length;
  names ??= Array.from({ length: width }, (_, i) => `f${i}`);
  let labelIndex: number;
  if (label === 'last') labelIndex = width - 1;
  else {
    labelIndex = names.indexOf(label);
    if (labelIndex < 0) throw new DatasetError(`no column named ${JSON.stringify(label)}`);
  }
  const rows = lines.length - start;
  const features = width - 1;
  const x = new Float32Array(rows * features);
  const y = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    const cells = lines[start + r]!.split(',');
    if (cells.length !== width) throw new DatasetError(`row ${r + 1} has ${cells.length} fields, expected ${width}`);
    let c = 0;
    for (let k = 0; k < width; k++) {
      const v = Number(cells[k]);
      if (!Number.isFinite(v)) throw new DatasetError(`row ${r + 1}, column ${k + 1} is not a number`);
      if (k === labelIndex) {
        if (!Number.isInteger(v) || v < 0) throw new DatasetError(`row ${r + 1}: the label must be a class index`);
        y[r] = v;
      } else x[r * features + c++] = v;
    }
  }
  return { x, y, rows, features, featureNames: names.filter((_, k) => k !== labelIndex) };
}

export function subset(d: Dataset, indices: readonly number[]): Dataset {
  const x = new Float32Array(indices.length * d.features);
  const y = new Int32Array(indices.length);
  indices.forEach((r, i) => {
    x.set(d.x.subarray(r * d.features, (r + 1) * d.features), i * d.features);
    y[i] = d.y[r]!;
  });
  return { x, y, rows: indices.length, features: d.features, featureNames: d.featureNames };
}

/** A seeded, stratified split: `testShare` of every class goes to the test set. */
export function trainTestSplit(d: Dataset, testShare: number, seed: number): { train: Dataset; test: Dataset } {
  const rng = new Prng(seed).fork('split');
  const byClass = new Map<number, number[]>();
  for (let r = 0; r < d.rows; r++) {
    const list = byClass.get(d.y[r]!) ?? [];
    list.push(r);
    byClass.set(d.y[r]!, list);
  }
  const train: number[] = [];
  const test: number[] = [];
  for (const cls of [...byClass.keys()].sort((a, b) => a - b)) {
    const rows = rng.shuffle(byClass.get(cls)!);
    const cut = Math.round(rows.length * testShare);
    test.push(...rows.slice(0, cut));
    train.push(...rows.slice(cut));
  }
  return {
    train: subset(
      d,
      train.sort((a, b) => a - b),
    ),
    test: subset(
      d,
      test.sort((a, b) => a - b),
    ),
  };
}

export interface Standardiser {
  readonly mean: Float32Array;
  readonly std: Float32Array;
}

/** Fits per-feature mean and standard deviation on (training) data only. */
export function fitStandardiser(d: Dataset): Standardiser {
  const mean = new Float64Array(d.features);
  const sq = new Float64Array(d.features);
  for (let r = 0; r < d.rows; r++) {
    for (let c = 0; c < d.features; c++) {
      const v = d.x[r * d.features + c]!;
      mean[c]! += v;
      sq[c]! += v * v;
    }
  }
  const m = new Float32Array(d.features);
  const s = new Float32Array(d.features);
  for (let c = 0; c < d.features; c++) {
    const mu = mean[c]! / d.rows;
    m[c] = mu;
    s[c] = Math.sqrt(Math.max(sq[c]! / d.rows - mu * mu, 0)) || 1;
  }
  return { mean: m, std: s };
}

export function standardise(d: Dataset, s: Standardiser): Dataset {
  const x = new Float32Array(d.x.length);
  for (let r = 0; r < d.rows; r++) {
    for (let c = 0; c < d.features; c++) x[r * d.features + c] = (d.x[r * d.features + c]! - s.mean[c]!) / s.std[c]!;
  }
  return { ...d, x };
}

export type Partition = { kind: 'iid' } | { kind: 'dirichlet'; alpha: number } | { kind: 'unequal' };

export function parsePartition(text: string): Partition {
  if (text === 'iid') return { kind: 'iid' };
  if (text === 'unequal') return { kind: 'unequal' };
  const m = /^dirichlet:(\d+(?:\.\d+)?)$/.exec(text);
  if (m && Number(m[1]) > 0) return { kind: 'dirichlet', alpha: Number(m[1]) };
  throw new DatasetError(`unknown partition ${JSON.stringify(text)} (iid, unequal or dirichlet:ALPHA)`);
}

/** Marsaglia–Tsang gamma sampler (with the alpha < 1 boost), for Dirichlet draws. */
function gamma(rng: Prng, alpha: number): number {
  if (alpha < 1) return gamma(rng, alpha + 1) * Math.pow(Math.max(rng.float(), 1e-12), 1 / alpha);
  const d = alpha - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      const u1 = Math.max(rng.float(), 1e-12);
      x = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * rng.float());
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rng.float();
    if (u < 1 - 0.0331 * x ** 4 || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/**
 * Splits row indices among `clients`. IID: a seeded shuffle dealt round-robin. Dirichlet(alpha): each class is
 * spread over clients by proportions drawn from Dir(alpha) (small alpha, strong label skew). Unequal: sizes
 * proportional to 1, 2, …, clients. Every client gets at least two rows.
 */
export function partition(d: Dataset, clients: number, how: Partition, seed: number): number[][] {
  if (!Number.isInteger(clients) || clients < 1 || clients * 2 > d.rows) throw new DatasetError('too many or too few clients');
  const rng = new Prng(seed).fork('partition');
  const parts: number[][] = Array.from({ length: clients }, () => []);
  const all = rng.shuffle(Array.from({ length: d.rows }, (_, i) => i));
  if (how.kind === 'iid') {
    all.forEach((r, i) => parts[i % clients]!.push(r));
  } else if (how.kind === 'unequal') {
    const weights = Array.from({ length: clients }, (_, i) => i + 1);
    const total = weights.reduce((a, b) => a + b, 0);
    let at = 0;
    weights.forEach((w, i) => {
      const take = i === clients - 1 ? all.length - at : Math.max(2, Math.round((all.length * w) / total));
      parts[i]!.push(...all.slice(at, at + take));
      at += take;
    });
  } else {
    const classes = [...new Set(Array.from(d.y))].sort((a, b) => a - b);
    for (const cls of classes) {
      const rows = all.filter((r) => d.y[r] === cls);
      const g = Array.from({ length: clients }, () => gamma(rng, how.alpha));
      const sum = g.reduce((a, b) => a + b, 0);
      let at = 0;
      g.forEach((gi, i) => {
        const take = i === clients - 1 ? rows.length - at : Math.round((rows.length * gi) / sum);
        parts[i]!.push(...rows.slice(at, at + take));
        at += take;
      });
    }
    // Keep every client trainable: top up the smallest from the largest.
    for (const p of parts) {
      while (p.length < 2) {
        const donor = parts.reduce((a, b) => (b.length > a.length ? b : a));
        p.push(donor.pop()!);
      }
    }
  }
  return parts.map((p) => p.sort((a, b) => a - b));
}
