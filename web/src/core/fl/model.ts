// The model registry and local training on tfjs. Weights cross every boundary (worker, network, ledger) as one
// flat Float32Array in the model's fixed layer order; initialisation and batch order are seeded, because
// tfjs's own fit() shuffle is not.
import * as tf from './tf.ts';
import { Prng } from '../util/index.ts';
import type { Pacer } from './pacer.ts';

export type ModelKind = 'logreg' | 'mlp' | 'conv1d';

export interface ModelSpec {
  readonly kind: ModelKind;
  /** Input features (for conv1d: time steps × channels). */
  readonly features: number;
  /** conv1d only: channels per time step. */
  readonly channels?: number;
  readonly seed: number;
}

/** The model's text form on the ledger: `kind:features[:channels]` (contracts/fl.ts MODEL_SPEC). */
export function modelSpecText(spec: Omit<ModelSpec, 'seed'>): string {
  return spec.channels !== undefined ? `${spec.kind}:${spec.features}:${spec.channels}` : `${spec.kind}:${spec.features}`;
}

export class ModelSpecError extends Error {
  override readonly name = 'ModelSpecError';
}

export function parseModelSpec(text: string, seed: number): ModelSpec {
  const m = /^(logreg|mlp|conv1d):([1-9][0-9]{0,5})(?::([1-9][0-9]{0,2}))?$/.exec(text);
  if (!m) throw new ModelSpecError(`not a model spec: ${JSON.stringify(text.slice(0, 40))}`);
  const spec: ModelSpec = { kind: m[1] as ModelKind, features: Number(m[2]), seed, ...(m[3] ? { channels: Number(m[3]) } : {}) };
  if ((spec.kind === 'conv1d') !== (spec.channels !== undefined)) throw new ModelSpecError('conv1d, and only conv1d, names its channels');
  return spec;
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
 * Trains in place with plain SGD on mini-batches in a seeded order and returns the mean binary cross-entropy
 * on the training rows afterwards. Labels are 0/1.
 *
 * Per batch only the batch's rows cross into the backend (one tensor each for x and y: a slice of an uploaded
 * epoch would make the wasm backend copy the whole epoch out of its heap every batch), nothing is read back,
 * and for the dense models (logreg, mlp) the gradients are written out by hand as fused tfjs kernels, about
 * fifteen per batch instead of the layers API's autodiff tape of several dozen: per-kernel overhead, not
 * arithmetic, is what small tabular models spend their time on. conv1d trains through autodiff.
 */
export async function trainLocal(model: tf.LayersModel, x: Float32Array, y: Float32Array, features: number, opts: TrainOptions, pacer?: Pacer): Promise<number> {
  const rows = y.length;
  if (rows === 0 || x.length !== rows * features) throw new RangeError('x and y do not match');
  const dense = denseKind(model, features);
  if (dense) await trainDense(model.trainableWeights, dense, x, y, features, opts, pacer);
  else await trainAutodiff(model, x, y, features, opts, pacer);
  return tf.tidy(() => {
    const p = model.predict(tf.tensor2d(x, [rows, features])) as tf.Tensor;
    return tf.mean(tf.metrics.binaryCrossentropy(tf.tensor2d(y, [rows, 1]), p)).dataSync()[0]!;
  });
}

/**
 * Calls `batch(start, k)` for each mini-batch of every epoch after copying the rows, in the epoch's seeded
 * order, into `bx` (`stride` values a row: the features, then `stride - features` ones) and `by`; between
 * batches the pacer, if any, may rest.
 */
async function forEachBatch(
  x: Float32Array,
  y: Float32Array,
  features: number,
  stride: number,
  opts: TrainOptions,
  bx: Float32Array,
  by: Float32Array,
  batch: (start: number, k: number) => void,
  pacer: Pacer | undefined,
): Promise<void> {
  const rows = y.length;
  const rng = new Prng(opts.seed).fork('batches');
  if (stride > features) bx.fill(1);
  for (let epoch = 0; epoch < opts.epochs; epoch++) {
    const order = rng.shuffle(Array.from({ length: rows }, (_, i) => i));
    order.forEach((r, i) => {
      bx.set(x.subarray(r * features, (r + 1) * features), i * stride);
      by[i] = y[r]!;
    });
    for (let start = 0; start < rows; start += opts.batchSize) {
      batch(start, Math.min(opts.batchSize, rows - start));
      if (pacer) await pacer.between();
    }
  }
}

async function trainAutodiff(model: tf.LayersModel, x: Float32Array, y: Float32Array, features: number, opts: TrainOptions, pacer?: Pacer): Promise<void> {
  const rows = y.length;
  const bx = new Float32Array(rows * features);
  const by = new Float32Array(rows);
  const optimizer = tf.train.sgd(opts.learningRate);
  try {
    const step = (start: number, k: number): void =>
      tf.tidy(() => {
        const xs = tf.tensor2d(bx.subarray(start * features, (start + k) * features), [k, features]);
        const ys = tf.tensor2d(by.subarray(start, start + k), [k, 1]);
        optimizer.minimize(() => tf.mean(tf.metrics.binaryCrossentropy(ys, model.apply(xs, { training: true }) as tf.Tensor)) as tf.Scalar);
      });
    await forEachBatch(x, y, features, features, opts, bx, by, step, pacer);
  } finally {
    optimizer.dispose();
  }
}

/** 'logreg' or 'mlp' when the model is one of buildModel's dense models over `features` inputs. */
function denseKind(model: tf.LayersModel, features: number): 'logreg' | 'mlp' | null {
  const w = model.trainableWeights;
  if (w.length === 2 && w[0]!.shape[0] === features && w[0]!.shape[1] === 1) return 'logreg';
  if (w.length === 4 && w[0]!.shape[0] === features && w[2]!.shape[1] === 1 && model.layers.length === 2) return 'mlp';
  return null;
}

/**
 * SGD on mean binary cross-entropy with a sigmoid output, gradients by hand: dL/dz = (p − y) / k, so with
 * `lr` = learning rate / k the step is W ← W − xᵀ·(lr·(p − y)); through the hidden ReLU layer
 * dh = (dz·W₂ᵀ) ⊙ [h > 0]. Fewer kernels a batch: the first layer's bias rides as the last row of its weights
 * against a column of ones appended to every input row (one matMul updates both; written back to the layer's
 * two variables at the end), and the output bias's gradient is `ones`·dz, a [1, k] row of ones times dz (the
 * wasm backend runs a sum over axis 0 as a transpose into a fresh tensor, then the sum).
 */
async function trainDense(vars: tf.LayerVariable[], kind: 'logreg' | 'mlp', x: Float32Array, y: Float32Array, features: number, opts: TrainOptions, pacer?: Pacer): Promise<void> {
  const rows = y.length;
  const stride = features + 1;
  const [w1, b1, w2, b2] = vars as [tf.LayerVariable, tf.LayerVariable, tf.LayerVariable?, tf.LayerVariable?];
  const units = w1.shape[1]!;
  const bx = new Float32Array(rows * stride);
  const by = new Float32Array(rows);
  const full = Math.min(opts.batchSize, rows);
  const lrFull = tf.scalar(opts.learningRate / full);
  const onesFull = tf.ones([1, full]) as tf.Tensor2D;
  const joined = tf.tidy(() => tf.concat([w1.read(), tf.reshape(b1.read(), [1, units])], 0)) as tf.Tensor2D;
  const first = tf.variable(joined);
  joined.dispose();
  try {
    const step = (start: number, k: number): void =>
      tf.tidy(() => {
        const xs = tf.tensor2d(bx.subarray(start * stride, (start + k) * stride), [k, stride]);
        const ys = tf.tensor2d(by.subarray(start, start + k), [k, 1]);
        const lr = k === full ? lrFull : tf.scalar(opts.learningRate / k);
        if (kind === 'logreg') {
          const p = tf.fused.matMul({ a: xs, b: first, activation: 'sigmoid' });
          first.assign(tf.sub(first, tf.matMul(xs, tf.mul(tf.sub(p, ys), lr) as tf.Tensor2D, true, false)));
          return;
        }
        const ones = k === full ? onesFull : (tf.ones([1, k]) as tf.Tensor2D);
        const W2 = w2!.read() as tf.Tensor2D;
        const h = tf.fused.matMul({ a: xs, b: first, activation: 'relu' });
        const p = tf.fused.matMul({ a: h, b: W2, bias: b2!.read(), activation: 'sigmoid' });
        const dz = tf.mul(tf.sub(p, ys), lr) as tf.Tensor2D;
        const dh = tf.mul(tf.matMul(dz, W2, false, true), tf.step(h)) as tf.Tensor2D;
        w2!.write(tf.sub(W2, tf.matMul(h, dz, true, false)));
        b2!.write(tf.sub(b2!.read(), tf.reshape(tf.matMul(ones, dz), [1])));
        first.assign(tf.sub(first, tf.matMul(xs, dh, true, false)));
      });
    await forEachBatch(x, y, features, stride, opts, bx, by, step, pacer);
  } finally {
    tf.tidy(() => {
      w1.write(tf.slice(first, [0, 0], [features, units]));
      // Sliced from the flattened weights, not reshaped from a [1, units] slice: the wasm backend's reshape
      // keeps the source's rank on the shared data, and its fused matMul refuses a bias stored as rank 2.
      b1.write(tf.slice(tf.reshape(first, [stride * units]), [features * units], [units]));
    });
    first.dispose();
    lrFull.dispose();
    onesFull.dispose();
  }
}

/** Predicted probabilities of class 1. */
export function predict(model: tf.LayersModel, x: Float32Array, features: number): Float32Array {
  return tf
    .tidy(() => {
      const xs = tf.tensor2d(x, [x.length / features, features]);
      return (model.predict(xs) as tf.Tensor).dataSync() as Float32Array;
    })
    .slice();
}
