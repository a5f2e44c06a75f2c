// The record store in real Chromium on its real IndexedDB (not fake-indexeddb): every Synthea bundle imports
// with zero rejections and resolved references, re-imports idempotently, the raw database shows no patient
// data in clear, a direct edit of the stored bytes fails verification, and erasure shreds the patient.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import type { ViteDevServer } from 'vite';
import { startFixtureServer } from '../setup/fixture-server.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../setup/browser.ts';
import type { BundleCheck } from './fixtures/records/main.ts';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const dataDir = path.resolve(repoRoot, '../shared/data/synthea');
const files = readdirSync(dataDir).filter((f) => f.endsWith('.json')).sort();
const load = (f: string): any => JSON.parse(readFileSync(path.join(dataDir, f), 'utf8'));

/** The strings in the bundle's Patient that identify them (names, birth date, identifiers, telecom). */
function sensitiveStrings(bundle: any): string[] {
  const p = bundle.entry[0].resource;
  const out = new Set<string>([p.id, p.birthDate]);
  for (const n of p.name ?? []) {
    for (const g of n.given ?? []) out.add(g);
    out.add(n.family);
  }
  for (const i of p.identifier ?? []) out.add(i.value);
  for (const t of p.telecom ?? []) out.add(t.value);
  for (const a of p.address ?? []) for (const l of a.line ?? []) out.add(l);
  return [...out].filter((s) => typeof s === 'string' && s.length >= 4);
}

let server: ViteDevServer;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  let origin: string;
  ({ server, origin } = await startFixtureServer());
  browser = await launchChromium();
  page = await browser.newPage();
  await page.goto(`${origin}/test/e2e/fixtures/records/index.html`);
  await page.waitForFunction(() => typeof window.recordsCheck === 'function', undefined, { timeout: 60_000 });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('RecordStore in Chromium (real IndexedDB)', () => {
  it.each(files)(
    'imports %s whole, keeps it encrypted, detects a raw edit, shreds on erase',
    async (file) => {
      const bundle = load(file);
      const r: BundleCheck = await page.evaluate(([b, name]) => window.recordsCheck(b, name), [bundle, `e2e-${file}`] as const);
      expect(r.rejected).toEqual([]);
      expect(r.imported).toBe(bundle.entry.length);
      expect(r.entries).toBe(bundle.entry.length);
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
    },
    120_000,
  );
});
