// npm run sim -- --scenario NAME --seed S --n N [--json] [--seeds K]
// Runs one scenario (or every one with --scenario all) and prints the result; --seeds K runs seeds S..S+K-1.

import { runScenario, passes, type SimResult } from './run.ts';
import { SCENARIOS } from './scenarios.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const name = arg('scenario', 'normal');
const seed = Number(arg('seed', '1'));
const n = Number(arg('n', '4'));
const seeds = Number(arg('seeds', '1'));
const json = process.argv.includes('--json');
if (!Number.isInteger(seed) || !Number.isInteger(n) || n < 4 || !Number.isInteger(seeds) || seeds < 1) {
  console.error('usage: npm run sim -- --scenario NAME --seed S --n N(>=4) [--seeds K] [--json]');
  process.exit(2);
}
const names = name === 'all' ? SCENARIOS.map((s) => s.name) : [name];
const results: SimResult[] = [];
for (const s of names) for (let k = 0; k < seeds; k++) results.push(await runScenario(s, seed + k, n));

if (json) {
  process.stdout.write(`${JSON.stringify(results.length === 1 ? results[0] : results, null, 2)}\n`);
} else {
  for (const r of results) {
    console.log(
      `${r.scenario.padEnd(24)} seed ${String(r.seed).padEnd(6)} safety ${r.safety} live ${r.live} committed ${r.committed}/${r.submitted} views ${r.views} ` +
        `recovery ${r.recoveryMs} ms${r.violations.length ? `  ${r.violations.join('; ')}` : ''}`,
    );
  }
}
process.exitCode = results.every(passes) ? 0 : 1;
