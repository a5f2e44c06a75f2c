// `npm run fl -- --csv PATH --label COLUMN|last --clients N --rounds R --partition iid|dirichlet:ALPHA|unequal
//   --rule fedavg|clipped|trimmed|median|krum|default --attack none|label-flip|sign-flip|scale|noise|backdoor
//   --attackers K --seed S [--model logreg|mlp] [--json]`
import { readFileSync } from 'node:fs';
import { ATTACKS, type AttackName } from './attacks.ts';
import { initTfWasmNode } from './backend-node.ts';
import { parseCsv, parsePartition } from './dataset.ts';
import { runFederation, type RuleChoice } from './federation.ts';
import { initCore } from '../../../../wasm/index.ts';

function arg(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : fallback;
  if (v === undefined) {
    console.error(`missing --${name}`);
    process.exit(2);
  }
  return v;
}

const rules = ['fedavg', 'clipped', 'trimmed', 'median', 'krum', 'default'];
const rule = arg('rule', 'default');
const attack = arg('attack', 'none');
if (!rules.includes(rule)) throw new Error(`--rule must be one of ${rules.join(', ')}`);
if (!ATTACKS.includes(attack as AttackName)) throw new Error(`--attack must be one of ${ATTACKS.join(', ')}`);
const model = arg('model', 'logreg');
if (model !== 'logreg' && model !== 'mlp') throw new Error('--model must be logreg or mlp for tabular data');

await initCore();
await initTfWasmNode();
const data = parseCsv(readFileSync(arg('csv'), 'utf8'), arg('label', 'last'));
const result = await runFederation({
  data,
  clients: Number(arg('clients', '5')),
  rounds: Number(arg('rounds', '20')),
  partition: parsePartition(arg('partition', 'iid')),
  rule: rule as RuleChoice,
  attack: attack as AttackName,
  attackers: Number(arg('attackers', attack === 'none' ? '0' : '1')),
  seed: Number(arg('seed', '1')),
  model,
});
if (process.argv.includes('--json')) {
  console.log(JSON.stringify(result, null, 2));
} else {
  const pct = (v: number | null): string => (v === null ? '-' : `${(v * 100).toFixed(1)}%`);
  console.log(`rule ${result.rule}, attack ${result.attack} x${result.attackers} of ${result.clients}, ${result.rounds} rounds`);
  console.log(`federated accuracy ${pct(result.accuracy)}, AUC ${result.auc.toFixed(3)}`);
  console.log(`centralized accuracy ${pct(result.centralizedAccuracy)}, AUC ${result.centralizedAuc?.toFixed(3) ?? '-'}`);
  console.log(`backdoor success ${pct(result.backdoorSuccess)}; global digest ${result.globalDigest}`);
}
