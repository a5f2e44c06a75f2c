// How the record store's costs grow with what it holds (issue 15, "how cost grows"): one store on Chromium's
// real IndexedDB grown from 1,000 to 100,000 resources by copies of the Synthea bundles (test/e2e/fixtures/
// store-scale: each copy a patient of its own), and at each size the import rate of the step, one patient's
// record read, the patient list's search on a store just opened, one erasure, and the origin's storage use.
// The JSON says, per measure, its growth from the first size to the last beside the growth of what the store
// holds, so a reader sees which costs stay flat and which grow with the store.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { launchChromium } from '../../setup/browser.ts';
import { startFixtureServer } from '../../setup/fixture-server.ts';
import type { ScalePoint } from '../../e2e/fixtures/store-scale/main.ts';
import { SYNTHEA } from '../tablets.ts';
import { targetHolds, type BenchSection, type Row, type Target } from '../harness.ts';

const SIZES = [1_000, 3_000, 10_000, 30_000, 100_000];
const QUICK_SIZES = [1_000, 3_000];

const round2 = (v: number): number => Math.round(v * 100) / 100;

const section: BenchSection = {
  name: 'store-scale',
  async run(ctx) {
    const sizes = ctx.quick ? QUICK_SIZES : SIZES;
    const bases = readdirSync(SYNTHEA)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => readFileSync(join(SYNTHEA, f), 'utf8'));
    const { server, origin } = await startFixtureServer();
    const browser = await launchChromium();
    const points: ScalePoint[] = [];
    try {
      const page = await browser.newPage();
      await page.goto(`${origin}/test/e2e/fixtures/store-scale/index.html`);
      await page.waitForFunction(() => typeof window.scaleGrowTo === 'function', undefined, { timeout: 120_000 });
      await page.evaluate(([b, name]) => window.scaleOpen(b, name), [bases, `store-scale-${Date.now()}`] as const);
      for (const size of sizes) {
        const p = await page.evaluate((n) => window.scaleGrowTo(n), size);
        points.push(p);
        ctx.log(
          `store-scale ${p.resources} resources, ${p.patients} patients: import ${p.importPerSec}/s, record read ${round2(p.recordReadMs)} ms, list search cold ${round2(p.listColdMs)} ms warm ${round2(p.listWarmMs)} ms, erasure ${round2(p.eraseMs)} ms, storage ${p.usageBytes === null ? '?' : Math.round(p.usageBytes / 2 ** 20)} MiB`,
        );
      }
    } finally {
      await browser.close();
      await server.close();
    }
    const first = points[0]!;
    const last = points[points.length - 1]!;
    const growth = (f: (p: ScalePoint) => number): number => round2(f(last) / f(first));
    const growthOf = {
      resources: growth((p) => p.resources),
      patients: growth((p) => p.patients),
      importMsPerResource: growth((p) => 1 / p.importPerSec),
      recordReadMs: growth((p) => p.recordReadMs),
      listColdMs: growth((p) => p.listColdMs),
      eraseMs: growth((p) => p.eraseMs),
      storagePerResource: last.usageBytes !== null && first.usageBytes !== null ? growth((p) => (p.usageBytes ?? 0) / p.resources) : null,
    };
    const rows: Row[] = points.map((p) => ({
      resources: p.resources,
      patients: p.patients,
      'import /s': p.importPerSec,
      'record read ms': round2(p.recordReadMs),
      'list search cold ms': round2(p.listColdMs),
      'list search warm ms': round2(p.listWarmMs),
      'erasure ms': round2(p.eraseMs),
      'storage MiB': p.usageBytes === null ? '' : Math.round(p.usageBytes / 2 ** 20),
    }));
    rows.push({
      resources: `x${growthOf.resources}`,
      patients: `x${growthOf.patients}`,
      'import /s': `cost x${growthOf.importMsPerResource}`,
      'record read ms': `x${growthOf.recordReadMs}`,
      'list search cold ms': `x${growthOf.listColdMs}`,
      'erasure ms': `x${growthOf.eraseMs}`,
    });
    // What must stay flat while the store grows a hundredfold: an import's cost per resource, and reading one
    // patient's record (the chart). The list search and the erasure grow with the patients by design (see the
    // fixture's header); their growth is in the JSON.
    const targets: Target[] = ctx.quick
      ? []
      : [
          targetHolds(`import cost per resource at ${last.resources} resources within 2x of ${first.resources}`, growthOf.importMsPerResource <= 2),
          targetHolds(`one patient's record read at ${last.resources} resources within 3x of ${first.resources}`, growthOf.recordReadMs <= 3),
        ];
    return { rows, data: { points, growth: growthOf }, targets };
  },
};

export default section;
