// One federated-learning run, end to end and in one process: clients train locally on their partitions, send
// update bytes peer to peer over a Transport, put digests on the ledger, and every honest node aggregates the
// ledger-agreed set itself. Used by the CLI, the tests and the evaluation.
import type * as tfTypes from '@tensorflow/tfjs';
import { SimNetwork } from '../net/sim-network.ts';
import type { Transport } from '../net/transport.ts';
import { Prng } from '../util/index.ts';
import { aggregate, clippedMean, type ClientUpdate, type RuleName } from './aggregation.ts';
import { BACKDOOR_FEATURE, BACKDOOR_TARGET, BACKDOOR_VALUE, poisonLabels, poisonUpdate, withTrigger, type AttackName } from './attacks.ts';
import { fitStandardiser, partition, standardise, subset, trainTestSplit, type Dataset, type Partition } from './dataset.ts';
import { accuracy, auc } from './metrics.ts';
import { buildModel, getFlatWeights, predict, setFlatWeights, trainLocal, type ModelKind } from './model.ts';
import { decodeUpdate, digestHex, encodeUpdate, MemoryRoundLedger, weightsDigest, type RoundLedger } from './round.ts';

export type RuleChoice = RuleName | 'default';

/**
 * The default rule: the coordinate-wise trimmed mean, trimming f = floor((n - 1) / 3) values per side. On the
 * breast-cancer benchmark (5 clients, Dirichlet 0.5, seed 1) it matched centralized accuracy with no attack
 * and stayed above 0.95 under sign flipping, label flipping and scaling by one of five clients, where the
 * clipped mean fell to 0.66 under sign flipping and the median lost a point with no attack.
 */
export const DEFAULT_RULE: RuleName = 'trimmed';

export interface FederationOptions {
  readonly data: Dataset;
  readonly clients: number;
  readonly rounds: number;
  readonly partition: Partition;
  readonly rule: RuleChoice;
  readonly attack: AttackName;
  readonly attackers: number;
  readonly seed: number;
  readonly model?: ModelKind;
  readonly localEpochs?: number;
  readonly batchSize?: number;
  readonly learningRate?: number;
  readonly testShare?: number;
  /** Also train the same model centrally on the pooled training data (the reference figures). */
  readonly centralized?: boolean;
  readonly ledger?: RoundLedger;
}

export interface FederationResult {
  accuracy: number;
  auc: number;
  centralizedAccuracy: number | null;
  centralizedAuc: number | null;
  rounds: number;
  globalDigest: string;
  rule: RuleName;
  attack: AttackName;
  attackers: number;
  clients: number;
  /** Share of triggered test rows of the other class classified as the backdoor's target. */
  backdoorSuccess: number;
  perRound: { round: number; accuracy: number; digest: string; updates: number }[];
}

export class FederationError extends Error {
  override readonly name = 'FederationError';
}

function gaussianFrom(rng: Prng): () => number {
  return () => Math.sqrt(-2 * Math.log(Math.max(rng.float(), 1e-12))) * Math.cos(2 * Math.PI * rng.float());
}

export async function runFederation(opts: FederationOptions): Promise<FederationResult> {
  const rule: RuleName = opts.rule === 'default' ? DEFAULT_RULE : opts.rule;
  const kind = opts.model ?? 'logreg';
  const epochs = opts.localEpochs ?? 1;
  const batchSize = opts.batchSize ?? 16;
  const lr = opts.learningRate ?? 0.1;
  if (opts.attackers < 0 || opts.attackers >= opts.clients) throw new FederationError('attackers must be fewer than clients');
  // The tolerated number of Byzantine clients comes from n alone: the defence must not know the attackers.
  const f = Math.floor((opts.clients - 1) / 3);

  const { train: rawTrain, test: rawTest } = trainTestSplit(opts.data, opts.testShare ?? 0.2, opts.seed);
  const scaler = fitStandardiser(rawTrain);
  const train = standardise(rawTrain, scaler);
  const test = standardise(rawTest, scaler);
  const parts = partition(train, opts.clients, opts.partition, opts.seed).map((rows) => subset(train, rows));
  const features = train.features;
  const toFloat = (y: Int32Array): Float32Array => Float32Array.from(y, (v) => (v > 0 ? 1 : 0));
  const testY = toFloat(test.y);

  const model = buildModel({ kind, features, seed: opts.seed });
  let global = getFlatWeights(model);
  const ledger = opts.ledger ?? new MemoryRoundLedger();
  const net = new SimNetwork({ seed: opts.seed });
  const ids = Array.from({ length: opts.clients }, (_, i) => `client-${String(i).padStart(3, '0')}`);
  // Attackers are the first K clients in a seeded order, so which partitions they hold depends on the seed.
  const attackerSet = new Set(new Prng(opts.seed).fork('attackers').shuffle([...ids]).slice(0, opts.attackers));
  const inbox = new Map<string, Map<string, Uint8Array>>();
  const transports = new Map<string, Transport>();
  for (const id of ids) {
    inbox.set(id, new Map());
    const t = net.join(id);
    transports.set(id, t);
    t.onMessage((_from, bytes) => inbox.get(id)!.set(digestHex(bytes), bytes));
  }
  net.clock.advance(10);
  const noise = gaussianFrom(new Prng(opts.seed).fork('noise'));
  const perRound: FederationResult['perRound'] = [];

  for (let round = 1; round <= opts.rounds; round++) {
    const baseDigest = weightsDigest(global);
    const opened = ledger.openRound({ round, rule, baseDigest, maxUpdates: opts.clients });
    if (!opened.ok) throw new FederationError(`the ledger refused round ${round}: ${opened.reason}`);
    for (const box of inbox.values()) box.clear();
    for (let k = 0; k < opts.clients; k++) {
      const id = ids[k]!;
      const part = parts[k]!;
      const attack: AttackName = attackerSet.has(id) ? opts.attack : 'none';
      setFlatWeights(model, global);
      let x = part.x;
      let y = poisonLabels(attack, toFloat(part.y));
      if (attack === 'backdoor') ({ x, y } = withTrigger(x, y, features));
      await trainLocal(model, x, y, features, { epochs, batchSize, learningRate: lr, seed: opts.seed * 1000 + round * 37 + k });
      const local = getFlatWeights(model);
      const delta = local.map((w, i) => w - global[i]!);
      const sent = poisonUpdate(attack, delta, opts.clients, noise);
      const bytes = encodeUpdate(round, id, part.rows, sent);
      const digest = digestHex(bytes);
      inbox.get(id)!.set(digest, bytes);
      ledger.submitUpdate({ round, client: id, digest, samples: part.rows });
      // Update bytes go peer to peer; only the digest went on the ledger.
      transports.get(id)!.broadcast(bytes);
    }
    net.clock.advance(1000);
    const agreed = ledger.closeRound(round);
    let next: Float32Array | null = null;
    for (const id of ids) {
      if (attackerSet.has(id)) continue;
      const box = inbox.get(id)!;
      const updates: ClientUpdate[] = [];
      for (const entry of agreed) {
        const bytes = box.get(entry.digest);
        if (!bytes) throw new FederationError(`node ${id} lacks an agreed update of round ${round}`);
        const u = decodeUpdate(bytes);
        if (u.round !== round || u.client !== entry.client || u.samples !== entry.samples || u.delta.length !== global.length) {
          throw new FederationError('an update does not match its ledger entry');
        }
        updates.push({ delta: u.delta, samples: u.samples });
      }
      const step = rule === 'clipped' ? clippedMean(updates) : aggregate(rule, updates, f);
      const candidate = global.map((w, i) => w + step[i]!);
      ledger.commitGlobal(round, id, weightsDigest(candidate));
      next ??= candidate;
    }
    if (!next) throw new FederationError('no honest node aggregated');
    const agreedDigest = ledger.agreedGlobal(round);
    if (!agreedDigest || agreedDigest !== weightsDigest(next)) throw new FederationError(`honest nodes disagree on round ${round}`);
    global = next;
    setFlatWeights(model, global);
    perRound.push({ round, accuracy: accuracy(predict(model, test.x, features), testY), digest: agreedDigest, updates: agreed.length });
  }

  setFlatWeights(model, global);
  const prob = predict(model, test.x, features);
  const backdoorSuccess = measureBackdoor(model, test, features);
  model.dispose();

  let centralizedAccuracy: number | null = null;
  let centralizedAuc: number | null = null;
  if (opts.centralized ?? true) {
    const central = buildModel({ kind, features, seed: opts.seed });
    await trainLocal(central, train.x, toFloat(train.y), features, { epochs: opts.rounds * epochs, batchSize, learningRate: lr, seed: opts.seed });
    const cp = predict(central, test.x, features);
    centralizedAccuracy = accuracy(cp, testY);
    centralizedAuc = auc(cp, testY);
    central.dispose();
  }
  return {
    accuracy: accuracy(prob, testY),
    auc: auc(prob, testY),
    centralizedAccuracy,
    centralizedAuc,
    rounds: opts.rounds,
    globalDigest: weightsDigest(global),
    rule,
    attack: opts.attack,
    attackers: opts.attackers,
    clients: opts.clients,
    backdoorSuccess,
    perRound,
  };
}

function measureBackdoor(model: tfTypes.LayersModel, test: Dataset, features: number): number {
  const rows: number[] = [];
  for (let r = 0; r < test.rows; r++) if (test.y[r] !== BACKDOOR_TARGET) rows.push(r);
  if (rows.length === 0) return 0;
  const x = subset(test, rows).x.slice();
  for (let i = 0; i < rows.length; i++) x[i * features + BACKDOOR_FEATURE] = BACKDOOR_VALUE;
  const p = predict(model, x, features);
  let hit = 0;
  for (const v of p) if ((v >= 0.5 ? 1 : 0) === BACKDOOR_TARGET) hit++;
  return hit / rows.length;
}
