// The benchmark harness: each file in sections/ exports a BenchSection; main.ts runs them in one process so
// that every figure is measured side by side with its anchors in the same run.

export interface BenchContext {
  /** Fewer iterations, for a smoke run (`--quick`). */
  readonly quick: boolean;
  /** Progress lines go to stderr so stdout stays a clean table. */
  log(line: string): void;
}

export type Row = Record<string, string | number>;

export interface SectionReport {
  /** Rows printed as a table. */
  rows: Row[];
  /** Everything measured, written under the section's name in the JSON file. */
  data: Record<string, unknown>;
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
export async function measure(
  fn: () => unknown | Promise<unknown>,
  opts: { minMs?: number; batch?: number } = {},
): Promise<Measurement> {
  const minMs = opts.minMs ?? 500;
  const batch = opts.batch ?? 1;
  const run = async (ms: number): Promise<Measurement> => {
    let iterations = 0;
    const start = performance.now();
    let now = start;
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

/** Ratio a/b rounded to two decimals (what the tables and JSON report). */
export function ratio(a: number, b: number): number {
  return Math.round((a / b) * 100) / 100;
}

/** The q-quantile (0..1) of a list of numbers, by nearest rank. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((x, y) => x - y);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[idx] as number;
}
