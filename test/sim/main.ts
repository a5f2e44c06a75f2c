// npm run sim -- --scenario NAME --seed S --n N [--seeds K] [--json]
//   Runs one scenario (or every one with --scenario all) and prints the result; --seeds K runs seeds S..S+K-1.
// npm run sim -- --sweep [--seeds K] [--seed S] [--scenario NAME] [--n N] [--jobs J]
//   The wide sweep: every scenario (or NAME) at every n of SIZES (or N), seeds S..S+K-1 (default 1..20) plus the
//   regression seeds, in J worker processes (default: one per core). Prints one line per (scenario, n) and the
//   replay command of every failing seed; exits non-zero if any failed.

import { availableParallelism } from 'node:os';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { passes, REGRESSIONS, replayLine, runScenario, SIZES, type SimResult } from './run.ts';
import { SCENARIOS } from './scenarios.ts';

interface Task {
  scenario: string;
  seed: number;
  n: number;
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

function usage(): never {
  console.error(
    'usage: npm run sim -- --scenario NAME --seed S --n N(4..64) [--seeds K] [--json]\n' +
      '       npm run sim -- --sweep [--seeds K] [--seed S] [--scenario NAME] [--n N] [--jobs J]',
  );
  process.exit(2);
}

function summaryLine(r: SimResult): string {
  return (
    `${r.scenario.padEnd(24)} n ${String(r.n).padEnd(3)} seed ${String(r.seed).padEnd(6)} safety ${r.safety} live ${r.live} ` +
    `committed ${r.committed}/${r.submitted} views ${r.views} recovery ${r.recoveryMs} ms${r.violations.length ? `  ${r.violations.join('; ')}` : ''}`
  );
}

async function single(): Promise<void> {
  const name = arg('scenario', 'normal');
  const seed = Number(arg('seed', '1'));
  const n = Number(arg('n', '4'));
  const seeds = Number(arg('seeds', '1'));
  if (!Number.isInteger(seed) || !Number.isInteger(n) || n < 4 || n > 64 || !Number.isInteger(seeds) || seeds < 1) usage();
  const names = name === 'all' ? SCENARIOS.map((s) => s.name) : [name];
  const results: SimResult[] = [];
  for (const s of names) for (let k = 0; k < seeds; k++) results.push(await runScenario(s, seed + k, n));
  if (process.argv.includes('--json')) {
    process.stdout.write(`${JSON.stringify(results.length === 1 ? results[0] : results, null, 2)}\n`);
  } else {
    for (const r of results) console.log(summaryLine(r));
  }
  process.exitCode = results.every(passes) ? 0 : 1;
}

async function sweepAll(): Promise<void> {
  const seed = Number(arg('seed', '1'));
  const seeds = Number(arg('seeds', '20'));
  const jobs = Number(arg('jobs', String(availableParallelism())));
  const only = arg('scenario', 'all');
  const sizes = process.argv.includes('--n') ? [Number(arg('n', '4'))] : SIZES;
  if (![seed, seeds, jobs, ...sizes].every(Number.isInteger) || seeds < 1 || jobs < 1 || sizes.some((n) => n < 4 || n > 64)) usage();
  const names = only === 'all' ? SCENARIOS.map((s) => s.name) : [only];
  const tasks: Task[] = [];
  for (const scenario of names) {
    for (const n of sizes) {
      const extra = REGRESSIONS.filter((r) => r.scenario === scenario && r.n === n).flatMap((r) => r.seeds);
      for (const s of new Set([...Array.from({ length: seeds }, (_, k) => seed + k), ...extra])) tasks.push({ scenario, seed: s, n });
    }
  }
  const started = Date.now();
  const results: SimResult[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(jobs, tasks.length) }, async () => {
      const w = fork(fileURLToPath(import.meta.url), ['--sweep-worker'], { execArgv: ['--import', 'tsx'] });
      await new Promise<void>((resolve, reject) => {
        const feed = (): void => {
          if (next < tasks.length) w.send(tasks[next++]!);
          else {
            w.disconnect();
            resolve();
          }
        };
        w.on('message', (r: SimResult | 'ready') => {
          if (r !== 'ready') results.push(r);
          feed();
        });
        w.on('error', reject);
      });
    }),
  );
  let failed = 0;
  for (const scenario of names) {
    for (const n of sizes) {
      const mine = results.filter((r) => r.scenario === scenario && r.n === n).sort((a, b) => a.seed - b.seed);
      if (scenario === 'negative-control') {
        // The control passes when the checker catches the adversary on some seed.
        const unsafe = mine.filter((r) => !r.safety).length;
        if (unsafe === 0) failed++;
        console.log(`${scenario.padEnd(24)} n ${String(n).padEnd(3)} ${unsafe}/${mine.length} seeds unsafe (must be > 0)`);
        continue;
      }
      const bad = mine.filter((r) => !passes(r));
      failed += bad.length;
      console.log(`${scenario.padEnd(24)} n ${String(n).padEnd(3)} ${mine.length - bad.length}/${mine.length} seeds safe and live`);
      for (const r of bad) console.log(`  ${replayLine(r)}`);
    }
  }
  console.log(`${tasks.length} runs in ${jobs} processes in ${((Date.now() - started) / 1000).toFixed(0)} s; ${failed ? `${failed} failed` : 'all passed'}`);
  process.exitCode = failed ? 1 : 0;
}

if (process.argv.includes('--sweep-worker')) {
  process.on('message', (t: Task) => {
    void runScenario(t.scenario, t.seed, t.n).then((r) => process.send!(r));
  });
  process.send!('ready');
} else if (process.argv.includes('--sweep')) {
  await sweepAll();
} else {
  await single();
}
