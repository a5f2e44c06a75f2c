// `npm run evaluate -- --seed S [--quick] --json FILE`: runs the three architectures on one seeded workload,
// prints the measured table beside the paper's quoted figures, writes the JSON to FILE and an SVG chart of
// the five metrics beside it (FILE with .svg for .json). Progress goes to stderr. Reads the Synthea bundles and
// the UCI breast-cancer CSV from ../shared/data (never copied into the repository).
import 'fake-indexeddb/auto';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initCore } from '../../../../wasm/index.ts';
import { parseCsv } from '../fl/index.ts';
// The Node trainer is not in the FL face (which pages import): this command runs in Node only.
import { inThreadTrainer } from '../fl/node-trainer.ts';
import { runEvaluation } from './evaluate.ts';
import { chartSvg, tableText } from './report.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

function usage(message: string): never {
  process.stderr.write(`${message}\nusage: npm run evaluate -- --seed S [--quick] --json FILE\n`);
  process.exit(2);
}

const args = process.argv.slice(2);
const value = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const seed = Number(value('seed') ?? usage('missing --seed'));
if (!Number.isInteger(seed) || seed < 0) usage('--seed must be a non-negative integer');
const jsonFile = value('json') ?? usage('missing --json FILE');
if (!jsonFile.endsWith('.json')) usage('--json FILE must end in .json (the chart goes beside it, .svg)');
const quick = args.includes('--quick');

const started = performance.now();
const progress = (m: string): void => void process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s] ${m}\n`);

const dataDir = path.resolve(repoRoot, '../shared/data');
const syntheaDir = path.join(dataDir, 'synthea');
const bundles = readdirSync(syntheaDir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(readFileSync(path.join(syntheaDir, f), 'utf8')) as unknown);
const flData = parseCsv(readFileSync(path.join(dataDir, 'uci-breast-cancer/breast_cancer.csv'), 'utf8'), 'last');

await initCore();
const trainer = await inThreadTrainer();
try {
  const result = await runEvaluation({ seed, quick, bundles, flData, trainer, progress, dbPrefix: `eval-${seed}-${process.pid}` });
  const elapsed = (performance.now() - started) / 1000;
  process.stdout.write(`${tableText(result)}\n\nTook ${elapsed.toFixed(1)} s (${quick ? 'quick' : 'full'} run).\n`);
  const out = path.resolve(jsonFile);
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
  const svg = out.replace(/\.json$/, '.svg');
  writeFileSync(svg, chartSvg(result));
  progress(`wrote ${path.relative(process.cwd(), out)} and ${path.relative(process.cwd(), svg)}`);
} finally {
  await trainer.close();
}
