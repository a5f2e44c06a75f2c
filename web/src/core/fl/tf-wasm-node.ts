// tfjs on its WebAssembly backend in Node (tfjs-node does not install here, and the wasm backend is the one the
// browser runs, so Node and browser train with the same kernels).
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import * as tf from './tf.ts';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

let ready: Promise<void> | null = null;

export function initTfWasmNode(): Promise<void> {
  ready ??= (async () => {
    const require = createRequire(import.meta.url);
    setWasmPaths(`${dirname(require.resolve('@tensorflow/tfjs-backend-wasm'))}/`);
    if (!(await tf.setBackend('wasm'))) throw new Error('the tfjs wasm backend did not start');
    await tf.ready();
  })();
  return ready;
}
