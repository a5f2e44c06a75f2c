// `npm run attacks [-- --json] [-- --seed N]`: runs the attack suite against four clinics in this process
// (fake-indexeddb stands in for the browser's IndexedDB here) and prints what was tried and what got through.
import 'fake-indexeddb/auto';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initCore } from '../../../../wasm/index.ts';
import { runAttacks } from './attacks.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const args = process.argv.slice(2);
const json = args.includes('--json');
const seedArg = args.indexOf('--seed');
const seed = seedArg >= 0 ? Number(args[seedArg + 1]) : 1;
const dataDir = path.resolve(repoRoot, '../shared/data/synthea');
const bundles = readdirSync(dataDir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(readFileSync(path.join(dataDir, f), 'utf8')) as unknown);

await initCore();
const report = await runAttacks({ seed, dbPrefix: `attacks-${seed}`, bundles });
if (json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
else {
  for (const c of report.cases) process.stdout.write(`${c.outcome.padEnd(9)} ${c.category.padEnd(11)} ${c.name} (${c.reason})\n`);
  process.stdout.write(
    `\ntried ${report.tried}, unauthorized successes ${report.succeeded}, blocked or detected ${report.detected}; tampered records detected ${report.tamper.detected}/${report.tamper.tried}\n`,
  );
}
process.exitCode = report.succeeded === 0 ? 0 : 1;
