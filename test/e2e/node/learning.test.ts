// The AI layer live in real Chromium (issue 12): four clinic tablets, each with records of its own imported,
// train one federated round together. A nurse starts it from the Learning screen; each tablet trains on its
// own records in its trainer Web Worker (tfjs-backend-wasm), the update digests and the aggregate go on the
// PBFT ledger over WebRTC, and every tablet shows the same agreed aggregate. (The pages' event-loop delay
// while four pages train is measured by `npm run bench -- --only fl`, not asserted here.)
import { readdirSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RoundView } from '../../../web/src/core/node/api.ts';
import { eventually } from '../../integration/relay/helpers.ts';
import { go, openClinic, startStack, SYNTHEA, type Stack } from '../ui/stack.ts';
import { agreeOnHead, call, snap, syntheaBundle } from './pages.ts';

describe('federated learning on four clinic tablets', () => {
  let stack: Stack;
  const clinics: Page[] = [];

  beforeAll(async () => {
    stack = await startStack();
    clinics.push(...(await Promise.all([1, 2, 3, 4].map((n) => openClinic(stack, n)))));
    await agreeOnHead(clinics);
    await eventually(async () => (await Promise.all(clinics.map(snap))).every((s) => s.peers.length === 3), 'every tablet linked to the three others', 60_000);
  }, 240_000);
  afterAll(async () => {
    await stack?.close();
  });

  it('trains one federated round together: each tablet trains on its own imported records in a Web Worker, and all four agree on the aggregate', async () => {
    // Each tablet imports a patient's records (three bundles: the fourth clinic sees the first one's patient too).
    const files = readdirSync(SYNTHEA)
      .filter((f) => f.endsWith('.json'))
      .sort();
    for (const [i, page] of clinics.entries()) {
      const r = await call<{ rejected: unknown[] }>(page, 'importBundle', syntheaBundle(files[i % files.length]!));
      expect(r.rejected).toEqual([]);
    }
    // A nurse at clinic-1 starts a one-round run from the Learning screen.
    const nurse = clinics[0]!;
    await go(nurse, 'Learning');
    await nurse.getByLabel('Task').selectOption('records-new-diagnosis');
    await nurse.getByLabel('Rounds').fill('1');
    await nurse.getByRole('button', { name: 'Start training' }).click();
    let started: RoundView | undefined;
    await eventually(
      async () => (started = (await call<RoundView[]>(nurse, 'rounds')).find((r) => r.task === 'records-new-diagnosis')) !== undefined,
      'the round open on the ledger',
      60_000,
    );
    expect(started).toMatchObject({ round: 1, rule: 'trimmed', totalRounds: 1, participants: ['clinic-1', 'clinic-2', 'clinic-3', 'clinic-4'] });

    let views: (RoundView | undefined)[] = [];
    await eventually(
      async () => {
        views = (await Promise.all(clinics.map((p) => call<RoundView[]>(p, 'rounds')))).map((rs) => rs.find((r) => r.roundId === started!.roundId));
        return views.every((v) => v?.state === 'done' && v.aggregateDigest !== null && v.accuracy !== null);
      },
      'every tablet to finish the round',
      240_000,
    ).catch((e: Error) => {
      throw new Error(`${e.message}: ${JSON.stringify(views.map((v) => v && { state: v.state, digest: v.aggregateDigest?.slice(0, 8), loss: v.loss }))}`);
    });
    const digest = views[0]!.aggregateDigest!;
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
    for (const v of views) {
      // Every tablet trained (its local loss and local model's accuracy are its own), none sat out, and each
      // holds the same aggregate, which the ledger agreed.
      expect(v).toMatchObject({ state: 'done', aggregateDigest: digest, declined: [], flagged: [] });
      expect(v!.loss).toBeGreaterThan(0);
      expect(v!.localAccuracy).toBeGreaterThanOrEqual(0);
    }
    // The training ran in each page's trainer worker, not on its main thread.
    for (const page of clinics)
      expect(
        page
          .workers()
          .map((w) => w.url())
          .some((u) => /trainer/.test(u)),
      ).toBe(true);
    // What the nurses see: every tablet's Learning screen shows the run finished with the ledger's fingerprint.
    for (const page of clinics) {
      if (page !== nurse) await go(page, 'Learning');
      await expect.poll(() => page.getByTestId('fl-digest').textContent(), { timeout: 30_000 }).toBe(digest);
      await expect.poll(() => page.getByTestId('fl-state').getAttribute('data-state'), { timeout: 30_000 }).toBe('done');
    }
  }, 300_000);
});
