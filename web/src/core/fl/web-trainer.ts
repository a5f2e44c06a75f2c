// The page's trainer: the FL trainer in a module Web Worker behind comlink, so the page never trains on its
// main thread.
import * as Comlink from 'comlink';
import type { TrainerApi } from './trainer-api.ts';
import { trainerOf, type Trainer } from './trainer.ts';

export async function startWebTrainer(): Promise<Trainer> {
  const worker = new Worker(new URL('../../workers/trainer.ts', import.meta.url), { type: 'module' });
  const api = Comlink.wrap<TrainerApi>(worker);
  const close = async (): Promise<void> => {
    api[Comlink.releaseProxy]();
    worker.terminate();
  };
  try {
    await api.init('wasm');
    return trainerOf(api, close);
  } catch (e) {
    await close();
    throw e;
  }
}
