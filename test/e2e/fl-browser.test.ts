// Local FL training in a real Chromium Web Worker (comlink, tfjs wasm), served by Vite on loopback: the
// worker's weights digest equals Node's (tfjs wasm in this process) for the same seed and data; and four
// clinic pages, each with its own Web Worker and its own partition of the data, train one round together:
// the test stands in for the ledger and the peer-to-peer links (it collects each page's update bytes and
// digest and hands every page all of them), and every page, checking the bytes against the digests, computes
// the same aggregate digest as Node does. How responsive a page stays while workers train is measured in the
// bench (test/bench/sections/fl.ts), not asserted here.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import type { ViteDevServer } from 'vite';
import { startFixtureServer } from '../setup/fixture-server.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initCore } from '../../wasm/index.ts';
import {
  buildModel,
  fitStandardiser,
  getFlatWeights,
  modelSpecText,
  parseCsv,
  partition,
  roundOutcome,
  standardise,
  subset,
  trainLocal,
  weightsDigest,
} from '../../web/src/core/fl/index.ts';
import { fromHex } from '../../web/src/core/util/index.ts';
import { closedRound } from '../unit/fl/ledger-fixture.ts';
import { initTfWasmNode } from '../../web/src/core/fl/node.ts';
import { launchChromium } from '../setup/browser.ts';
import type { FlWorkerOutcome, PlainUpdate } from './fixtures/fl/main.ts';

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
    await page.goto(url, { timeout: 120_000 }); // Vite serves the fixture modules on first request: slow on a busy machine
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

  it('four clinic pages train one round in their Web Workers on their own partitions and agree on the aggregate', async () => {
    const raw = parseCsv(readFileSync(resolve(root, '../shared/data/uci-breast-cancer/breast_cancer.csv'), 'utf8'), 'last');
    const d = standardise(raw, fitStandardiser(raw));
    const clinics = ['clinic-1', 'clinic-2', 'clinic-3', 'clinic-4'];
    const parts = partition(d, clinics.length, { kind: 'dirichlet', alpha: 0.5 }, 7).map((idx) => subset(d, idx));
    const spec = { kind: 'mlp' as const, features: d.features, seed: 7 };
    const init = buildModel(spec);
    const base = getFlatWeights(init).slice();
    init.dispose();
    const record = closedRound({ task: 'breast-cancer', model: modelSpecText(spec), base: fromHex(weightsDigest(base), 32), epochs: 3, seed: 7 }, clinics.length);
    expect(record.clinics).toEqual(clinics);

    const pages = await Promise.all(
      clinics.map(async () => {
        const page = await browser.newPage();
        await page.goto(url, { timeout: 120_000 }); // Vite serves the fixture modules on first request: slow on a busy machine
        await page.waitForFunction(() => typeof window.flClinicUpdate === 'function', undefined, { timeout: 60_000 });
        return page;
      }),
    );
    try {
      // All four train at once, each in its own worker on its own rows.
      const trained = await Promise.all(
        pages.map((page, i) =>
          page.evaluate(([r, clinic, x, y]) => window.flClinicUpdate(r, clinic, x, y), [
            record,
            clinics[i]!,
            Array.from(parts[i]!.x),
            Array.from(parts[i]!.y, (v) => (v > 0 ? 1 : 0)),
          ] as const),
        ),
      );
      for (const t of trained) {
        expect(t.inWorker).toBe(true);
        expect(t.backend).toBe('wasm');
        expect(t.baseDigest).toBe(record.base);
      }
      expect(new Set(trained.map((t) => t.digest)).size).toBe(clinics.length);
      // What the ledger would hold (each clinic's digest) and what the peers pass around (the bytes).
      const updates: PlainUpdate[] = trained.map((t, i) => ({ clinic: clinics[i]!, digest: t.digest, samples: t.samples, bytes: t.bytes }));
      const agreed = await Promise.all(pages.map((page) => page.evaluate(([r, u]) => window.flRoundAggregate(r, u), [record, updates] as const)));
      const inNode = roundOutcome(
        record,
        base,
        updates.map((u) => ({ ...u, bytes: Uint8Array.from(u.bytes) })),
      );
      expect([...inNode.aggregated].sort()).toEqual(clinics);
      expect(inNode.digest).not.toBe(record.base);
      for (const a of agreed) expect(a).toEqual({ digest: inNode.digest, aggregated: inNode.aggregated, flagged: inNode.reports.map((r) => r.subject) });
      // A page handed bytes that do not match a committed digest refuses them.
      const forged = updates.map((u, i) => (i === 1 ? { ...u, bytes: u.bytes.map((b, k) => (k === u.bytes.length - 1 ? b ^ 1 : b)) } : u));
      await expect(pages[0]!.evaluate(([r, u]) => window.flRoundAggregate(r, u), [record, forged] as const)).rejects.toThrow(/does not match its committed digest/);
    } finally {
      await Promise.all(pages.map((p) => p.close()));
    }
  }, 240_000);
});
