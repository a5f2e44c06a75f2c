// Model accuracy and AUC under poisoning, for each architecture, on the workload's FL task (one attacker
// clinic of `clients`). Federated and Hygeia train by federated rounds (runFederation: real services
// exchanging updates, aggregates agreed on PBFT replicas) with the default robust rule, detectors and trust
// for Hygeia; the federated baseline has no ledger and no detectors, so it runs plain FedAvg rounds itself
// (each clinic trains from the global weights, the server averages the deltas weighted by samples). The centralized EHR trains one
// model on the pooled data; its attacker can only poison the data it uploads, so its rows arrive label-flipped.
import {
  accuracy,
  auc,
  fedAvg,
  fitStandardiser,
  parsePartition,
  partition,
  poisoningFor,
  poisonLabels,
  runFederation,
  standardise,
  subset,
  trainTestSplit,
  type Dataset,
} from '../fl/index.ts';
import { Prng } from '../util/index.ts';
import type { FlOutcome, RunContext } from './architecture.ts';
import type { Workload } from './workload.ts';

const PARTITION = 'iid';
const TEST_SHARE = 0.2;
const EPOCHS = 1;
const BATCH = 16;
const LR = 0.1;

/** The split, standardisation, partition and attackers exactly as runFederation makes them for the same seed. */
function prepare(w: Workload, data: Dataset): { train: Dataset; test: Dataset; parts: number[][]; ids: string[]; attackers: Set<string>; testY: Float32Array } {
  const { train: rawTrain, test: rawTest } = trainTestSplit(data, TEST_SHARE, w.seed);
  const scaler = fitStandardiser(rawTrain);
  const train = standardise(rawTrain, scaler);
  const test = standardise(rawTest, scaler);
  const parts = partition(train, w.fl.clients, parsePartition(PARTITION), w.seed);
  const ids = Array.from({ length: w.fl.clients }, (_, i) => `clinic-${i + 1}`);
  const attackers = new Set(
    new Prng(w.seed)
      .fork('attackers')
      .shuffle([...ids])
      .slice(0, w.fl.attackers),
  );
  return { train, test, parts, ids, attackers, testY: Float32Array.from(test.y, (v) => (v > 0 ? 1 : 0)) };
}

const labelsOf = (d: Dataset, rows: readonly number[]): Float32Array => Float32Array.from(rows, (r) => (d.y[r]! > 0 ? 1 : 0));

export async function pooledTraining(w: Workload, ctx: RunContext): Promise<FlOutcome> {
  const { train, test, parts, ids, attackers, testY } = prepare(w, ctx.flData);
  const order: number[] = [];
  const labels: number[] = [];
  parts.forEach((rows, k) => {
    const y = labelsOf(train, rows);
    const uploaded = attackers.has(ids[k]!) ? poisonLabels('label-flip', y) : y;
    order.push(...rows);
    labels.push(...uploaded);
  });
  const pooled = subset(train, order);
  const spec = { kind: 'logreg' as const, features: train.features, seed: w.seed };
  const trained = await ctx.trainer.train({
    spec,
    x: pooled.x,
    y: Float32Array.from(labels),
    opts: { epochs: w.fl.rounds * EPOCHS, batchSize: BATCH, learningRate: LR, seed: w.seed },
  });
  const prob = (await ctx.trainer.evaluate({ spec, weights: trained.weights, x: test.x, y: testY })).prob;
  return { accuracy: accuracy(prob, testY), auc: auc(prob, testY), rule: 'pooled', attack: 'label-flip (uploaded data)' };
}

/** Plain FedAvg, no ledger, no detectors: the attacker trains and sends as runFederation's attacker does. */
export async function plainFedAvg(w: Workload, ctx: RunContext): Promise<FlOutcome> {
  const { train, test, parts, ids, attackers, testY } = prepare(w, ctx.flData);
  const spec = { kind: 'logreg' as const, features: train.features, seed: w.seed };
  let global = (await ctx.trainer.initialWeights(spec)).weights;
  for (let round = 1; round <= w.fl.rounds; round++) {
    const updates = [];
    for (const [k, rows] of parts.entries()) {
      const part = subset(train, rows);
      const poisoning = attackers.has(ids[k]!) ? poisoningFor(w.fl.attack, w.fl.clients, w.seed, ids[k]!) : null;
      const data = poisoning?.train ? poisoning.train(part.x, labelsOf(train, rows), train.features) : { x: part.x, y: labelsOf(train, rows) };
      const r = await ctx.trainer.train({
        spec,
        weights: global,
        x: data.x,
        y: data.y,
        opts: { epochs: EPOCHS, batchSize: BATCH, learningRate: LR, seed: w.seed + round * 1000 + k },
      });
      const delta = r.weights.map((v, i) => v - global[i]!);
      updates.push({ delta: poisoning?.update ? poisoning.update(delta, { task: 'eval', round }) : delta, samples: rows.length });
    }
    const avg = fedAvg(updates);
    global = global.map((v, i) => v + avg[i]!);
  }
  const prob = (await ctx.trainer.evaluate({ spec, weights: global, x: test.x, y: testY })).prob;
  return { accuracy: accuracy(prob, testY), auc: auc(prob, testY), rule: 'fedavg', attack: w.fl.attack };
}

export async function federatedTraining(w: Workload, ctx: RunContext, rule: 'default', ledger: 'pbft'): Promise<FlOutcome> {
  const r = await runFederation({
    data: ctx.flData,
    clients: w.fl.clients,
    rounds: w.fl.rounds,
    partition: parsePartition(PARTITION),
    rule,
    attack: w.fl.attack,
    attackers: w.fl.attackers,
    seed: w.seed,
    trainer: ctx.trainer,
    ledger,
    testShare: TEST_SHARE,
    localEpochs: EPOCHS,
    batchSize: BATCH,
    learningRate: LR,
    centralized: false,
  });
  return { accuracy: r.accuracy, auc: r.auc, rule: r.rule, attack: w.fl.attack };
}
