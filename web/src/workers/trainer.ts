// The browser Web Worker entry of the FL trainer (comlink), on tfjs's wasm backend. Vite serves the three
// .wasm builds by URL; tfjs picks SIMD / threaded / plain itself.
import * as Comlink from 'comlink';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { createTrainer } from '../core/fl/trainer-api.ts';

let started: Promise<void> | null = null;
function startWasm(): Promise<void> {
  started ??= (async () => {
    setWasmPaths({
      'tfjs-backend-wasm.wasm': wasmPlain,
      'tfjs-backend-wasm-simd.wasm': wasmSimd,
      'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded,
    });
    if (!(await tf.setBackend('wasm'))) throw new Error('the tfjs wasm backend did not start');
  })();
  return started;
}

Comlink.expose(createTrainer(startWasm));
