// The record store in real Chromium on its real IndexedDB (not fake-indexeddb):
//  - every Synthea bundle imports with zero rejections and resolved references, re-imports idempotently, the
//    raw database shows no patient data in clear, a raw edit fails verification, and erasure leaves no trace
//    of the patient (no name, identifier, birth date, id, or any row key they had) while the other patient
//    stays intact (issue 10, finding 7);
//  - a page closed in the middle of an import's write transaction leaves nothing of the bundle, and the next
//    page to open the store reports the interrupted import; an import still running in another page is not
//    reported (issue 11).
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { openFixture as openPage, useFixtureBrowser } from '../setup/fixture-browser.ts';
import type { AfterInterruption, BundleCheck } from './fixtures/records/main.ts';
import { loadSynthea, patientIdOf, sensitiveStrings, syntheaFiles } from '../unit/records/synthea.ts';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const fixture = useFixtureBrowser({
  // The FHIR definitions are fetched from node_modules as raw text (`?raw`), which Vite serves only inside its
  // allow list; in a git worktree node_modules is a symlink to another checkout, so allow its real path too.
  allowFs: [realpathSync(path.join(repoRoot, 'node_modules'))],
});

const openFixture = (context: BrowserContext): Promise<Page> => openPage(context, fixture.origin, 'records', 'recordsCheck');

describe('RecordStore in Chromium (real IndexedDB)', () => {
  it.each(syntheaFiles)(
    'imports %s whole, keeps it encrypted, detects a raw edit, erases the patient without a trace',
    async (file) => {
      const bundle = loadSynthea(file);
      const other = loadSynthea(syntheaFiles[(syntheaFiles.indexOf(file) + 1) % syntheaFiles.length]!);
      const context = await fixture.browser.newContext();
      const page = await openFixture(context);
      const r: BundleCheck = await page.evaluate(([b, o, name]) => window.recordsCheck(b, o, name), [bundle, other, `e2e-${file}`] as const);
      await context.close();
      expect(r.rejected).toEqual([]);
      expect(r.imported).toBe(bundle.entry.length);
      expect(r.urnLeft).toBe(0);
      expect(r.unresolved).toEqual([]);
      expect(r.reimportUnchanged).toBe(bundle.entry.length);
      expect(r.patientVersion).toBe(1);
      expect(r.rawBytes.length).toBeGreaterThan(10_000);
      const secrets = sensitiveStrings(bundle);
      expect(secrets.length).toBeGreaterThan(3);
      for (const s of secrets) expect(r.rawBytes.includes(s), 'raw IndexedDB leaks a patient field').toBe(false);
      expect(r.verifiesBeforeErase).toBe(true);
      expect(r.tamperDetected).toBe(true);
      expect(r.readableAfterErase).toBe(false);
      expect(r.otherPatientIntact).toBe(true);
      expect(r.patientRowKeys.length).toBe(bundle.entry.length - 4);
      for (const k of r.patientRowKeys) expect(r.rawAfterErase.includes(k), 'a row key of the erased patient survives').toBe(false);
      for (const s of secrets) expect(r.rawAfterErase.includes(s)).toBe(false);
      expect(r.rawAfterErase.includes(patientIdOf(bundle))).toBe(false);
    },
    180_000,
  );
});

describe('an import interrupted by a closed page (Chromium)', () => {
  const clinicKey = Array.from({ length: 32 }, (_v, i) => i + 1);
  const [seed, big] = [loadSynthea(syntheaFiles[0]!), loadSynthea(syntheaFiles[2]!)];

  it('closing the page during the write transaction keeps nothing of the bundle; the next page reports it', async () => {
    const context = await fixture.browser.newContext();
    const first = await openFixture(context);
    const dbName = 'e2e-interrupted-write';
    await first.evaluate(([b, n, k]) => window.seedStore(b, n, k), [seed, dbName, clinicKey] as const);
    const before: AfterInterruption = await first.evaluate(([n, k]) => window.afterInterruption(n, k), [dbName, clinicKey] as const);
    const stalled = await first.evaluate(([b, n, k]) => window.stalledImport(b, n, k, 'storing'), [big, dbName, clinicKey] as const);
    expect(stalled.phase).toBe('storing');
    expect(stalled.done).toBeLessThan(stalled.total);
    await first.close();

    const next = await openFixture(context);
    const after: AfterInterruption = await next.evaluate(([n, k]) => window.afterInterruption(n, k), [dbName, clinicKey] as const);
    await context.close();
    expect(after.interrupted).toHaveLength(1);
    expect(after.interrupted[0]).toMatchObject({ entries: big.entry.length, label: `${big.type} bundle, ${big.entry.length} entries` });
    expect(after.counts).toEqual({ ...before.counts, journal: before.counts.journal! + 1 });
    expect(after.patients).toEqual([patientIdOf(seed)]);
    for (const s of sensitiveStrings(big)) expect(after.rawBytes.includes(s)).toBe(false);
  }, 180_000);

  it('an import still running in another page is not reported; once that page is closed, it is', async () => {
    const context = await fixture.browser.newContext();
    const first = await openFixture(context);
    const dbName = 'e2e-interrupted-encrypting';
    await first.evaluate(([b, n, k]) => window.seedStore(b, n, k), [seed, dbName, clinicKey] as const);
    await first.evaluate(([b, n, k]) => window.stalledImport(b, n, k, 'encrypting'), [big, dbName, clinicKey] as const);
    const second = await openFixture(context);
    const whileRunning: AfterInterruption = await second.evaluate(([n, k]) => window.afterInterruption(n, k), [dbName, clinicKey] as const);
    expect(whileRunning.interrupted).toEqual([]);
    expect(whileRunning.counts.journal).toBe(1);
    await first.close();
    // The closed page's lock is released as its worker is torn down, a moment after close() returns.
    let afterClose: AfterInterruption | undefined;
    await expect
      .poll(
        async () => {
          afterClose = await second.evaluate(([n, k]) => window.afterInterruption(n, k), [dbName, clinicKey] as const);
          return afterClose.interrupted.length;
        },
        { timeout: 30_000, interval: 500 },
      )
      .toBe(1);
    await context.close();
    expect(afterClose!.patients).toEqual([patientIdOf(seed)]);
  }, 180_000);
});
