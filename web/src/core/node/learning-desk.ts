/// <reference types="fhir" />
// The AI layer in the clinic node: federated learning on this clinic's own records (trained in a worker), the
// anomaly detectors over its committed access decisions and its peers' behaviour, and the trust scores those
// reports produce, which order PBFT's leaders. The ledger reaches them through a LedgerPort over the node's
// LedgerService; their views are what the Learning and Security screens show.
import type { Clock, ConsensusEvent } from '../consensus/index.ts';
import { FL_RULES, type FlRule, type HygeiaContracts, type TxAuthor } from '../ledger/contracts/index.ts';
import { FederatedError, FederatedService, type DataSource, type FlRoundView, type LedgerPort, type LocalData, type Trainer } from '../fl/index.ts';
import { SecurityService } from '../security/index.ts';
import type { Transport } from '../net/transport.ts';
import { RECORD_FEATURES, recordFeatures, type RecordStore } from '../records/index.ts';
import type { AlertView, RoundOptions, RoundView, TrustPoint } from './api.ts';
import { NodeError } from './api.ts';
import type { LedgerService } from './ledger-service.ts';
import { timeSlicer } from '../util/index.ts';

/** The learning task this node's records feed: a new diagnosis within a year of a visit, from the record then. */
export const RECORDS_TASK = 'records-new-diagnosis';

/** The task a run belongs to: each run of a task is a task of its own on the ledger, `task` then `task.2`, `task.3`… */
export function runTask(runId: string): string {
  const m = /^(.+)\.([1-9][0-9]*)$/.exec(runId);
  return m ? m[1]! : runId;
}

/** The id of a new run of `task`: the task itself the first time, then the first free `task.N`. */
export function nextRunId(task: string, existing: Iterable<string>): string {
  const taken = new Set(existing);
  if (!taken.has(task)) return task;
  let n = 2;
  while (taken.has(`${task}.${n}`)) n++;
  return `${task}.${n}`;
}
const YEAR_MS = 365.25 * 86_400_000;

export interface LearningDeskDeps {
  readonly ledger: LedgerService;
  readonly contracts: HygeiaContracts;
  readonly transport: Transport;
  readonly clock: Clock;
  readonly author: TxAuthor;
  readonly clinic: () => string;
  readonly store: RecordStore;
  /** Starts this clinic's trainer (a Web Worker in a page, a worker_thread in Node). */
  readonly trainer: () => Promise<Trainer>;
}

/** The node's ledger as the AI layer's port. */
export function ledgerPort(ledger: LedgerService, contracts: HygeiaContracts, clock: Clock): LedgerPort {
  return {
    submit: async (tx) => {
      const o = await ledger.submit(tx);
      return o.ok ? { ok: true } : { ok: false, reason: o.reason };
    },
    onCommitted: (fn) => ledger.onCommitted((c) => fn({ height: c.block.header.height, time: c.block.header.time, txs: c.txs.map((t) => t.tx) })),
    contracts: () => contracts,
    head: () => {
      const h = ledger.height;
      return { height: h, time: ledger.consensus.block(h)?.header.time ?? 0 };
    },
    now: () => clock.now(),
  };
}

/**
 * This clinic's patients as one row per visit: the record's features as of the visit (records/features.ts),
 * labelled with whether a new condition was diagnosed within the following year. Features are scaled by fixed
 * constants (the same at every clinic, so no clinic's statistics leave it). The latest fifth is held out.
 */
export async function recordsData(store: RecordStore, now: number): Promise<LocalData> {
  const rows: { t: number; x: number[]; y: number }[] = [];
  const scale = [100, 1, 50, 20, 50, 50, 200, 150, 200];
  // Features of every visit over the whole record: slices, so the page's replica keeps answering meanwhile.
  const slice = timeSlicer();
  for (const p of await store.patients({})) {
    if (p.erased) continue;
    const resources = await store.search({ patient: p.id });
    const onsets = resources
      .filter((r): r is fhir4.Condition => r.resourceType === 'Condition')
      .map((c) => Date.parse(c.onsetDateTime ?? c.recordedDate ?? ''))
      .filter(Number.isFinite);
    for (const e of resources) {
      if (e.resourceType !== 'Encounter') continue;
      await slice();
      const t = Date.parse((e as fhir4.Encounter).period?.start ?? '');
      if (!Number.isFinite(t) || t + YEAR_MS > now) continue;
      let x: number[];
      try {
        x = recordFeatures(resources, t);
      } catch {
        continue; // no Patient with a birth date: nothing to learn from
      }
      rows.push({ t, x: x.map((v, i) => v / scale[i]!), y: onsets.some((o) => o > t && o <= t + YEAR_MS) ? 1 : 0 });
    }
  }
  if (rows.length < 4)
    throw new FederatedError('no-data', 'This clinic holds too few patient visits to train on; import records first.', rows.length === 0 ? 'no-data' : 'too-few-rows');
  rows.sort((a, b) => a.t - b.t);
  const cut = Math.max(1, Math.floor(rows.length * 0.8));
  const pack = (rs: typeof rows): { x: Float32Array; y: Float32Array } => ({ x: Float32Array.from(rs.flatMap((r) => r.x)), y: Float32Array.from(rs.map((r) => r.y)) });
  return { features: RECORD_FEATURES.length, train: pack(rows.slice(0, cut)), test: pack(rows.slice(cut)) };
}

/** A trainer whose worker starts on first use (tfjs and its wasm load only when this clinic trains). */
export function lazyTrainer(start: () => Promise<Trainer>): Trainer & { warm(): Promise<unknown> } {
  let t: Promise<Trainer> | null = null;
  const get = (): Promise<Trainer> => (t ??= start());
  return {
    warm: () => get(),
    initialWeights: async (spec) => (await get()).initialWeights(spec),
    train: async (job) => (await get()).train(job),
    evaluate: async (job) => (await get()).evaluate(job),
    close: async () => {
      if (t) await (await t).close();
    },
  };
}

export class LearningDesk {
  readonly port: LedgerPort;
  readonly security: SecurityService;
  private readonly fl: FederatedService;
  private readonly trainer: ReturnType<typeof lazyTrainer>;
  private readonly schedule: (ms: number, fn: () => void) => () => void;

  constructor(private readonly d: LearningDeskDeps) {
    this.port = ledgerPort(d.ledger, d.contracts, d.clock);
    this.schedule = (ms, fn) => d.clock.schedule(ms, fn);
    this.security = new SecurityService({ ledger: this.port, author: d.author, clinic: d.clinic(), schedule: this.schedule });
    this.trainer = lazyTrainer(d.trainer);
    const data: DataSource = async (task) => {
      if (runTask(task) !== RECORDS_TASK) throw new FederatedError('no-data', `This clinic has no data for the task ${task}.`);
      return recordsData(this.d.store, this.d.clock.now());
    };
    this.fl = new FederatedService({
      ledger: this.port,
      transport: d.transport,
      clinic: d.clinic(),
      author: d.author,
      trainer: this.trainer,
      data,
      schedule: this.schedule,
      onReports: (reports, committed, refused) => this.security.observeRoundFlags(reports, committed, refused),
    });
  }

  /** Trust scores for the consensus host: from committed, corroborated reports only. */
  trustAfter(): (seq: number) => number[] | undefined {
    const f = this.security.trustAfter(
      (seq) => this.d.ledger.consensus.block(seq)?.header.time,
      () => this.d.ledger.consensus.epoch.validators,
    );
    return (seq) => f(seq);
  }

  start(): void {
    this.security.start();
    this.fl.start();
  }

  /**
   * Starts the trainer now rather than at the first round: loading tfjs and compiling its wasm is the costliest
   * moment of a round, and an idle tablet is the better time for it than the moment every clinic trains.
   */
  warmTrainer(): void {
    this.trainer.warm().catch(() => {
      // No trainer (or it failed to start): the first round will say so when it needs it.
    });
  }

  stop(): void {
    this.security.stop();
    this.fl.stop();
    void this.trainer.close();
  }

  /** The consensus host's events feed the network detector (rejected messages name their sender). */
  observe(e: ConsensusEvent, peerOfIndex: (i: number) => string | undefined): void {
    if (e.kind === 'rejected') {
      const peer = peerOfIndex(e.from);
      if (peer) this.security.observeRejected(peer, e.reason);
    }
  }

  async startRound(o: RoundOptions): Promise<RoundView> {
    const base = o.task || RECORDS_TASK;
    if (base !== RECORDS_TASK) throw new NodeError('invalid', `This clinic's records feed the task ${RECORDS_TASK}, not ${base}.`);
    // Differential privacy has its own aggregation (clipped updates, noise on the mean).
    const rule = o.dpEpsilon ? 'dp-mean' : o.rule || 'trimmed';
    if (!(FL_RULES as readonly string[]).includes(rule)) throw new NodeError('invalid', `Choose an aggregation rule among ${FL_RULES.join(', ')}.`);
    if (!Number.isInteger(o.rounds) || o.rounds < 1 || o.rounds > 200) throw new NodeError('invalid', 'Choose between 1 and 200 rounds.');
    const task = nextRunId(
      base,
      this.d.contracts.fl.tasks().map((t) => t.task),
    );
    const run = this.fl.startTask({
      task,
      model: o.model,
      rule: rule as FlRule,
      rounds: o.rounds,
      seed: Math.floor(this.d.clock.now() / 1000) % 1_000_000,
      ...(o.dpEpsilon ? { dp: { epsilon: o.dpEpsilon } } : {}),
    });
    let failure: unknown = null;
    run.catch((e: unknown) => (failure = e));
    for (let i = 0; i < 600; i++) {
      // Our failure first: a round of this id may exist only because another clinic opened it meanwhile.
      if (failure) {
        if (failure instanceof NodeError) throw failure;
        if (failure instanceof FederatedError && failure.code === 'no-data') throw new NodeError('invalid', failure.message);
        throw new NodeError('rejected', `The round could not start (${failure instanceof Error ? failure.message : String(failure)}).`);
      }
      const mine = this.rounds().find((r) => r.task === task && r.round === 1);
      if (mine) return mine;
      await new Promise((r) => this.d.clock.schedule(50, () => r(undefined)));
    }
    throw new NodeError('timeout', 'The round did not open on the ledger.');
  }

  rounds(): RoundView[] {
    const views = this.fl.rounds();
    return views.map((v) => roundView(v, views));
  }

  alerts(): AlertView[] {
    return this.security.alerts().map((a) => ({ id: a.id, time: a.time, subject: a.subject, detector: a.detector, score: a.score, reasons: a.reasons, reported: a.reported }));
  }

  trustHistory(): TrustPoint[] {
    return this.security.trustHistory().map((p) => ({ height: p.height, scores: { ...p.scores } }));
  }
}

function roundView(v: FlRoundView, all: readonly FlRoundView[]): RoundView {
  const task = all.filter((x) => x.task === v.task);
  return {
    roundId: v.roundId,
    task: v.task,
    model: v.model.split(':')[0] as RoundView['model'],
    rule: v.rule,
    round: v.round,
    totalRounds: v.plannedRounds ?? Math.max(...task.map((x) => x.round)),
    history: task
      .filter((x) => x.state === 'done' && x.round <= v.round)
      .map((x) => ({ round: x.round, accuracy: x.accuracy ?? 0, loss: x.loss ?? 0, localAccuracy: x.localAccuracy ?? 0 })),
    state: v.state,
    participants: v.participants,
    flagged: v.flagged,
    accuracy: v.accuracy,
    loss: v.loss,
    localAccuracy: v.localAccuracy,
    aggregateDigest: v.aggregateDigest,
    declined: v.declined,
    epsilon: v.epsilon,
  };
}
