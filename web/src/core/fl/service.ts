// A clinic's part in federated learning, driven by what the ledger commits. When a round this clinic is
// eligible for opens, it trains on its own data in its trainer (a worker), sends the update bytes to every
// peer on the FL channel and commits their digest. When the round closes, it fetches the committed updates'
// bytes (each checked against its committed digest), runs the outlier test over all of them, aggregates the
// counted ones in the agreed order and commits the aggregate's digest with its flags. When a quorum agreed,
// the agreed weights become the task's global model (fetched from a peer if this node computed otherwise).
// The clinic that started a task opens its next rounds, and closes a round whose deadline passed.
import { decodeTx, type FlDeclineReason, type FlRoundRecord, type FlRule, type TxAuthor } from '../ledger/contracts/index.ts';
import type { PeerId, Transport } from '../net/transport.ts';
import { describeReason, parseReasonText, type Report } from '../security/index.ts';
import { fromHex } from '../util/index.ts';
import { BlobExchange, type Schedule } from './blob-exchange.ts';
import { epsilonSpent, noiseForEpsilon } from './dp.ts';
import type { CommittedBlock, LedgerPort } from './ledger-port.ts';
import { modelSpecText, parseModelSpec, type ModelKind } from './model.ts';
import { RoundLedger, type RoundParams } from './round-ledger.ts';
import { roundOutcome, type CommittedUpdate } from './round-outcome.ts';
import type { Trainer } from './trainer.ts';
import { decodeUpdate, encodeUpdate, weightsBytes, weightsDigest, weightsFromBytes } from './wire.ts';

/** One clinic's data for a task: labels 0/1, features standardised as the task expects. */
export interface LocalData {
  readonly features: number;
  readonly train: { readonly x: Float32Array; readonly y: Float32Array };
  /** Held out locally, to report accuracy with each round (optional). */
  readonly test?: { readonly x: Float32Array; readonly y: Float32Array };
}

/** Resolves with this clinic's data for a task; rejects with a FederatedError carrying `decline` when it has none. */
export type DataSource = (task: string) => Promise<LocalData>;

/** A Byzantine clinic's behaviour (the FL command's attackers): what it trains on and what it sends. */
export interface Poisoning {
  train?(x: Float32Array, y: Float32Array, features: number): { x: Float32Array; y: Float32Array };
  update?(delta: Float32Array, round: { readonly task: string; readonly round: number }): Float32Array;
  /** Whether it aggregates and commits aggregates at all (default true). */
  readonly aggregates?: boolean;
}

export interface TaskOptions {
  readonly task: string;
  readonly model: ModelKind;
  /** conv1d only. */
  readonly channels?: number;
  readonly rule: FlRule;
  readonly rounds: number;
  readonly epochs?: number;
  readonly batchSize?: number;
  readonly learningRate?: number;
  readonly seed: number;
  /** The clinics invited (default: every validator clinic). */
  readonly clinics?: readonly string[];
  /** How long each round accepts updates (default 30 minutes). */
  readonly roundMs?: number;
  /** Client-level DP: a target ε over the task's rounds at δ, with clipping bound `clip`. */
  readonly dp?: { readonly epsilon: number; readonly delta?: number; readonly clip?: number };
}

/** A round as the Learning screen shows it. */
export interface FlRoundView {
  readonly roundId: string;
  readonly task: string;
  readonly round: number;
  /** The model's spec text (`logreg:9`, …) and the aggregation rule, as the round was opened. */
  readonly model: string;
  readonly rule: FlRule;
  /** The rounds the task runs to, where this clinic drives it (null: another clinic does). */
  readonly plannedRounds: number | null;
  readonly state: 'open' | 'training' | 'aggregating' | 'done' | 'failed';
  readonly participants: string[];
  /** Clinics whose updates the aggregate counts (participants not on probation). */
  readonly counted: string[];
  readonly probation: string[];
  /** Clinics f+1 clinics flagged, with the reasons (plain words) their reporters gave. */
  readonly flagged: { clinic: string; reasons: string[] }[];
  /** The global model's accuracy on this clinic's held-out data, after the round. */
  readonly accuracy: number | null;
  /** This clinic's local training loss. */
  readonly loss: number | null;
  /** This clinic's local model's accuracy on its held-out data, before aggregation. */
  readonly localAccuracy: number | null;
  readonly aggregateDigest: string | null;
  /** Clinics that sat the round out, with their reason (they still aggregate and vote). */
  readonly declined: { clinic: string; reason: FlDeclineReason }[];
  /** Privacy spent by the task so far (DP rounds), at `delta`. */
  readonly epsilon: number | null;
  readonly delta: number | null;
  readonly problem: string | null;
}

export interface FederatedServiceOptions {
  readonly ledger: LedgerPort;
  readonly transport: Transport;
  /** This clinic's id on the ledger. */
  readonly clinic: string;
  /** The node key that signs FL transactions (role node or admin). */
  readonly author: TxAuthor;
  readonly trainer: Trainer;
  readonly data: DataSource;
  /** Timers (the node's clock; the simulator's virtual clock in harnesses). */
  readonly schedule: Schedule;
  readonly poisoning?: Poisoning;
  /** Called whenever a round's view changes. */
  readonly onRound?: (view: FlRoundView) => void;
  /**
   * Called with the reports this node's outlier test produced for a round (about other clinics), once they
   * went to the ledger with its aggregate (`committed`), or were refused with `refused` (the SecurityService's
   * observeRoundFlags takes them).
   */
  readonly onReports?: (reports: Report[], committed: boolean, refused: string | null) => void;
}

export class FederatedError extends Error {
  override readonly name = 'FederatedError';
  constructor(
    readonly code: 'refused' | 'bad-base' | 'no-data' | 'unavailable' | 'failed',
    message: string,
    /** With 'no-data': what this clinic tells the round when it declines. */
    readonly decline: FlDeclineReason = 'no-data',
  ) {
    super(message);
  }
}

interface Work {
  training: boolean;
  declined: boolean;
  aggregating: boolean;
  agreed: boolean;
  loss: number | null;
  localAccuracy: number | null;
  accuracy: number | null;
  ours: { digest: string; weights: Float32Array } | null;
  problem: string | null;
  closeTimer: (() => void) | null;
}

interface Driven {
  readonly opts: TaskOptions;
  readonly spec: RoundParams;
  readonly done: Promise<Float32Array>;
  resolve(w: Float32Array): void;
  reject(e: Error): void;
}

const DEFAULT_ROUND_MS = 30 * 60_000;
const FL_KINDS = new Set(['flOpenRound', 'flCommitUpdate', 'flDeclineRound', 'flCloseRound', 'flCommitAggregate']);

export class FederatedService {
  private readonly ledger: RoundLedger;
  private readonly exchange: BlobExchange;
  private readonly work = new Map<string, Work>();
  /** Agreed weights per task and round (round 0: the task's initial weights). */
  private readonly globals = new Map<string, Map<number, Float32Array>>();
  private readonly data = new Map<string, Promise<LocalData>>();
  private readonly driven = new Map<string, Driven>();
  private unsubscribe: (() => void) | null = null;
  private inFlight = 0;

  constructor(private readonly o: FederatedServiceOptions) {
    this.ledger = new RoundLedger(o.ledger, o.author);
    this.exchange = new BlobExchange({
      transport: o.transport,
      schedule: o.schedule,
      now: () => o.ledger.now(),
      admit: (from, bytes) => this.admit(from, bytes),
    });
  }

  start(): void {
    this.unsubscribe ??= this.o.ledger.onCommitted((b) => this.onBlock(b));
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.exchange.close();
    for (const w of this.work.values()) w.closeTimer?.();
    for (const d of this.driven.values()) d.reject(new FederatedError('failed', 'the service stopped'));
  }

  /** Asynchronous steps in progress (training, fetching, aggregating). */
  get busy(): number {
    return this.inFlight;
  }

  /**
   * Opens round 1 of a new task and drives it to its last round (this clinic opens each next round once the
   * previous one is agreed). Resolves with the final global weights.
   */
  async startTask(opts: TaskOptions): Promise<Float32Array> {
    if (this.driven.has(opts.task)) throw new FederatedError('refused', `task ${opts.task} is already running here`);
    const local = await this.dataFor(opts.task);
    const spec = parseModelSpec(modelSpecText({ kind: opts.model, features: local.features, ...(opts.channels ? { channels: opts.channels } : {}) }), opts.seed);
    const init = await this.o.trainer.initialWeights(spec);
    this.globalsOf(opts.task).set(0, init.weights);
    this.exchange.keep(weightsBytes(init.weights));
    const clinics = [...(opts.clinics ?? this.o.ledger.contracts().validatorOrgs())].sort();
    let dp: RoundParams['dp'];
    if (opts.dp) {
      const delta = opts.dp.delta ?? 1e-5;
      dp = { clip: opts.dp.clip ?? 1, noiseMultiplier: noiseForEpsilon(opts.dp.epsilon, opts.rounds, delta), delta };
    }
    const params: RoundParams = {
      task: opts.task,
      round: 1,
      model: modelSpecText(spec),
      base: init.digest,
      rule: opts.rule,
      epochs: opts.epochs ?? 1,
      batchSize: opts.batchSize ?? 16,
      learningRate: opts.learningRate ?? 0.1,
      seed: opts.seed,
      clinics,
      deadline: 0,
      ...(dp ? { dp } : {}),
    };
    let resolve!: (w: Float32Array) => void;
    let reject!: (e: Error) => void;
    const done = new Promise<Float32Array>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.driven.set(opts.task, { opts, spec: params, done, resolve, reject });
    await this.openRound(opts.task, 1, init.digest);
    return done;
  }

  /** Every round this node knows of, as the Learning screen shows them (newest last). */
  rounds(): FlRoundView[] {
    const out: FlRoundView[] = [];
    for (const t of this.o.ledger.contracts().fl.tasks()) for (const r of this.o.ledger.contracts().fl.rounds(t.task)) out.push(this.view(r));
    return out;
  }

  /** The agreed global weights of a task after `round` (the latest agreed when absent). */
  globalWeights(task: string, round?: number): Float32Array | undefined {
    const g = this.globals.get(task);
    if (!g) return undefined;
    return g.get(round ?? Math.max(...g.keys()));
  }

  // ---- reacting to the ledger ---------------------------------------------------------------------------

  private onBlock(b: CommittedBlock): void {
    const touched = new Set<string>();
    for (const bytes of b.txs) {
      let tx;
      try {
        tx = decodeTx(bytes).tx;
      } catch {
        continue;
      }
      if (!FL_KINDS.has(tx.kind)) continue;
      const p = tx.payload as { task: string; round: number };
      touched.add(`${p.task}#${p.round}`);
    }
    for (const key of touched) {
      const at = key.lastIndexOf('#');
      this.react(key.slice(0, at), Number(key.slice(at + 1)));
    }
  }

  private workOf(task: string, round: number): Work {
    const key = `${task}#${round}`;
    let w = this.work.get(key);
    if (!w) {
      w = { training: false, declined: false, aggregating: false, agreed: false, loss: null, localAccuracy: null, accuracy: null, ours: null, problem: null, closeTimer: null };
      this.work.set(key, w);
    }
    return w;
  }

  private react(task: string, round: number): void {
    const r = this.ledger.round(task, round);
    if (!r || !r.clinics.includes(this.o.clinic)) return;
    const w = this.workOf(task, round);
    if (r.state === 'open' && !w.training && r.updates[this.o.clinic] === undefined && r.declined[this.o.clinic] === undefined) {
      w.training = true;
      this.track(w, () => this.train(r, w));
    }
    if (r.state !== 'open') {
      w.closeTimer?.();
      w.closeTimer = null;
      if (!w.aggregating && this.o.poisoning?.aggregates !== false) {
        w.aggregating = true;
        this.track(w, () => this.aggregate(r, w));
      }
    }
    if (r.state === 'agreed' && !w.agreed) {
      w.agreed = true;
      this.track(w, () => this.onAgreed(r, w));
    }
    this.notify(r);
  }

  private track(w: Work, step: () => Promise<void>): void {
    this.inFlight++;
    step()
      .catch((e: unknown) => {
        w.problem = e instanceof Error ? e.message : 'failed';
      })
      .finally(() => {
        this.inFlight--;
      });
  }

  // ---- the steps ----------------------------------------------------------------------------------------

  private async train(r: FlRoundRecord, w: Work): Promise<void> {
    const base = await this.baseWeights(r);
    const spec = parseModelSpec(r.model, r.seed);
    let local: LocalData;
    try {
      local = await this.dataFor(r.task);
      if (spec.features !== local.features)
        throw new FederatedError('no-data', `this clinic's data has ${local.features} features, the model ${spec.features}`, 'feature-mismatch');
    } catch (e) {
      if (!(e instanceof FederatedError && e.code === 'no-data')) throw e;
      // Nothing to train on: say so on the ledger, so the round closes without waiting for its deadline.
      const res = await this.ledger.decline(r.task, r.round, e.decline);
      if (!res.ok && res.reason !== 'round-not-open' && res.reason !== 'duplicate') throw new FederatedError('refused', `the ledger refused our decline: ${res.reason}`);
      w.declined = true;
      this.notify(this.ledger.round(r.task, r.round) ?? r);
      return;
    }
    let { x, y } = local.train;
    if (this.o.poisoning?.train) ({ x, y } = this.o.poisoning.train(x, y, local.features));
    const idx = r.clinics.indexOf(this.o.clinic);
    const result = await this.o.trainer.train({
      spec,
      weights: base,
      x,
      y,
      opts: { epochs: r.epochs, batchSize: r.batchSize, learningRate: r.learningRate / 1e6, seed: trainingSeed(r.seed, r.round, idx) },
    });
    w.loss = result.loss;
    let delta: Float32Array = new Float32Array(base.length);
    for (let i = 0; i < base.length; i++) delta[i] = result.weights[i]! - base[i]!;
    if (this.o.poisoning?.update) delta = this.o.poisoning.update(delta, { task: r.task, round: r.round });
    const samples = local.train.y.length;
    const bytes = encodeUpdate({ task: r.task, round: r.round, clinic: this.o.clinic, samples, delta });
    const digest = this.exchange.publish(bytes);
    const res = await this.ledger.commitUpdate(r.task, r.round, digest, samples, bytes.length);
    if (!res.ok && res.reason !== 'round-not-open' && res.reason !== 'duplicate') throw new FederatedError('refused', `the ledger refused our update: ${res.reason}`);
    if (local.test) {
      const ev = await this.o.trainer.evaluate({ spec, weights: result.weights, x: local.test.x, y: local.test.y });
      w.localAccuracy = ev.accuracy;
    }
    this.notify(this.ledger.round(r.task, r.round) ?? r);
  }

  private async aggregate(r: FlRoundRecord, w: Work): Promise<void> {
    const base = await this.baseWeights(r);
    const updates: CommittedUpdate[] = await Promise.all(
      Object.entries(r.updates).map(async ([clinic, u]) => ({ clinic, digest: u.digest, samples: u.samples, bytes: await this.exchange.fetch(u.digest) })),
    );
    const outcome = roundOutcome(r, base, updates);
    const flags = outcome.reports.filter((x) => x.subject !== this.o.clinic);
    w.ours = { digest: outcome.digest, weights: outcome.weights };
    this.exchange.keep(weightsBytes(outcome.weights));
    const res = await this.ledger.commitAggregate(r.task, r.round, outcome.digest, flags);
    this.o.onReports?.(flags, res.ok, res.ok ? null : res.reason);
    if (!res.ok && res.reason !== 'duplicate') throw new FederatedError('refused', `the ledger refused our aggregate: ${res.reason}`);
  }

  private async onAgreed(r: FlRoundRecord, w: Work): Promise<void> {
    let weights: Float32Array;
    if (w.ours && w.ours.digest === r.agreed) weights = w.ours.weights;
    else {
      weights = weightsFromBytes(await this.exchange.fetch(r.agreed));
      if (weightsDigest(weights) !== r.agreed) throw new FederatedError('unavailable', 'the agreed weights did not match their digest');
      if (w.ours) w.problem = 'this clinic computed a different aggregate than the agreed one';
    }
    this.globalsOf(r.task).set(r.round, weights);
    this.exchange.keep(weightsBytes(weights));
    // Update bytes of rounds before the previous one are no longer needed by anyone.
    const old = this.ledger.round(r.task, r.round - 1);
    if (old) this.exchange.forget(Object.values(old.updates).map((u) => u.digest));
    const local = await this.dataFor(r.task).catch(() => null);
    if (local?.test) {
      const ev = await this.o.trainer.evaluate({ spec: parseModelSpec(r.model, r.seed), weights, x: local.test.x, y: local.test.y });
      w.accuracy = ev.accuracy;
    }
    this.notify(r);
    const d = this.driven.get(r.task);
    if (!d) return;
    if (r.round >= d.opts.rounds) {
      this.driven.delete(r.task);
      d.resolve(weights);
      return;
    }
    await this.openRound(r.task, r.round + 1, r.agreed).catch((e: Error) => {
      this.driven.delete(r.task);
      d.reject(e);
    });
  }

  private async openRound(task: string, round: number, base: string): Promise<void> {
    const d = this.driven.get(task);
    if (!d) return;
    const roundMs = d.opts.roundMs ?? DEFAULT_ROUND_MS;
    const deadline = Math.max(this.o.ledger.now(), this.o.ledger.head().time) + roundMs;
    const res = await this.ledger.open({ ...d.spec, round, base, deadline });
    if (!res.ok) {
      const e = new FederatedError('refused', `the ledger refused round ${round} of ${task}: ${res.reason}`);
      this.driven.delete(task);
      d.reject(e);
      throw e;
    }
    // If someone never commits, close the round once its deadline has passed (the contracts check the time).
    const w = this.workOf(task, round);
    const tryClose = (): void => {
      w.closeTimer = null;
      if (this.ledger.round(task, round)?.state !== 'open') return;
      void this.ledger.close(task, round).then((r) => {
        if (!r.ok && r.reason === 'too-early') w.closeTimer = this.o.schedule(1_000, tryClose);
      });
    };
    w.closeTimer = this.o.schedule(Math.max(0, deadline - this.o.ledger.now()) + 1_000, tryClose);
  }

  // ---- helpers ------------------------------------------------------------------------------------------

  private globalsOf(task: string): Map<number, Float32Array> {
    let g = this.globals.get(task);
    if (!g) this.globals.set(task, (g = new Map()));
    return g;
  }

  private dataFor(task: string): Promise<LocalData> {
    let p = this.data.get(task);
    if (!p) {
      p = this.o.data(task);
      this.data.set(task, p);
      p.catch(() => this.data.delete(task));
    }
    return p;
  }

  /** The weights round r starts from, checked against its base digest. */
  private async baseWeights(r: FlRoundRecord): Promise<Float32Array> {
    const g = this.globalsOf(r.task);
    const known = g.get(r.round - 1);
    if (known && weightsDigest(known) === r.base) return known;
    if (r.round === 1) {
      const init = await this.o.trainer.initialWeights(parseModelSpec(r.model, r.seed));
      if (init.digest !== r.base) throw new FederatedError('bad-base', 'the round starts from weights this model and seed do not produce');
      g.set(0, init.weights);
      return init.weights;
    }
    const weights = weightsFromBytes(await this.exchange.fetch(r.base));
    if (weightsDigest(weights) !== r.base) throw new FederatedError('bad-base', 'the fetched starting weights do not match the round');
    g.set(r.round - 1, weights);
    return weights;
  }

  /** Unsolicited update bytes are held only for an open round, from a peer whose clinic the update names. */
  private admit(from: PeerId, bytes: Uint8Array): boolean {
    let u;
    try {
      u = decodeUpdate(bytes);
    } catch {
      return false;
    }
    const sender = this.o.ledger.contracts().key(fromHex(from, 32))?.org;
    const r = this.ledger.round(u.task, u.round);
    return sender === u.clinic && r !== undefined && r.state === 'open' && r.clinics.includes(u.clinic);
  }

  private view(r: FlRoundRecord): FlRoundView {
    const w = this.work.get(`${r.task}#${r.round}`);
    const mine = r.clinics.includes(this.o.clinic);
    let state: FlRoundView['state'];
    if (w?.problem) state = 'failed';
    else if (r.state === 'agreed') state = 'done';
    else if (r.state === 'closed') state = 'aggregating';
    else state = mine && w?.training && !w.declined ? 'training' : 'open';
    const dp = r.dpNoise > 0;
    return {
      roundId: `${r.task}#${r.round}`,
      task: r.task,
      round: r.round,
      model: r.model,
      rule: r.rule,
      plannedRounds: this.driven.get(r.task)?.opts.rounds ?? null,
      state,
      participants: [...r.clinics],
      counted: [...r.counted],
      probation: [...r.probation],
      flagged: r.flagged.map((clinic) => ({
        clinic,
        reasons: [...new Set(Object.values(r.flags[clinic] ?? {}).flat())].map((t) => {
          const reason = parseReasonText(t);
          return reason ? describeReason(reason) : t;
        }),
      })),
      accuracy: w?.accuracy ?? null,
      loss: w?.loss ?? null,
      localAccuracy: w?.localAccuracy ?? null,
      aggregateDigest: r.agreed || null,
      declined: Object.entries(r.declined)
        .map(([clinic, reason]) => ({ clinic, reason }))
        .sort((a, b) => (a.clinic < b.clinic ? -1 : 1)),
      epsilon: dp ? epsilonSpent(r.dpNoise / 1000, r.round, 1 / r.dpDeltaInv) : null,
      delta: dp ? 1 / r.dpDeltaInv : null,
      problem: w?.problem ?? null,
    };
  }

  private notify(r: FlRoundRecord): void {
    this.o.onRound?.(this.view(r));
  }
}

/** A clinic's training seed for a round: distinct per round and per clinic, fixed by the round's seed. */
export function trainingSeed(seed: number, round: number, clinicIndex: number): number {
  return (((seed % 2_147_483) * 1000 + round * 37 + clinicIndex * 7919) % 2_147_483_647) >>> 0;
}
