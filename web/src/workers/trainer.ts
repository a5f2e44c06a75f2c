// The browser Web Worker entry of the FL trainer (comlink), on tfjs's wasm backend (set up once, in
// fl/tf-wasm-web.ts). A page's trainer paces itself: it shares the tablet with the nurse's screen.
import * as Comlink from 'comlink';
import { createTrainer } from '../core/fl/trainer-api.ts';
import { loadTfWasm } from '../core/fl/web.ts';

Comlink.expose(
  createTrainer(
    async () => {
      await loadTfWasm();
    },
    { pace: {} },
  ),
);
