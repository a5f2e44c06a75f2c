// Federated learning: local training throughput (samples/s) on tfjs's wasm backend beside tfjs's cpu backend
// (same model, data and seed, same run), and the main thread's event-loop delay while a worker_threads worker
// trains (the reason training lives in a worker).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs';
import { initCore } from '../../../wasm/index.ts';
import { initTfWasmNode } from '../../../web/src/core/fl/backend-node.ts';
import { fitStandardiser, parseCsv, standardise } from '../../../web/src/core/fl/dataset.ts';
import { buildModel, trainLocal, type ModelKind } from '../../../web/src/core/fl/model.ts';
import { startNodeTrainer } from '../../../web/src/core/fl/node-trainer.ts';
import { ratio, type BenchSection, type Row } from '../harness.ts';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

async function samplesPerSec(kind: ModelKind, x: Float32Array, y: Float32Array, features: number, epochs: number): Promise<number> {
  const model = buildModel({ kind, features, seed: 1 });
  const opts = { epochs: 1, batchSize: 32, learningRate: 0.05, seed: 1 };
  await trainLocal(model, x, y, features, opts); // warm-up: kernels compiled, memory grown
  const start = performance.now();
  await trainLocal(model, x, y, features, { ...opts, epochs });
  const ms = performance.now() - start;
  model.dispose();
  return Math.round((y.length * epochs * 1000) / ms);
}

const section: BenchSection = {
  name: 'fl',
  async run(ctx) {
    await initCore();
    const raw = parseCsv(readFileSync(resolve(repoRoot, '../shared/data/uci-breast-cancer/breast_cancer.csv'), 'utf8'), 'last');
    const d = standardise(raw, fitStandardiser(raw));
    const y = Float32Array.from(d.y, (v) => (v > 0 ? 1 : 0));
    const epochs = ctx.quick ? 3 : 10;
    const rows: Row[] = [];
    const data: Record<string, unknown> = {};

    const rates: Record<string, Record<string, number>> = {};
    for (const backend of ['cpu', 'wasm'] as const) {
      if (backend === 'wasm') await initTfWasmNode();
      else if (!(await tf.setBackend('cpu'))) throw new Error('cpu backend did not start');
      for (const kind of ['logreg', 'mlp'] as ModelKind[]) {
        (rates[kind] ??= {})[backend] = await samplesPerSec(kind, d.x, y, d.features, epochs);
        ctx.log(`fl ${kind} ${backend}: ${rates[kind]![backend]} samples/s`);
      }
    }
    for (const [kind, r] of Object.entries(rates)) {
      const row: Row = { model: kind, 'wasm samples/s': r.wasm!, 'cpu samples/s': r.cpu!, 'wasm/cpu': ratio(r.wasm!, r.cpu!) };
      rows.push(row);
    }
    data.throughput = rates;
    data.targetWasmOverCpu = 1.8;

    // Event-loop delay on this thread while the worker trains the MLP.
    const trainer = startNodeTrainer();
    await trainer.api.init('wasm');
    const h = monitorEventLoopDelay({ resolution: 1 });
    h.enable();
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const started = performance.now();
    for (let i = 0; i < (ctx.quick ? 2 : 5); i++) {
      await trainer.api.train({ spec: { kind: 'mlp', features: d.features, seed: 1 }, x: d.x, y, opts: { epochs, batchSize: 32, learningRate: 0.05, seed: i } });
    }
    const trainMs = performance.now() - started;
    clearInterval(timer);
    h.disable();
    await trainer.close();
    const p99 = Math.round((h.percentile(99) / 1e6) * 100) / 100;
    const max = Math.round((h.max / 1e6) * 100) / 100;
    ctx.log(`fl event-loop delay while a worker trains: p99 ${p99} ms, max ${max} ms over ${Math.round(trainMs)} ms`);
    rows.push({ model: 'mlp in worker_threads', 'event-loop p99 ms': p99, 'event-loop max ms': max, 'training ms': Math.round(trainMs), ticks });
    data.eventLoop = { p99Ms: p99, maxMs: max, trainMs, ticks, targetP99Ms: 20 };
    return { rows, data };
  },
};

export default section;
