// Local training in a real worker_threads worker through comlink: the worker's weights digest equals the one
// trained in this thread for the same seed, it is reproducible, a different seed differs, and a malformed job
// gets a typed error.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initCore } from '../../../wasm/index.ts';
import { initTfWasmNode } from '../../../web/src/core/fl/backend-node.ts';
import { fitStandardiser, parseCsv, standardise, type Dataset } from '../../../web/src/core/fl/dataset.ts';
import { buildModel, getFlatWeights, predict, trainLocal } from '../../../web/src/core/fl/model.ts';
import { accuracy } from '../../../web/src/core/fl/metrics.ts';
import { startNodeTrainer, type NodeTrainer } from '../../../web/src/core/fl/node-trainer.ts';
import { weightsDigest } from '../../../web/src/core/fl/round.ts';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
let data: Dataset;
let trainer: NodeTrainer;
const opts = { epochs: 3, batchSize: 16, learningRate: 0.1, seed: 7 };

beforeAll(async () => {
  await initCore();
  await initTfWasmNode();
  const raw = parseCsv(readFileSync(resolve(repoRoot, '../shared/data/uci-breast-cancer/breast_cancer.csv'), 'utf8'), 'last');
  data = standardise(raw, fitStandardiser(raw));
  trainer = startNodeTrainer();
  expect(await trainer.api.init('wasm')).toBe('wasm');
}, 60_000);

afterAll(async () => {
  await trainer?.close();
});

describe('trainer worker (worker_threads + comlink, tfjs wasm)', () => {
  const y = () => Float32Array.from(data.y, (v) => (v > 0 ? 1 : 0));

  it('trains to the same digest as this thread, and the model is accurate', async () => {
    const spec = { kind: 'logreg' as const, features: data.features, seed: 3 };
    const remote = await trainer.api.train({ spec, x: data.x, y: y(), opts });
    const local = buildModel(spec);
    await trainLocal(local, data.x, y(), data.features, opts);
    const weights = getFlatWeights(local);
    expect(remote.backend).toBe('wasm');
    expect(remote.digest).toBe(weightsDigest(weights));
    expect(accuracy(predict(local, data.x, data.features), y())).toBeGreaterThan(0.95);
    local.dispose();
  }, 60_000);

  it('is reproducible for a seed and differs across seeds', async () => {
    const spec = { kind: 'mlp' as const, features: data.features, seed: 5 };
    const a = await trainer.api.train({ spec, x: data.x, y: y(), opts });
    const b = await trainer.api.train({ spec, x: data.x, y: y(), opts });
    const c = await trainer.api.train({ spec, x: data.x, y: y(), opts: { ...opts, seed: 8 } });
    expect(a.digest).toBe(b.digest);
    expect(c.digest).not.toBe(a.digest);
  }, 60_000);

  it('rejects a job whose data does not match the spec with a typed error', async () => {
    await expect(
      trainer.api.train({ spec: { kind: 'logreg', features: 30, seed: 1 }, x: new Float32Array(31), y: new Float32Array(1), opts }),
    ).rejects.toThrow(/do not match/);
  });
});
