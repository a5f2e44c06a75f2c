// Shared by the scenario test files (split in two so vitest runs them on both cores).
import { expect, it } from 'vitest';
import { passes, runScenario, type SimResult } from './run.ts';

/** Seeds per scenario: 200 by default (about 5.5 minutes on 2 cores); SIM_SEEDS lowers it while developing. */
export const SEEDS = Number(process.env['SIM_SEEDS'] ?? 200);
/** Wall-clock allowance per seed (a run takes ~0.5-3 s of CPU; the machine may be shared). */
const MS_PER_SEED = 30_000;
export const BASE = Number(process.env['SIM_SEED_BASE'] ?? 1);

export function replayLine(r: SimResult): string {
  return `npm run sim -- --scenario ${r.scenario} --seed ${r.seed} --n ${r.n} --json   # ${r.violations.join('; ') || (r.live ? '' : 'not live')}`;
}

/** One test per scenario: every seed must be safe and live; failing seeds are printed as replay commands. */
export function sweep(names: readonly string[]): void {
  for (const name of names) {
    it(`${name}: safe and live over ${SEEDS} seeds`, async () => {
      const failures: string[] = [];
      for (let s = BASE; s < BASE + SEEDS; s++) {
        const r = await runScenario(name, s);
        if (!passes(r)) failures.push(replayLine(r));
      }
      if (failures.length) console.error(`failing seeds for ${name}:\n${failures.join('\n')}`);
      expect(failures).toEqual([]);
    }, SEEDS * MS_PER_SEED);
  }
}
