// `npm run evaluate -- --seed S --quick --json FILE` end to end, as a subprocess: the three architectures
// really run (PGlite, the contracts consortium, ClinicNodes with PBFT over the WAN model, FL), the JSON has
// the issue's shape, the SVG is beside it, and Hygeia meets its thresholds while the baselines' designs let
// the attacks they cannot stop through.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const repoRoot = path.resolve(import.meta.dirname, '../../..');
const dir = mkdtempSync(path.join(tmpdir(), 'hygeia-eval-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const rate = expect.any(Number);
const metricsShape = { integrity: rate, unauthorizedAccess: rate, interoperability: rate, audit: rate, latencyMs: { p50: rate, p95: rate }, flAccuracy: rate, flAuc: rate };

describe('npm run evaluate --quick', () => {
  it('writes the table, the JSON and the SVG; Hygeia meets its thresholds', () => {
    const file = path.join(dir, 'eval.json');
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'web/src/core/eval/cli.ts', '--seed', '3', '--quick', '--json', file], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 200_000,
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('Quoted from the paper, not measured here');
    expect(run.stderr).toMatch(/hygeia: access \d+\/\d+/);
    const r = JSON.parse(readFileSync(file, 'utf8'));
    expect(Object.keys(r).slice(0, 4)).toEqual(['seed', 'workload', 'architectures', 'paper']);
    expect(r.seed).toBe(3);
    expect(r.workload).toEqual({
      digest: expect.stringMatching(/^[0-9a-f]{64}$/),
      clinics: 4,
      patients: expect.any(Number),
      accessAttempts: expect.any(Number),
      tamperAttempts: expect.any(Number),
      updates: expect.any(Number),
      flRounds: expect.any(Number),
    });
    expect(r.workload.accessAttempts).toBeGreaterThanOrEqual(100);
    expect(r.workload.tamperAttempts).toBeGreaterThanOrEqual(50);
    for (const a of ['centralized', 'federated', 'hygeia']) {
      expect(r.architectures[a]).toEqual(metricsShape);
      for (const k of ['integrity', 'unauthorizedAccess', 'interoperability', 'audit', 'flAccuracy', 'flAuc']) {
        expect(r.architectures[a][k]).toBeGreaterThanOrEqual(0);
        expect(r.architectures[a][k]).toBeLessThanOrEqual(1);
      }
      expect(r.architectures[a].latencyMs.p95).toBeGreaterThanOrEqual(r.architectures[a].latencyMs.p50);
      expect(r.architectures[a].latencyMs.p50).toBeGreaterThan(0);
      // Every legitimate attempt was served: the measurement can see a success in every architecture.
      expect(r.details.architectures[a].legitimateServed).toBe(r.details.architectures[a].legitimateAttempts);
    }
    const h = r.architectures.hygeia;
    expect(h.integrity).toBeGreaterThanOrEqual(0.999);
    expect(h.unauthorizedAccess).toBeLessThanOrEqual(0.001);
    expect(h.interoperability).toBeGreaterThanOrEqual(0.95);
    expect(h.audit).toBeGreaterThanOrEqual(0.999);
    // The baselines cannot stop an insider with database access, so those attempts succeed there.
    expect(r.details.architectures.centralized.access.insider.obtained).toBeGreaterThan(0);
    expect(r.architectures.centralized.integrity).toBeLessThan(1);
    expect(r.architectures.centralized.unauthorizedAccess).toBeGreaterThan(0);
    expect(r.paper.centralized.latencyMs).toBe(320);
    const svg = readFileSync(file.replace(/\.json$/, '.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain(`${(h.integrity * 100).toFixed(1)}%`);
    expect(existsSync(file.replace(/\.json$/, '.svg'))).toBe(true);
  }, 210_000);
});
