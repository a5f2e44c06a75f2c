// Every scenario over many seeds. A failure prints the command that replays it exactly.
// SIM_SEEDS sets the number of seeds per scenario (default below); SIM_SEED_BASE the first seed.
import { describe, expect, it } from 'vitest';
import { passes, runScenario, type SimResult } from './run.ts';
import { SCENARIOS } from './scenarios.ts';

const SEEDS = Number(process.env['SIM_SEEDS'] ?? 200);
const BASE = Number(process.env['SIM_SEED_BASE'] ?? 1);

function replayLine(r: SimResult): string {
  return `npm run sim -- --scenario ${r.scenario} --seed ${r.seed} --n ${r.n} --json   # ${r.violations.join('; ') || (r.live ? '' : 'not live')}`;
}

describe('PBFT simulator', () => {
  for (const sc of SCENARIOS) {
    if (sc.name === 'negative-control') continue;
    it(`${sc.name}: safe and live over ${SEEDS} seeds`, async () => {
      const failures: string[] = [];
      for (let s = BASE; s < BASE + SEEDS; s++) {
        const r = await runScenario(sc.name, s);
        if (!passes(r)) failures.push(replayLine(r));
      }
      if (failures.length) console.error(`failing seeds for ${sc.name}:\n${failures.join('\n')}`);
      expect(failures).toEqual([]);
    });
  }

  it(`negative-control: with f+1 Byzantine replicas the checker reports a safety violation for some seed`, async () => {
    let unsafe = 0;
    const count = Math.min(SEEDS, 50);
    for (let s = BASE; s < BASE + count; s++) {
      const r = await runScenario('negative-control', s);
      if (!r.safety) unsafe++;
      expect(r.violations.length > 0).toBe(!r.safety);
    }
    expect(unsafe).toBeGreaterThan(0);
  });

  it('replays a seed byte for byte', async () => {
    for (const name of ['lossy-30', 'equivocating-primary', 'restart-mid-view-change']) {
      const a = JSON.stringify(await runScenario(name, 4242));
      const b = JSON.stringify(await runScenario(name, 4242));
      expect(b).toBe(a);
      const c = JSON.stringify(await runScenario(name, 4243));
      expect(c).not.toBe(a);
    }
  });
});
