// tfjs with its wasm backend, for pages and workers built by Vite: the three .wasm builds are imported as URLs
// (so Vite fingerprints and emits them, and the service worker caches them) and handed to setWasmPaths.
// tfjs picks the build itself: threaded SIMD when the page is cross-origin isolated, SIMD otherwise.

import simdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import threadedSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import plainUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';

export type Tf = typeof import('./tf.ts');

let ready: Promise<Tf> | null = null;

/** Loads tfjs on the wasm backend once per realm (page or worker). */
export function loadTfWasm(): Promise<Tf> {
  ready ??= (async () => {
    const [tf, wasm] = await Promise.all([import('./tf.ts'), import('@tensorflow/tfjs-backend-wasm')]);
    wasm.setWasmPaths({
      'tfjs-backend-wasm.wasm': plainUrl,
      'tfjs-backend-wasm-simd.wasm': simdUrl,
      'tfjs-backend-wasm-threaded-simd.wasm': threadedSimdUrl,
    });
    if (!(await tf.setBackend('wasm'))) throw new Error('the tfjs wasm backend did not initialise');
    await tf.ready();
    return tf;
  })();
  return ready;
}
