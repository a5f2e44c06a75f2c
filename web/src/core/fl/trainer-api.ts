// What a training worker exposes through comlink: the model's seeded starting weights, one local training
// job, and an evaluation, each with flat weights in and out. The same object runs in a browser Web Worker and
// a Node worker_threads worker (and in this thread for tests); only the tfjs backend's start-up differs, so
// it is passed in.
import * as tf from './tf.ts';
import { initCore } from '../../../../wasm/index.ts';
import { accuracy } from './metrics.ts';
import { buildModel, getFlatWeights, predict, setFlatWeights, trainLocal, type ModelSpec, type TrainOptions } from './model.ts';
import { Pacer, realTimePacerClock, type PacerOptions } from './pacer.ts';
import { weightsDigest } from './wire.ts';

export interface TrainJob {
  readonly spec: ModelSpec;
  /** Starting weights; the model's seeded initialisation when absent. */
  readonly weights?: Float32Array;
  readonly x: Float32Array;
  /** Labels 0/1. */
  readonly y: Float32Array;
  readonly opts: TrainOptions;
}

export interface TrainResult {
  readonly weights: Float32Array;
  readonly digest: string;
  readonly loss: number;
  readonly backend: string;
  /** Where the job ran: a worker (Web Worker or worker_threads) or a page / main thread. */
  readonly realm: 'worker' | 'main';
  readonly ms: number;
  /** Time the trainer rested to leave the CPU to others (ms; 0 when it does not pace itself). */
  readonly restedMs: number;
}

export interface EvalJob {
  readonly spec: ModelSpec;
  readonly weights: Float32Array;
  readonly x: Float32Array;
  readonly y: Float32Array;
}

export interface EvalResult {
  readonly accuracy: number;
  /** Predicted probabilities of class 1, one per row. */
  readonly prob: Float32Array;
}

export class TrainJobError extends Error {
  override readonly name = 'TrainJobError';
}

export interface TrainerApi {
  /** Starts tfjs on the named backend ('wasm' by default; 'cpu' for the bench's reference). */
  init(backend?: 'wasm' | 'cpu'): Promise<string>;
  /** The model's seeded initial weights and their digest (what round 1 of a task starts from). */
  initialWeights(spec: ModelSpec): Promise<{ weights: Float32Array; digest: string }>;
  train(job: TrainJob): Promise<TrainResult>;
  evaluate(job: EvalJob): Promise<EvalResult>;
}

/** A dedicated Web Worker has importScripts and no document; a worker_threads worker is not the main thread. */
function realm(): 'worker' | 'main' {
  const g = globalThis as { importScripts?: unknown; document?: unknown; process?: { versions?: { node?: string } } };
  if (typeof g.importScripts === 'function' && g.document === undefined) return 'worker';
  if (g.process?.versions?.node) return isNodeWorker ? 'worker' : 'main';
  return 'main';
}

let isNodeWorker = false;
/** Called by the worker_threads entry (node:worker_threads cannot be imported here: this file runs in pages). */
export function markNodeWorker(): void {
  isNodeWorker = true;
}

export interface TrainerSettings {
  /** Train in paced slices (a page's worker: the page comes first); absent, train flat out (Node, benches). */
  readonly pace?: PacerOptions;
}

export function createTrainer(startWasm: () => Promise<void>, settings: TrainerSettings = {}): TrainerApi {
  let coreReady: Promise<void> | null = null;
  const checkData = (spec: ModelSpec, x: Float32Array, y: Float32Array): void => {
    const f = spec.features;
    if (!Number.isInteger(f) || f <= 0 || x.length !== y.length * f) throw new TrainJobError('x and y do not match the model spec');
    if (coreReady === null) throw new TrainJobError('init() first');
  };
  const withModel = async <T>(spec: ModelSpec, weights: Float32Array | undefined, run: (m: tf.LayersModel) => Promise<T> | T): Promise<T> => {
    const model = buildModel(spec);
    try {
      if (weights) setFlatWeights(model, weights);
      return await run(model);
    } finally {
      model.dispose();
    }
  };
  return {
    async init(backend = 'wasm') {
      coreReady ??= initCore();
      await coreReady;
      if (backend === 'wasm') await startWasm();
      else {
        // The bench's reference backend, loaded only when asked for.
        await import('@tensorflow/tfjs-backend-cpu');
        if (!(await tf.setBackend(backend))) throw new TrainJobError(`backend ${backend} did not start`);
      }
      await tf.ready();
      return tf.getBackend();
    },
    async initialWeights(spec) {
      if (coreReady === null) throw new TrainJobError('init() first');
      return withModel(spec, undefined, (m) => {
        const weights = getFlatWeights(m).slice();
        return { weights, digest: weightsDigest(weights) };
      });
    },
    async train(job) {
      checkData(job.spec, job.x, job.y);
      const start = performance.now();
      return withModel(job.spec, job.weights, async (m) => {
        const pacer = settings.pace ? new Pacer(realTimePacerClock, settings.pace) : undefined;
        const loss = await trainLocal(m, job.x, job.y, job.spec.features, job.opts, pacer);
        const weights = getFlatWeights(m).slice();
        const restedMs = pacer?.restedMs ?? 0;
        return { weights, digest: weightsDigest(weights), loss, backend: tf.getBackend(), realm: realm(), ms: performance.now() - start, restedMs };
      });
    },
    async evaluate(job) {
      checkData(job.spec, job.x, job.y);
      return withModel(job.spec, job.weights, (m) => {
        const prob = predict(m, job.x, job.spec.features);
        return { accuracy: accuracy(prob, job.y), prob };
      });
    },
  };
}
