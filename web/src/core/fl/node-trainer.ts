// Starts the FL trainer in a Node worker_threads worker and returns its comlink proxy, so Node callers (the
// CLI, tests, bench) train off the main thread exactly as a page does with a Web Worker.
import { Worker } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import type { TrainerApi } from './trainer-api.ts';

export interface NodeTrainer {
  readonly api: Comlink.Remote<TrainerApi>;
  close(): Promise<void>;
}

export function startNodeTrainer(): NodeTrainer {
  const worker = new Worker(new URL('../../workers/trainer-node-boot.mjs', import.meta.url));
  const api = Comlink.wrap<TrainerApi>(nodeEndpoint(worker));
  return {
    api,
    async close() {
      api[Comlink.releaseProxy]();
      await worker.terminate();
    },
  };
}
