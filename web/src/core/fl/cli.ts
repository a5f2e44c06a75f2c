// `npm run fl -- --csv PATH --label COLUMN|last --clients N --rounds R --partition iid|dirichlet:A|unequal
//   --rule fedavg|clipped|trimmed|median|krum|default --attack none|label-flip|sign-flip|scale|noise|backdoor
//   --attackers K --seed S --ledger memory|pbft --workers W [--dp-epsilon E] [--dp-delta D] [--dp-clip C]
//   [--model logreg|mlp] [--json]`
// --ledger pbft runs one wasm PBFT replica per clinic (n = clients) executing the contracts over a simulated
// network; --workers W trains in W worker_threads (0: this thread). Same seed, same globalDigest, whatever
// the ledger and the number of workers.
import { readFileSync } from 'node:fs';
import { initCore } from '../../../../wasm/index.ts';
import { ATTACKS, type AttackName } from './attacks.ts';
import { parseCsv, parsePartition } from './dataset.ts';
import { runFederation, type RuleChoice } from './federation.ts';
import { inThreadTrainer, startNodeTrainerPool } from './node-trainer.ts';

function arg(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : fallback;
  if (v === undefined) fail(`missing --${name}`);
  return v;
}

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

function count(name: string, fallback: string, min: number): number {
  const v = Number(arg(name, fallback));
  if (!Number.isInteger(v) || v < min) fail(`--${name} must be an integer of at least ${min}`);
  return v;
}

const rules = ['fedavg', 'clipped', 'trimmed', 'median', 'krum', 'default'];
const rule = arg('rule', 'default');
const attack = arg('attack', 'none');
if (!rules.includes(rule)) fail(`--rule must be one of ${rules.join(', ')}`);
if (!ATTACKS.includes(attack as AttackName)) fail(`--attack must be one of ${ATTACKS.join(', ')}`);
const model = arg('model', 'logreg');
if (model !== 'logreg' && model !== 'mlp') fail('--model must be logreg or mlp for tabular data');
const ledger = arg('ledger', 'memory');
if (ledger !== 'memory' && ledger !== 'pbft') fail('--ledger must be memory or pbft');
const workers = count('workers', '1', 0);
const dpEpsilon = process.argv.includes('--dp-epsilon') ? Number(arg('dp-epsilon')) : undefined;
if (dpEpsilon !== undefined && !(dpEpsilon > 0)) fail('--dp-epsilon must be a positive number');
const dpDelta = Number(arg('dp-delta', '1e-5'));
const dpClip = Number(arg('dp-clip', '1'));
if (!(dpDelta > 0 && dpDelta < 1) || !(dpClip > 0)) fail('--dp-delta must be in (0, 1) and --dp-clip positive');

await initCore();
const data = parseCsv(readFileSync(arg('csv'), 'utf8'), arg('label', 'last'));
const trainer = workers === 0 ? await inThreadTrainer() : await startNodeTrainerPool(workers);
let result;
try {
  result = await runFederation({
    data,
    clients: count('clients', '5', 1),
    rounds: count('rounds', '20', 1),
    partition: parsePartition(arg('partition', 'iid')),
    rule: rule as RuleChoice,
    attack: attack as AttackName,
    attackers: count('attackers', attack === 'none' ? '0' : '1', 0),
    seed: count('seed', '1', 0),
    model,
    ledger,
    trainer,
    ...(dpEpsilon !== undefined ? { dp: { epsilon: dpEpsilon, delta: dpDelta, clip: dpClip } } : {}),
  });
} finally {
  await trainer.close();
}
if (process.argv.includes('--json')) {
  console.log(JSON.stringify(result, null, 2));
} else {
  const pct = (v: number | null): string => (v === null ? '-' : `${(v * 100).toFixed(1)}%`);
  console.log(
    `rule ${result.rule}, attack ${result.attack} x${result.attackers} of ${result.clients}, ${result.rounds} rounds, ledger ${result.ledger} (height ${result.ledgerHeight})`,
  );
  console.log(`federated accuracy ${pct(result.accuracy)}, AUC ${result.auc.toFixed(3)}`);
  console.log(`centralized accuracy ${pct(result.centralizedAccuracy)}, AUC ${result.centralizedAuc?.toFixed(3) ?? '-'}`);
  if (result.epsilon !== undefined) console.log(`privacy spent: epsilon ${result.epsilon.toFixed(2)} at delta ${result.delta}`);
  console.log(`flagged per round: ${result.flagged.map((f) => (f.length ? f.join('+') : '-')).join(' ')}`);
  console.log(
    `trust: ${Object.entries(result.trust)
      .map(([c, t]) => `${c} ${t}`)
      .join(', ')}`,
  );
  console.log(`backdoor success ${pct(result.backdoorSuccess)}; global digest ${result.globalDigest}`);
}
