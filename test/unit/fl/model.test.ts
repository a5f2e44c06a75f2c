// Local training's hand-written gradients for the dense models equal tfjs autodiff's for the same loss, and
// training is reproducible from its seed and leaves no tensors behind.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initCore } from '../../../wasm/index.ts';
import { buildModel, getFlatWeights, setFlatWeights, trainLocal, parseModelSpec, ModelSpecError } from '../../../web/src/core/fl/index.ts';
import { initTfWasmNode } from '../../../web/src/core/fl/node.ts';
import { Prng } from '../../../web/src/core/util/index.ts';

beforeAll(async () => {
  await initCore();
  await initTfWasmNode();
});

function data(seed: number, rows: number, features: number): { x: Float32Array; y: Float32Array } {
  const p = new Prng(seed);
  const x = Float32Array.from({ length: rows * features }, () => p.float() * 2 - 1);
  const y = Float32Array.from({ length: rows }, (_, r) => (x[r * features]! + 0.3 * x[r * features + 1]! > 0 ? 1 : 0));
  return { x, y };
}

describe('trainLocal', () => {
  for (const kind of ['logreg', 'mlp'] as const) {
    it(`one ${kind} step equals an autodiff SGD step on mean binary cross-entropy`, async () => {
      const features = 6;
      const rows = 8;
      const { x, y } = data(3, rows, features);
      const model = buildModel({ kind, features, seed: 4 });
      const reference = buildModel({ kind, features, seed: 4 });
      const start = getFlatWeights(model);
      // One epoch with the batch the whole data: one step, whatever the shuffle.
      await trainLocal(model, x, y, features, { epochs: 1, batchSize: rows, learningRate: 0.5, seed: 1 });
      const sgd = tf.train.sgd(0.5);
      sgd.minimize(() => tf.mean(tf.metrics.binaryCrossentropy(tf.tensor2d(y, [rows, 1]), reference.apply(tf.tensor2d(x, [rows, features])) as tf.Tensor)) as tf.Scalar);
      sgd.dispose();
      const mine = getFlatWeights(model);
      const theirs = getFlatWeights(reference);
      expect(mine).not.toEqual(start);
      for (let i = 0; i < mine.length; i++) expect(mine[i]!).toBeCloseTo(theirs[i]!, 5);
      model.dispose();
      reference.dispose();
    });
  }

  it('is reproducible from its seed, learns, and leaves no tensors behind', async () => {
    const { x, y } = data(5, 200, 10);
    const before = tf.memory().numTensors;
    const run = async (seed: number) => {
      const m = buildModel({ kind: 'mlp', features: 10, seed: 2 });
      const loss0 = await trainLocal(m, x, y, 10, { epochs: 1, batchSize: 16, learningRate: 0, seed });
      const loss = await trainLocal(m, x, y, 10, { epochs: 5, batchSize: 16, learningRate: 0.2, seed });
      const w = getFlatWeights(m);
      m.dispose();
      return { w, loss0, loss };
    };
    const a = await run(1);
    const b = await run(1);
    const c = await run(2);
    expect(b.w).toEqual(a.w);
    expect(c.w).not.toEqual(a.w);
    expect(a.loss).toBeLessThan(a.loss0);
    expect(tf.memory().numTensors).toBe(before);
    const m = buildModel({ kind: 'logreg', features: 10, seed: 1 });
    expect(() => setFlatWeights(m, new Float32Array(3))).toThrow(RangeError);
    m.dispose();
  });
});

describe('model specs', () => {
  it('parse the ledger text form and refuse anything else', () => {
    expect(parseModelSpec('mlp:30', 7)).toEqual({ kind: 'mlp', features: 30, seed: 7 });
    expect(parseModelSpec('conv1d:64:2', 7)).toEqual({ kind: 'conv1d', features: 64, channels: 2, seed: 7 });
    for (const bad of ['mlp', 'mlp:0', 'mlp:30:2', 'conv1d:64', 'resnet:3', 'mlp:030']) expect(() => parseModelSpec(bad, 1), bad).toThrow(ModelSpecError);
  });
});
