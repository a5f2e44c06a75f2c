// The model registry and local training on tfjs. Weights cross every boundary (worker, network, ledger) as one
// flat Float32Array in the model's fixed layer order; initialisation and batch order are seeded, because
// tfjs's own fit() shuffle is not.
import * as tf from '@tensorflow/tfjs';
import { Prng } from '../util/index.ts';

export type ModelKind = 'logreg' | 'mlp' | 'conv1d';

export interface ModelSpec {
  readonly kind: ModelKind;
  /** Input features (for conv1d: time steps × channels). */
  readonly features: number;
  /** conv1d only: channels per time step. */
  readonly channels?: number;
  readonly seed: number;
}

export function buildModel(spec: ModelSpec): tf.LayersModel {
  const init = (k: number) => tf.initializers.glorotUniform({ seed: spec.seed * 31 + k });
  const zeros = tf.initializers.zeros();
  const model = tf.sequential();
  switch (spec.kind) {
    case 'logreg':
      model.add(tf.layers.dense({ units: 1, inputShape: [spec.features], activation: 'sigmoid', kernelInitializer: init(1), biasInitializer: zeros }));
      break;
    case 'mlp':
      model.add(tf.layers.dense({ units: 16, inputShape: [spec.features], activation: 'relu', kernelInitializer: init(1), biasInitializer: zeros }));
      model.add(tf.layers.dense({ units: 1, activation: 'sigmoid', kernelInitializer: init(2), biasInitializer: zeros }));
      break;
    case 'conv1d': {
      const channels = spec.channels ?? 1;
      const steps = Math.floor(spec.features / channels);
      model.add(tf.layers.reshape({ targetShape: [steps, channels], inputShape: [spec.features] }));
      model.add(tf.layers.conv1d({ filters: 8, kernelSize: 5, activation: 'relu', kernelInitializer: init(1), biasInitializer: zeros }));
      model.add(tf.layers.globalAveragePooling1d());
      model.add(tf.layers.dense({ units: 1, activation: 'sigmoid', kernelInitializer: init(2), biasInitializer: zeros }));
      break;
    }
  }
  return model;
}

export function getFlatWeights(model: tf.LayersModel): Float32Array {
  const parts = model.getWeights().map((w) => w.dataSync() as Float32Array);
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function setFlatWeights(model: tf.LayersModel, flat: Float32Array): void {
  const current = model.getWeights();
  const total = current.reduce((s, w) => s + w.size, 0);
  if (flat.length !== total) throw new RangeError(`expected ${total} weights, got ${flat.length}`);
  let at = 0;
  const next = current.map((w) => {
    const t = tf.tensor(flat.subarray(at, at + w.size), w.shape, 'float32');
    at += w.size;
    return t;
  });
  model.setWeights(next);
  next.forEach((t) => t.dispose());
}

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  seed: number;
}

/**
 * Trains in place with plain SGD on batches in a seeded order, and returns the mean loss of the last epoch.
 * Labels are 0/1.
 */
export async function trainLocal(
  model: tf.LayersModel,
  x: Float32Array,
  y: Float32Array,
  features: number,
  opts: TrainOptions,
): Promise<number> {
  const rows = y.length;
  model.compile({ optimizer: tf.train.sgd(opts.learningRate), loss: 'binaryCrossentropy' });
  const rng = new Prng(opts.seed).fork('batches');
  let lastLoss = 0;
  for (let epoch = 0; epoch < opts.epochs; epoch++) {
    const order = rng.shuffle(Array.from({ length: rows }, (_, i) => i));
    const bx = new Float32Array(rows * features);
    const by = new Float32Array(rows);
    order.forEach((r, i) => {
      bx.set(x.subarray(r * features, (r + 1) * features), i * features);
      by[i] = y[r]!;
    });
    let sum = 0;
    let batches = 0;
    for (let start = 0; start < rows; start += opts.batchSize) {
      const end = Math.min(rows, start + opts.batchSize);
      const xs = tf.tensor2d(bx.subarray(start * features, end * features), [end - start, features]);
      const ys = tf.tensor2d(by.subarray(start, end), [end - start, 1]);
      const loss = (await model.trainOnBatch(xs, ys)) as number;
      xs.dispose();
      ys.dispose();
      sum += loss;
      batches++;
    }
    lastLoss = sum / batches;
  }
  return lastLoss;
}

/** Predicted probabilities of class 1. */
export function predict(model: tf.LayersModel, x: Float32Array, features: number): Float32Array {
  return tf.tidy(() => {
    const xs = tf.tensor2d(x, [x.length / features, features]);
    return (model.predict(xs) as tf.Tensor).dataSync() as Float32Array;
  }).slice();
}
