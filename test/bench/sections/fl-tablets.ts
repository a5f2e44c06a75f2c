// The page's event loop while clinic tablets train (issue 12): four clinic tablets in Chromium, each with a
// patient's records imported, run a federated task of `rounds` MLP rounds started on clinic-1, each training
// in its trainer Web Worker while the page also runs its PBFT replica and WebRTC links. Every page samples its
// own event-loop delay (a 5 ms interval timer's lateness) from the start of the task until its last round is
// done; the figure is the worst page's p99. The target (issue 12): p99 under 20 ms.
import { readdirSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { eventually } from '../../integration/relay/helpers.ts';
import type { RoundView } from '../../../web/src/core/node/api.ts';
import { quantile, target, type BenchSection } from '../harness.ts';
import { readBundle, SYNTHEA, withTablets } from '../tablets.ts';

const TARGET_P99_MS = 20;
type Win = {
  hygeia: { importBundle(b: unknown): Promise<{ rejected: unknown[] }>; startRound(o: unknown): Promise<RoundView>; rounds(): Promise<RoundView[]> };
  lagsMs: number[];
  stopLag(): void;
};

// A string, not a function: tsx's name-keeping helper does not exist in the page.
const SAMPLER = `(() => {
  const w = window;
  const period = 5;
  w.lagsMs = [];
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    w.lagsMs.push(Math.max(0, now - last - period));
    last = now;
  }, period);
  w.stopLag = () => clearInterval(timer);
})()`;

type Snap = { ledger: { height: number; headHash: string }; pendingTransactions: number };

/**
 * Until every tablet has installed itself for offline use (its service worker precaches the whole build, the
 * tfjs wasm included, on a first visit) and holds the same head with nothing of its own pending, unchanged for
 * two seconds: a tablet at work, not one still setting up.
 */
async function settled(pages: Page[]): Promise<void> {
  await Promise.all(pages.map((p) => p.evaluate(() => navigator.serviceWorker.ready.then(() => true))));
  let last = '';
  let since = Date.now();
  await eventually(
    async () => {
      const snaps = await Promise.all(pages.map((p) => p.evaluate(() => (window as unknown as { hygeia: { snapshot(): Snap } }).hygeia.snapshot())));
      const heads = new Set(snaps.map((s) => `${s.ledger.height}:${s.ledger.headHash}`));
      const now = [...heads].join() + (snaps.every((s) => s.pendingTransactions === 0) ? '' : ':pending');
      if (now !== last || heads.size !== 1 || now.endsWith(':pending')) {
        last = now;
        since = Date.now();
        return false;
      }
      return Date.now() - since >= 2000;
    },
    'the tablets to settle on one head',
    120_000,
  );
}

const section: BenchSection = {
  name: 'fl-tablets',
  async run(ctx) {
    const rounds = ctx.quick ? 1 : 3;
    return withTablets(4, async (pages) => {
      const files = readdirSync(SYNTHEA)
        .filter((f) => f.endsWith('.json'))
        .sort();
      for (const [i, page] of pages.entries()) {
        const r = await page.evaluate((b) => (window as unknown as Win).hygeia.importBundle(b), readBundle(files[i % files.length]!));
        if (r.rejected.length) throw new Error(`clinic-${i + 1}: the import was rejected`);
      }
      // The imports' anchors commit and reach every tablet first: the figure is the training's, not the import's.
      await settled(pages);
      for (const p of pages) await p.evaluate(SAMPLER);
      const t0 = Date.now();
      const started = await pages[0]!.evaluate(
        (n) => (window as unknown as Win).hygeia.startRound({ task: 'records-new-diagnosis', model: 'mlp', rule: 'trimmed', rounds: n }),
        rounds,
      );
      // Each page stops sampling and answers when its own ledger shows the task's last round done: polling the
      // pages over the DevTools protocol would take their main threads while they are being measured.
      const done = `new Promise((resolve, reject) => {
        const h = window.hygeia;
        let unsubscribe = () => {};
        const finish = (settle) => { unsubscribe(); clearInterval(poll); clearTimeout(limit); settle(); };
        const check = () => h.rounds().then((vs) => {
          if (vs.some((v) => v.task === ${JSON.stringify(started.task)} && v.round === ${rounds} && v.state === 'done')) { window.stopLag(); finish(resolve); }
        });
        const poll = setInterval(() => void check(), 100);
        const limit = setTimeout(() => finish(() => reject(new Error('${rounds} rounds not done in 600 s'))), 600000);
        unsubscribe = h.subscribe(() => void check());
        void check();
      })`;
      await Promise.all(pages.map((p) => p.evaluate(done)));
      const taskMs = Date.now() - t0;
      const loads = await Promise.all(pages.map((p) => p.evaluate(() => (window as unknown as Win).lagsMs)));
      const ms = (v: number): number => Math.round(v * 100) / 100;
      const p99 = ms(Math.max(...loads.map((l) => quantile(l, 0.99))));
      const max = ms(Math.max(...loads.flat()));
      ctx.log(`fl-tablets: ${rounds} MLP rounds on 4 tablets in ${taskMs} ms; worst page event-loop p99 ${p99} ms, max ${max} ms`);
      return {
        rows: [
          { metric: `4 clinic tablets, ${rounds} federated MLP round(s) on imported records`, 'task ms': taskMs, 'page event-loop p99 ms': p99, 'page event-loop max ms': max },
        ],
        data: {
          clinics: 4,
          rounds,
          taskMs,
          eventLoop: { p99Ms: p99, maxMs: max, perPageP99Ms: loads.map((l) => ms(quantile(l, 0.99))), samples: loads.map((l) => l.length) },
        },
        targets: [target('tablet page event-loop p99 while four tablets train', p99, '<', TARGET_P99_MS, 'ms')],
      };
    });
  },
};

export default section;
