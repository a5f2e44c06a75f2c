import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DatasetError, fitStandardiser, parseCsv, parsePartition, partition, standardise, trainTestSplit } from '../../../web/src/core/fl/dataset.ts';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const csv = readFileSync(resolve(repoRoot, '../shared/data/uci-breast-cancer/breast_cancer.csv'), 'utf8');

describe('CSV loading', () => {
  it("reads scikit-learn's breast-cancer file, skipping its metadata header", () => {
    const d = parseCsv(csv, 'last');
    expect(d.rows).toBe(569);
    expect(d.features).toBe(30);
    expect(Array.from(d.y).filter((v) => v === 0)).toHaveLength(212);
    expect(Array.from(d.y).filter((v) => v === 1)).toHaveLength(357);
    expect(d.x[0]).toBeCloseTo(17.99, 5);
  });

  it('reads a header of names and a named label column', () => {
    const d = parseCsv('a,label,b\n1,0,2\n3,1,4\n', 'label');
    expect(d.featureNames).toEqual(['a', 'b']);
    expect(Array.from(d.x)).toEqual([1, 2, 3, 4]);
    expect(Array.from(d.y)).toEqual([0, 1]);
  });

  it('rejects bad input with a typed error', () => {
    expect(() => parseCsv('a,b\n1,2\n', 'c')).toThrow(DatasetError);
    expect(() => parseCsv('a,b\n1,x\n', 'b')).toThrow(DatasetError);
    expect(() => parseCsv('a,b\n1,2\n3\n', 'b')).toThrow(DatasetError);
    expect(() => parseCsv('a,b\n1,0.5\n', 'b')).toThrow(DatasetError);
    expect(() => parsePartition('dirichlet:-1')).toThrow(DatasetError);
  });
});

describe('split, standardisation and partitions', () => {
  const d = parseCsv(csv, 'last');

  it('splits stratified and reproducibly', () => {
    const a = trainTestSplit(d, 0.2, 1);
    const b = trainTestSplit(d, 0.2, 1);
    const c = trainTestSplit(d, 0.2, 2);
    expect(a.train.rows + a.test.rows).toBe(569);
    expect(Array.from(a.test.y).filter((v) => v === 0).length).toBe(Math.round(212 * 0.2));
    expect(Buffer.from(a.test.x.buffer)).toEqual(Buffer.from(b.test.x.buffer));
    expect(Buffer.from(a.test.x.buffer)).not.toEqual(Buffer.from(c.test.x.buffer));
  });

  it('fits the standardiser on the training split only', () => {
    const { train, test } = trainTestSplit(d, 0.2, 1);
    const s = fitStandardiser(train);
    const z = standardise(train, s);
    let mean = 0;
    for (let r = 0; r < z.rows; r++) mean += z.x[r * z.features]!;
    expect(Math.abs(mean / z.rows)).toBeLessThan(1e-4);
    // The test split's own mean is not forced to zero: no leakage.
    const zt = standardise(test, s);
    let tmean = 0;
    for (let r = 0; r < zt.rows; r++) tmean += zt.x[r * zt.features]!;
    expect(Math.abs(tmean / zt.rows)).toBeGreaterThan(1e-4);
  });

  it('partitions cover every row exactly once, and Dirichlet(0.5) skews labels', () => {
    for (const how of ['iid', 'unequal', 'dirichlet:0.5'].map(parsePartition)) {
      const parts = partition(d, 5, how, 42);
      const all = parts.flat().sort((a, b) => a - b);
      expect(all).toEqual(Array.from({ length: 569 }, (_, i) => i));
      for (const p of parts) expect(p.length).toBeGreaterThanOrEqual(2);
    }
    const share = (p: number[]): number => p.filter((r) => d.y[r] === 1).length / p.length;
    const iid = partition(d, 5, { kind: 'iid' }, 42).map(share);
    const skew = partition(d, 5, { kind: 'dirichlet', alpha: 0.5 }, 42).map(share);
    const spread = (v: number[]): number => Math.max(...v) - Math.min(...v);
    expect(spread(iid)).toBeLessThan(0.1);
    expect(spread(skew)).toBeGreaterThan(0.3);
    const sizes = partition(d, 5, { kind: 'unequal' }, 42).map((p) => p.length);
    expect(sizes[4]! / sizes[0]!).toBeGreaterThan(3);
  });
});
