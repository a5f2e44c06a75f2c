// The browser-only face of fl/: tfjs-wasm set-up through Vite's ?url imports, and the Web Worker trainer.
// (Universal parts: ./index.ts; Node-only parts: ./node.ts.)
export { loadTfWasm } from './tf-wasm-web.ts';
export type { Tf } from './tf-wasm-web.ts';
export { startWebTrainer } from './web-trainer.ts';
