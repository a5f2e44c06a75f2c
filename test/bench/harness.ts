// The benchmark harness: each file in sections/ exports a BenchSection; main.ts runs them in one process so
// that every figure is measured side by side with its anchors in the same run.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface BenchContext {
  /** Fewer iterations, for a smoke run (`--quick`). */
  readonly quick: boolean;
  /** Progress lines go to stderr so stdout stays a clean table. */
  log(line: string): void;
}

export type Row = Record<string, string | number>;

/** One target of the issue a section measures, with this run's value and whether it was met. */
export interface Target {
  readonly name: string;
  /** The threshold as written: '>= 2500', '<= 0.4', '< 100'. */
  readonly target: string;
  readonly value: number;
  readonly unit?: string;
  readonly met: boolean;
}

/** A Target from a value, a comparison and a threshold (NaN, e.g. a measure that did not run, is never met). */
export function target(name: string, value: number, cmp: '>=' | '<=' | '<' | '>', threshold: number, unit?: string): Target {
  const met = cmp === '>=' ? value >= threshold : cmp === '<=' ? value <= threshold : cmp === '<' ? value < threshold : value > threshold;
  return { name, target: `${cmp} ${threshold}`, value, ...(unit ? { unit } : {}), met };
}

/** A yes/no target (e.g. "no crash"): value 1 when the condition holds. */
export function targetHolds(name: string, holds: boolean, what = 'holds'): Target {
  return { name, target: what, value: holds ? 1 : 0, met: holds };
}

export interface SectionReport {
  /** Rows printed as a table. */
  rows: Row[];
  /** Everything measured, written under the section's name in the JSON file. */
  data: Record<string, unknown>;
  /**
   * The targets this section measures (empty when it has none: an anchor-only comparison). main.ts
   * writes them under the section's name as `targets`, prints them together at the end, and counts the misses.
   */
  targets: Target[];
}

export interface BenchSection {
  readonly name: string;
  run(ctx: BenchContext): Promise<SectionReport>;
}

export interface Measurement {
  opsPerSec: number;
  iterations: number;
  elapsedMs: number;
}

/**
 * Calls `fn` repeatedly for at least `minMs` (after a warm-up of a quarter of that) and returns the rate. `fn`
 * may do `batch` operations per call, so cheap operations are not dominated by the loop.
 */
export async function measure(fn: () => unknown | Promise<unknown>, opts: { minMs?: number; batch?: number } = {}): Promise<Measurement> {
  const minMs = opts.minMs ?? 500;
  const batch = opts.batch ?? 1;
  const run = async (ms: number): Promise<Measurement> => {
    let iterations = 0;
    const start = performance.now();
    let now: number;
    do {
      const r = fn();
      if (r instanceof Promise) await r;
      iterations += batch;
      now = performance.now();
    } while (now - start < ms);
    const elapsedMs = now - start;
    return { opsPerSec: (iterations * 1000) / elapsedMs, iterations, elapsedMs };
  };
  await run(minMs / 4);
  return run(minMs);
}

/**
 * Like `measure`, but counts the process's CPU time (user + system) instead of wall-clock time: on a machine
 * shared with other work, the time this process spends descheduled does not count, so the rates of
 * CPU-bound operations measured in turns stay comparable. Equal to wall-clock rates on a quiet machine.
 */
export async function measureCpu(fn: () => unknown | Promise<unknown>, opts: { minMs?: number; batch?: number } = {}): Promise<Measurement> {
  const minUs = (opts.minMs ?? 500) * 1000;
  const batch = opts.batch ?? 1;
  const cpuUs = (since: NodeJS.CpuUsage): number => {
    const d = process.cpuUsage(since);
    return d.user + d.system;
  };
  // Reading the CPU clock is a system call: call fn `chunk` times between readings (about 1 ms of work).
  const run = async (us: number, chunk: number): Promise<Measurement> => {
    let calls = 0;
    const start = process.cpuUsage();
    let used: number;
    do {
      for (let i = 0; i < chunk; i++) {
        const r = fn();
        if (r instanceof Promise) await r;
      }
      calls += chunk;
      used = cpuUs(start);
    } while (used < us);
    return { opsPerSec: (calls * batch * 1e6) / used, iterations: calls * batch, elapsedMs: used / 1000 };
  };
  const warm = await run(minUs / 4, 1);
  const perCallUs = (warm.elapsedMs * 1000 * batch) / warm.iterations;
  return run(minUs, Math.max(1, Math.floor(1000 / perCallUs)));
}

/**
 * The CPU-time rates of several functions timed in alternating slices (`slices` each, minMs / slices long), for
 * a ratio between them: two back-to-back windows of a few hundred ms on a shared machine can differ by a fifth,
 * and a ratio of two such windows moves with them; slices taken in turn see the same machine.
 */
export async function measureInterleaved(fns: Record<string, () => unknown>, opts: { minMs?: number; slices?: number; batch?: number } = {}): Promise<Record<string, Measurement>> {
  const slices = opts.slices ?? 10;
  const each = { minMs: (opts.minMs ?? 500) / slices, batch: opts.batch ?? 1 };
  const total = new Map(Object.keys(fns).map((k) => [k, { iterations: 0, elapsedMs: 0 }]));
  for (let i = 0; i < slices; i++) {
    for (const [name, fn] of Object.entries(fns)) {
      const m = await measureCpu(fn, each);
      const t = total.get(name)!;
      t.iterations += m.iterations;
      t.elapsedMs += m.elapsedMs;
    }
  }
  return Object.fromEntries([...total].map(([k, t]) => [k, { ...t, opsPerSec: (t.iterations * 1000) / t.elapsedMs }]));
}

/** Ratio a/b rounded to two decimals (what the tables and JSON report). */
export function ratio(a: number, b: number): number {
  return Math.round((a / b) * 100) / 100;
}

/**
 * The median of the rounds' ratios a[i] / b[i], rounded as `ratio`: each round's two measurements are next to
 * each other in time, so each ratio sees one machine load, and a slow moment lands on one round, not one side.
 */
export function pairedRatio(a: readonly number[], b: readonly number[]): number {
  return ratio(
    quantile(
      a.map((x, i) => x / (b[i] ?? Number.NaN)),
      0.5,
    ),
    1,
  );
}

/** The q-quantile (0..1) of a list of numbers, by nearest rank. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((x, y) => x - y);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[idx] as number;
}

/**
 * The independent measurement: each library alone in a fresh Node process (`script --independent <lib>
 * ...args`, answered by serveTurns), timed in turns as the in-process rows are. All the processes start, warm
 * up, then every round asks each in turn for one measureCpu of `minMs`, and each library keeps its best
 * round. Libraries measured one after another in whole runs would see different loads from the rest of a
 * shared machine; in turns they see the same ones, and only the process they run in differs.
 */
export async function measureInTurns(script: string, libs: readonly string[], args: readonly string[], rounds: number): Promise<Record<string, number>> {
  const children = libs.map((lib) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, '--independent', lib, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const next = async (): Promise<string> => {
      const { value, done } = await lines.next();
      if (done) throw new Error(`the independent measurement of ${lib} ended early`);
      return value as string;
    };
    return { lib, child, next };
  });
  try {
    await Promise.all(children.map((c) => c.next())); // each has warmed up
    const best: Record<string, number> = {};
    for (let round = 0; round < rounds; round++) {
      for (const c of children) {
        c.child.stdin.write('go\n');
        const { opsPerSec } = JSON.parse(await c.next()) as { opsPerSec: number };
        best[c.lib] = Math.max(best[c.lib] ?? 0, opsPerSec);
      }
    }
    return best;
  } finally {
    for (const c of children) c.child.stdin.end();
  }
}

/** The child side of measureInTurns: one unmeasured round, then one measureCpu per 'go' line until stdin ends. */
export async function serveTurns(fn: () => unknown, opts: { minMs: number; batch?: number }): Promise<void> {
  await measureCpu(fn, opts);
  process.stdout.write('ready\n');
  for await (const line of createInterface({ input: process.stdin })) {
    if (line.trim() !== 'go') continue;
    const m = await measureCpu(fn, opts);
    process.stdout.write(`${JSON.stringify({ opsPerSec: m.opsPerSec })}\n`);
  }
}
