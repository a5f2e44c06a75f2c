// `npm run bench [-- --json FILE] [--only a,b] [--quick]`: runs every section in sections/ in one process,
// prints a table per section and writes all figures as JSON.
import { readdir, writeFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import os from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchContext, BenchSection } from './harness.ts';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const jsonPath = arg('--json') ?? 'bench-results/bench.json';
const only = arg('--only')
  ?.split(',')
  .map((s) => s.trim());
const quick = process.argv.includes('--quick');

const sectionsDir = fileURLToPath(new URL('./sections/', import.meta.url));
const files = (await readdir(sectionsDir)).filter((f) => f.endsWith('.ts')).sort();
const ctx: BenchContext = { quick, log: (line) => process.stderr.write(`${line}\n`) };
const results: Record<string, unknown> = {};
let failed = false;

for (const file of files) {
  const mod = (await import(pathToFileURL(sectionsDir + file).href)) as { default: BenchSection };
  const section = mod.default;
  if (only && !only.includes(section.name)) continue;
  ctx.log(`# ${section.name}`);
  try {
    const report = await section.run(ctx);
    console.log(`\n## ${section.name}`);
    console.table(report.rows);
    results[section.name] = report.data;
  } catch (err) {
    failed = true;
    const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
    console.error(`section ${section.name} failed: ${message}`);
    results[section.name] = { error: err instanceof Error ? err.message : String(err) };
  }
}

const out = {
  meta: {
    date: new Date().toISOString(),
    node: process.version,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    quick,
  },
  sections: results,
};
await mkdir(dirname(jsonPath), { recursive: true });
await writeFile(jsonPath, `${JSON.stringify(out, null, 2)}\n`);
console.log(`\nwrote ${jsonPath}`);
if (failed) process.exitCode = 1;
