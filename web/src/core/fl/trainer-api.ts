// What a training worker exposes through comlink: one local training job in, flat weights and their digest
// out. The same object runs in a browser Web Worker and a Node worker_threads worker; only backend start-up
// differs, so it is passed in.
import * as tf from '@tensorflow/tfjs';
import { initCore } from '../../../../wasm/index.ts';
import { buildModel, getFlatWeights, setFlatWeights, trainLocal, type ModelSpec, type TrainOptions } from './model.ts';
import { weightsDigest } from './round.ts';

export interface TrainJob {
  readonly spec: ModelSpec;
  /** Starting weights; the model's seeded initialisation when absent. */
  readonly weights?: Float32Array;
  readonly x: Float32Array;
  readonly y: Float32Array;
  readonly opts: TrainOptions;
}

export interface TrainResult {
  readonly weights: Float32Array;
  readonly digest: string;
  readonly loss: number;
  readonly backend: string;
  readonly ms: number;
}

export class TrainJobError extends Error {
  override readonly name = 'TrainJobError';
}

export interface TrainerApi {
  /** Starts tfjs on the named backend ('wasm' by default; 'cpu' for the bench's reference). */
  init(backend?: 'wasm' | 'cpu'): Promise<string>;
  train(job: TrainJob): Promise<TrainResult>;
}

export function createTrainer(startWasm: () => Promise<void>): TrainerApi {
  let coreReady: Promise<void> | null = null;
  return {
    async init(backend = 'wasm') {
      coreReady ??= initCore();
      await coreReady;
      if (backend === 'wasm') await startWasm();
      else if (!(await tf.setBackend(backend))) throw new TrainJobError(`backend ${backend} did not start`);
      await tf.ready();
      return tf.getBackend();
    },
    async train(job) {
      const f = job.spec.features;
      if (!Number.isInteger(f) || f <= 0 || job.x.length !== job.y.length * f) throw new TrainJobError('x and y do not match the model spec');
      if (coreReady === null) throw new TrainJobError('init() first');
      const start = performance.now();
      const model = buildModel(job.spec);
      try {
        if (job.weights) setFlatWeights(model, job.weights);
        const loss = await trainLocal(model, job.x, job.y, f, job.opts);
        const weights = getFlatWeights(model).slice();
        return { weights, digest: weightsDigest(weights), loss, backend: tf.getBackend(), ms: performance.now() - start };
      } finally {
        model.dispose();
      }
    },
  };
}
