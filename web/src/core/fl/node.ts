// The Node-only face of fl/: tfjs-wasm set-up from node_modules and worker_threads trainers.
// (Universal parts: ./index.ts; browser-only parts: ./web.ts.)
export { initTfWasmNode } from './tf-wasm-node.ts';
export { startNodeTrainer, startNodeTrainerPool, inThreadTrainer } from './node-trainer.ts';
export type { NodeTrainer } from './node-trainer.ts';
