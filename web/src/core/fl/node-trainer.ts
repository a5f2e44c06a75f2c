// Node trainers: a worker_threads worker behind comlink (what the FL command and the bench use, so Node
// callers train off the main thread exactly as a page does with a Web Worker), or this thread (tests).
import { Worker } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { initTfWasmNode } from './tf-wasm-node.ts';
import { createTrainer, type TrainerApi } from './trainer-api.ts';
import { TrainerPool, trainerOf, type Trainer } from './trainer.ts';

export interface NodeTrainer extends Trainer {
  /** The worker's comlink proxy (init picks the backend). */
  readonly api: Comlink.Remote<TrainerApi>;
  readonly backend: string;
}

/** Starts a worker_threads trainer on `backend` ('wasm' by default). */
export async function startNodeTrainer(backend: 'wasm' | 'cpu' = 'wasm'): Promise<NodeTrainer> {
  const worker = new Worker(new URL('../../workers/trainer-node-boot.mjs', import.meta.url));
  const api = Comlink.wrap<TrainerApi>(nodeEndpoint(worker));
  const close = async (): Promise<void> => {
    api[Comlink.releaseProxy]();
    await worker.terminate();
  };
  try {
    const started = await api.init(backend);
    return { ...trainerOf(api, close), api, backend: started };
  } catch (e) {
    await close();
    throw e;
  }
}

/** W worker_threads trainers as one pool. */
export async function startNodeTrainerPool(workers: number, backend: 'wasm' | 'cpu' = 'wasm'): Promise<TrainerPool> {
  if (!Number.isInteger(workers) || workers < 1) throw new RangeError('at least one worker');
  return new TrainerPool(await Promise.all(Array.from({ length: workers }, () => startNodeTrainer(backend))));
}

/** A trainer on this thread (tfjs wasm): for tests that need no worker. */
export async function inThreadTrainer(): Promise<Trainer> {
  const api = createTrainer(initTfWasmNode);
  await api.init('wasm');
  return trainerOf(api);
}
