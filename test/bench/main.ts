// `npm run bench [-- --json FILE] [--only a,b] [--quick]`: runs every section in sections/ in one process,
// prints a table per section and writes all figures as JSON: under each section's name its data, its targets
// (name, threshold, value, met; the same shape in every section) and how long it took; at the top the run's
// duration per section and which targets were missed.
import { readdir, writeFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import os from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchContext, BenchSection, Target } from './harness.ts';

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
const benchStart = performance.now();
const stamp = (): string => `[${((performance.now() - benchStart) / 1000).toFixed(0).padStart(4)} s]`;
const ctx: BenchContext = { quick, log: (line) => process.stderr.write(`${stamp()} ${line}\n`) };
const results: Record<string, unknown> = {};
const allTargets: (Target & { section: string })[] = [];
const durations: Record<string, number> = {};
let failed = false;
const sections: BenchSection[] = [];
for (const file of files) sections.push(((await import(pathToFileURL(sectionsDir + file).href)) as { default: BenchSection }).default);
const unknown = (only ?? []).filter((n) => !sections.some((s) => s.name === n));
if (unknown.length > 0) throw new Error(`--only: no section named ${unknown.join(', ')} (sections: ${sections.map((s) => s.name).join(', ')})`);

for (const section of sections) {
  if (only && !only.includes(section.name)) continue;
  ctx.log(`# ${section.name}`);
  const started = performance.now();
  try {
    const report = await section.run(ctx);
    const seconds = Math.round((performance.now() - started) / 1000);
    durations[section.name] = seconds;
    console.log(`\n## ${section.name} (${seconds} s)`);
    console.table(report.rows);
    results[section.name] = { ...report.data, targets: report.targets, durationS: seconds };
    for (const t of report.targets) allTargets.push({ section: section.name, ...t });
  } catch (err) {
    failed = true;
    const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
    console.error(`section ${section.name} failed: ${message}`);
    results[section.name] = { error: err instanceof Error ? err.message : String(err) };
    durations[section.name] = Math.round((performance.now() - started) / 1000);
  }
}

if (allTargets.length > 0) {
  console.log('\n## targets');
  console.table(allTargets.map((t) => ({ section: t.section, target: t.name, wanted: t.target, value: t.value, met: t.met ? 'yes' : 'NO' })));
}

const out = {
  meta: {
    date: new Date().toISOString(),
    node: process.version,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    quick,
    durationS: Math.round((performance.now() - benchStart) / 1000),
    sectionDurationsS: durations,
  },
  targets: { met: allTargets.filter((t) => t.met).length, missed: allTargets.filter((t) => !t.met).map((t) => `${t.section}: ${t.name}`) },
  sections: results,
};
await mkdir(dirname(jsonPath), { recursive: true });
await writeFile(jsonPath, `${JSON.stringify(out, null, 2)}\n`);
console.log(`\nwrote ${jsonPath}`);
if (failed) process.exitCode = 1;
