// Shared by the scenario test files (split in two so vitest runs them on both cores).
import { expect, it } from 'vitest';
import { passes, REGRESSIONS, replayLine, runScenario, SIZES } from './run.ts';

/**
 * Seeds per (scenario, n) in CI: 3 keep the whole sweep near 2.5 minutes on 2 cores. The wide sweep is a
 * command (`npm run sim -- --sweep --seeds 200`); SIM_SEEDS raises the test's own count.
 */
export const SEEDS = Number(process.env['SIM_SEEDS'] ?? 3);
export const BASE = Number(process.env['SIM_SEED_BASE'] ?? 1);
/** Wall-clock allowance per run (a run takes 0.1-4 s of CPU; the machine may be shared and busy). */
const MS_PER_RUN = 120_000;

/** One test per (scenario, n): every seed must be safe and live; failing seeds are printed as replay commands. */
export function sweep(names: readonly string[]): void {
  for (const name of names) {
    for (const n of SIZES) {
      const extra = REGRESSIONS.filter((r) => r.scenario === name && r.n === n).flatMap((r) => r.seeds);
      const seeds = [...new Set([...Array.from({ length: SEEDS }, (_, k) => BASE + k), ...extra])];
      it(
        `${name} at n = ${n}: safe and live over seeds ${seeds.join(', ')}`,
        async () => {
          const failures: string[] = [];
          for (const s of seeds) {
            const r = await runScenario(name, s, n);
            if (!passes(r)) failures.push(replayLine(r));
          }
          if (failures.length) console.error(`failing seeds for ${name} at n = ${n}:\n${failures.join('\n')}`);
          expect(failures).toEqual([]);
        },
        seeds.length * MS_PER_RUN,
      );
    }
  }
}
