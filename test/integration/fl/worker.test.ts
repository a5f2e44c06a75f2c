// Local training in a real worker_threads worker through comlink: the worker's weights digest equals the one
// trained in this thread for the same seed, it is reproducible, a different seed differs, a pool of two
// workers gives the same results as one, and a malformed job gets a typed error.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initCore } from '../../../wasm/index.ts';
import { fitStandardiser, parseCsv, standardise, type Dataset } from '../../../web/src/core/fl/dataset.ts';
import { inThreadTrainer, startNodeTrainer, startNodeTrainerPool, type NodeTrainer } from '../../../web/src/core/fl/node.ts';
import type { Trainer } from '../../../web/src/core/fl/trainer.ts';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
let data: Dataset;
let worker: NodeTrainer;
let local: Trainer;
const opts = { epochs: 3, batchSize: 16, learningRate: 0.1, seed: 7 };

beforeAll(async () => {
  await initCore();
  const raw = parseCsv(readFileSync(resolve(repoRoot, '../shared/data/uci-breast-cancer/breast_cancer.csv'), 'utf8'), 'last');
  data = standardise(raw, fitStandardiser(raw));
  worker = await startNodeTrainer();
  local = await inThreadTrainer();
}, 60_000);

afterAll(async () => {
  await worker?.close();
});

describe('trainer worker (worker_threads + comlink, tfjs wasm)', () => {
  const y = () => Float32Array.from(data.y, (v) => (v > 0 ? 1 : 0));

  it('trains to the same digest as this thread, and the model is accurate', async () => {
    expect(worker.backend).toBe('wasm');
    const spec = { kind: 'logreg' as const, features: data.features, seed: 3 };
    const remote = await worker.train({ spec, x: data.x, y: y(), opts });
    const here = await local.train({ spec, x: data.x, y: y(), opts });
    expect(remote.backend).toBe('wasm');
    expect(remote.realm).toBe('worker');
    expect(here.realm).toBe('main');
    expect(remote.digest).toBe(here.digest);
    expect((await worker.evaluate({ spec, weights: remote.weights, x: data.x, y: y() })).accuracy).toBeGreaterThan(0.95);
    expect((await worker.initialWeights(spec)).digest).toBe((await local.initialWeights(spec)).digest);
  }, 60_000);

  it('is reproducible for a seed, differs across seeds, and a pool of two agrees with one worker', async () => {
    const spec = { kind: 'mlp' as const, features: data.features, seed: 5 };
    const a = await worker.train({ spec, x: data.x, y: y(), opts });
    const b = await worker.train({ spec, x: data.x, y: y(), opts });
    const c = await worker.train({ spec, x: data.x, y: y(), opts: { ...opts, seed: 8 } });
    expect(a.digest).toBe(b.digest);
    expect(c.digest).not.toBe(a.digest);
    const pool = await startNodeTrainerPool(2);
    try {
      const both = await Promise.all([pool.train({ spec, x: data.x, y: y(), opts }), pool.train({ spec, x: data.x, y: y(), opts: { ...opts, seed: 8 } })]);
      expect(both.map((r) => r.digest)).toEqual([a.digest, c.digest]);
    } finally {
      await pool.close();
    }
  }, 90_000);

  it('rejects a job whose data does not match the spec with a typed error', async () => {
    await expect(worker.train({ spec: { kind: 'logreg', features: 30, seed: 1 }, x: new Float32Array(31), y: new Float32Array(1), opts })).rejects.toThrow(/do not match/);
  });
});
