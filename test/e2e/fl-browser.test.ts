// Local FL training in a real Chromium Web Worker (comlink, tfjs wasm), served by Vite on loopback: the
// worker's weights digest equals Node's (tfjs wasm in this process) for the same seed and data. How responsive
// the page stays while workers train is measured in the bench (test/bench/sections/fl.ts), not asserted here.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import type { ViteDevServer } from 'vite';
import { startFixtureServer } from '../setup/fixture-server.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initCore } from '../../wasm/index.ts';
import { buildModel, fitStandardiser, getFlatWeights, parseCsv, standardise, trainLocal, weightsDigest } from '../../web/src/core/fl/index.ts';
import { initTfWasmNode } from '../../web/src/core/fl/node.ts';
import { launchChromium } from '../setup/browser.ts';
import type { FlWorkerOutcome } from './fixtures/fl/main.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
let server: ViteDevServer;
let browser: Browser;
let url: string;

beforeAll(async () => {
  await initCore();
  await initTfWasmNode();
  let origin: string;
  ({ server, origin } = await startFixtureServer({ discoverDeps: true }));
  url = `${origin}/test/e2e/fixtures/fl/index.html`;
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('FL training in a Chromium Web Worker', () => {
  it('trains in a Web Worker on tfjs wasm to the Node digest for the same seed', async () => {
    const raw = parseCsv(readFileSync(resolve(root, '../shared/data/uci-breast-cancer/breast_cancer.csv'), 'utf8'), 'last');
    const d = standardise(raw, fitStandardiser(raw));
    const y = Float32Array.from(d.y, (v) => (v > 0 ? 1 : 0));
    const spec = { kind: 'mlp' as const, features: d.features, seed: 11 };
    const opts = { epochs: 8, batchSize: 16, learningRate: 0.1, seed: 11 };

    const model = buildModel(spec);
    await trainLocal(model, d.x, y, d.features, opts);
    const nodeWeights = getFlatWeights(model);
    model.dispose();

    const page = await browser.newPage();
    await page.goto(url);
    await page.waitForFunction(() => typeof window.flTrainInWorker === 'function', undefined, { timeout: 60_000 });
    const out: FlWorkerOutcome = await page.evaluate((job) => window.flTrainInWorker(job), { spec, x: Array.from(d.x), y: Array.from(y), opts });
    await page.close();

    expect(out.backend).toBe('wasm');
    expect(out.inWorker).toBe(true);
    // Same kernels, same seeded init and batch order: bit-identical weights, so the same digest.
    let maxDiff = 0;
    out.weights.forEach((w, i) => (maxDiff = Math.max(maxDiff, Math.abs(w - nodeWeights[i]!))));
    expect(maxDiff).toBe(0);
    expect(out.digest).toBe(weightsDigest(nodeWeights));
  }, 180_000);
});
