// The Node worker_threads entry of the FL trainer (comlink over the node adapter), on tfjs's wasm backend.
import { parentPort } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { initTfWasmNode } from '../core/fl/tf-wasm-node.ts';
import { createTrainer, markNodeWorker } from '../core/fl/trainer-api.ts';

if (!parentPort) throw new Error('trainer-node runs inside a worker_threads worker');
markNodeWorker();
Comlink.expose(createTrainer(initTfWasmNode), nodeEndpoint(parentPort));
