// Federated-learning rounds on the ledger (transaction tags 32–36). A round of a task is opened with its
// model, starting weights' digest, rule, hyperparameters, eligible clinics, deadline and DP option; each
// eligible clinic commits the digest of its update (the bytes travel peer to peer) or declines with a reason
// (it holds no data for the task); the round closes when every clinic has committed or declined, or by anyone
// after the deadline; each clinic then commits the digest of the aggregate it
// computed over the ledger-agreed set, with the clinics whose updates its outlier test flagged. The round is
// agreed when a quorum of the round's clinics committed the same digest; the next round must start from it.
//
// Probation, the rule every node applies identically: a clinic flagged by f+1 clinics in one of the last
// PROBATION_ROUNDS agreed rounds of a task still trains and commits (its update is still checked), but its
// update is not counted in the aggregate of the next rounds. The flags also become fl-update cases for trust.
import { reasonsPenalty, type Reason } from '../../security/index.ts';
import { toHex } from '../../util/index.ts';
import { faultsTolerated, quorumSize } from '../quorum.ts';
import { memberOf } from './membership.ts';
import { addToCase, parseReasons } from './reports.ts';
import { need, type Rule, type RuleContext, type StateCore } from './state-core.ts';

export type FlRejectReason =
  | 'unknown-round' // no such task or round
  | 'out-of-order' // not the task's next round, or the previous round is not agreed
  | 'bad-base' // the starting digest is not the previous round's agreed aggregate
  | 'not-eligible' // the signer's clinic is not one of the round's clinics
  | 'round-not-open' // an update or a close after the round closed
  | 'round-open' // an aggregate before the round closed
  | 'too-early' // a close before the deadline
  | 'past-deadline'; // an update after the deadline

/** Why an eligible clinic sits a round out (it still aggregates and votes on the aggregate). */
export const FL_DECLINE_REASONS = ['no-data', 'too-few-rows', 'feature-mismatch'] as const;
export type FlDeclineReason = (typeof FL_DECLINE_REASONS)[number];

export const FL_RULES = ['fedavg', 'clipped', 'trimmed', 'median', 'krum', 'dp-mean'] as const;
export type FlRule = (typeof FL_RULES)[number];
/** Agreed rounds a flagged clinic's updates stay out of the aggregate. */
export const PROBATION_ROUNDS = 2;
/** The largest update a round accepts (bytes on the FL channel). */
export const MAX_FL_UPDATE_BYTES = 16 << 20;
const MAX_CLINICS = 64;
const TASK_ID = /^[a-z0-9][a-z0-9._-]{0,62}$/;
/** `kind:features[:channels]`, e.g. `mlp:30`, `conv1d:64:2`. */
export const MODEL_SPEC = /^(logreg|mlp|conv1d):[1-9][0-9]{0,5}(:[1-9][0-9]{0,2})?$/;
const PARTICIPANT_ROLES = ['node', 'admin'];

export interface FlTaskRecord {
  task: string;
  model: string;
  /** The last round opened, and the last agreed (0: none) with its aggregate digest (hex). */
  rounds: number;
  agreedRound: number;
  agreedDigest: string;
  dpClip: number;
  dpNoise: number;
  dpDeltaInv: number;
}

export interface FlUpdateRecord {
  digest: string;
  samples: number;
  bytes: number;
  height: number;
}

export interface FlRoundRecord {
  task: string;
  round: number;
  /** A consortium-wide sequence number of rounds (the window of fl-update trust cases). */
  seq: number;
  model: string;
  base: string;
  rule: FlRule;
  epochs: number;
  batchSize: number;
  /** Micro-units (100000 = 0.1). */
  learningRate: number;
  seed: number;
  clinics: string[];
  /** The clinics whose updates the aggregate counts (clinics not on probation), sorted. */
  counted: string[];
  probation: string[];
  deadline: number;
  /** DP option: clipping norm in micro-units, noise multiplier in milli-units (0 = no DP), δ = 1 / dpDeltaInv. */
  dpClip: number;
  dpNoise: number;
  dpDeltaInv: number;
  openedBy: string;
  openedAt: number;
  state: 'open' | 'closed' | 'agreed';
  updates: Record<string, FlUpdateRecord>;
  /** Clinics that declined the round, with their reason. */
  declined: Record<string, FlDeclineReason>;
  closedAt: number;
  aggregates: Record<string, { digest: string; height: number }>;
  /** Per flagged clinic, per reporting clinic, the canonical reason texts. */
  flags: Record<string, Record<string, string[]>>;
  agreed: string;
  agreedAt: number;
  /** Clinics flagged by f+1 clinics by the time the round was agreed, sorted. */
  flagged: string[];
}

const roundKey = (task: string, round: number): string => `fl/round/${task}/${round}`;
const taskKey = (task: string): string => `fl/task/${task}`;

const flOpenRound: Rule<'flOpenRound'> = (tx, c) => {
  const p = tx.payload;
  need(PARTICIPANT_ROLES.includes(c.signer.role), 'wrong-role');
  need(TASK_ID.test(p.task) && MODEL_SPEC.test(p.model) && (FL_RULES as readonly string[]).includes(p.rule), 'malformed');
  need(p.epochs >= 1 && p.epochs <= 100 && p.batchSize >= 1 && p.batchSize <= 4096 && p.learningRate >= 1 && p.learningRate <= 10_000_000, 'malformed');
  const dp = p.dpNoise > 0;
  need(dp === (p.rule === 'dp-mean') && dp === p.dpClip > 0 && (dp ? p.dpDeltaInv >= 2 : p.dpDeltaInv === 0), 'malformed');
  const clinics = [...p.clinics].sort();
  need(clinics.length > 0 && clinics.length <= MAX_CLINICS && new Set(clinics).size === clinics.length, 'malformed');
  need(
    clinics.every((id) => memberOf(c.s, id) !== undefined),
    'unknown-org',
  );
  need(clinics.includes(c.signer.org), 'not-eligible');
  need(p.deadline > c.time, 'bad-period');
  const base = toHex(p.base);
  const task = c.s.get<FlTaskRecord>(taskKey(p.task));
  if (task === undefined) need(p.round === 1, 'out-of-order');
  else {
    need(p.round === task.rounds + 1 && task.agreedRound === task.rounds, 'out-of-order');
    need(base === task.agreedDigest, 'bad-base');
    // One model and one privacy option per task: the accountant composes the task's rounds.
    need(p.model === task.model && p.dpClip === task.dpClip && p.dpNoise === task.dpNoise && p.dpDeltaInv === task.dpDeltaInv, 'malformed');
  }
  const probation = clinics.filter((id) => onProbation(c.s, p.task, p.round, id));
  const seq = (c.s.get<number>('fl-seq/rounds') ?? 0) + 1;
  c.s.put('fl-seq/rounds', seq);
  c.s.put(taskKey(p.task), {
    task: p.task,
    model: p.model,
    rounds: p.round,
    agreedRound: task?.agreedRound ?? 0,
    agreedDigest: task?.agreedDigest ?? '',
    dpClip: p.dpClip,
    dpNoise: p.dpNoise,
    dpDeltaInv: p.dpDeltaInv,
  } satisfies FlTaskRecord);
  c.s.put(roundKey(p.task, p.round), {
    task: p.task,
    round: p.round,
    seq,
    model: p.model,
    base,
    rule: p.rule as FlRule,
    epochs: p.epochs,
    batchSize: p.batchSize,
    learningRate: p.learningRate,
    seed: p.seed,
    clinics,
    counted: clinics.filter((id) => !probation.includes(id)),
    probation,
    deadline: p.deadline,
    dpClip: p.dpClip,
    dpNoise: p.dpNoise,
    dpDeltaInv: p.dpDeltaInv,
    openedBy: c.signer.org,
    openedAt: c.time,
    state: 'open',
    updates: {},
    declined: {},
    closedAt: 0,
    aggregates: {},
    flags: {},
    agreed: '',
    agreedAt: 0,
    flagged: [],
  } satisfies FlRoundRecord);
};

function onProbation(s: StateCore, task: string, round: number, clinic: string): boolean {
  for (let r = round - 1; r >= Math.max(1, round - PROBATION_ROUNDS); r--) {
    if (s.get<FlRoundRecord>(roundKey(task, r))?.flagged.includes(clinic)) return true;
  }
  return false;
}

function participant(c: RuleContext, task: string, round: number): FlRoundRecord {
  need(PARTICIPANT_ROLES.includes(c.signer.role), 'wrong-role');
  const r = c.s.get<FlRoundRecord>(roundKey(task, round));
  need(r !== undefined, 'unknown-round');
  need(r.clinics.includes(c.signer.org), 'not-eligible');
  return r;
}

/** The open round a clinic answers (an update or a decline), once, before the deadline. */
function answering(c: RuleContext, task: string, round: number): FlRoundRecord {
  const r = participant(c, task, round);
  need(r.state === 'open', 'round-not-open');
  need(c.time <= r.deadline, 'past-deadline');
  need(r.updates[c.signer.org] === undefined && r.declined[c.signer.org] === undefined, 'duplicate');
  return r;
}

const flCommitUpdate: Rule<'flCommitUpdate'> = (tx, c) => {
  const p = tx.payload;
  const r = answering(c, p.task, p.round);
  need(p.samples >= 1 && p.bytes >= 1 && p.bytes <= MAX_FL_UPDATE_BYTES, 'malformed');
  const updates = { ...r.updates, [c.signer.org]: { digest: toHex(p.digest), samples: p.samples, bytes: p.bytes, height: c.height } };
  c.s.put(roundKey(p.task, p.round), closeWhenComplete({ ...r, updates }, c.height));
};

/** A clinic with nothing to train on says so, so that the round need not wait for its deadline. */
const flDeclineRound: Rule<'flDeclineRound'> = (tx, c) => {
  const p = tx.payload;
  const r = answering(c, p.task, p.round);
  need((FL_DECLINE_REASONS as readonly string[]).includes(p.reason), 'malformed');
  const declined = { ...r.declined, [c.signer.org]: p.reason as FlDeclineReason };
  c.s.put(roundKey(p.task, p.round), closeWhenComplete({ ...r, declined }, c.height));
};

function closeWhenComplete(r: FlRoundRecord, height: number): FlRoundRecord {
  const complete = r.clinics.every((id) => r.updates[id] !== undefined || r.declined[id] !== undefined);
  return complete ? { ...r, state: 'closed', closedAt: height } : r;
}

const flCloseRound: Rule<'flCloseRound'> = (tx, c) => {
  const r = participant(c, tx.payload.task, tx.payload.round);
  need(r.state === 'open', 'round-not-open');
  need(c.time > r.deadline, 'too-early');
  c.s.put(roundKey(r.task, r.round), { ...r, state: 'closed', closedAt: c.height } satisfies FlRoundRecord);
};

/** Parses `clinic:feature:value:baseline:scale:score:hard` entries into reasons per clinic; null if not canonical. */
function parseFlags(entries: readonly string[]): Map<string, Reason[]> | null {
  const texts = new Map<string, string[]>();
  for (const e of entries) {
    const at = typeof e === 'string' ? e.indexOf(':') : -1;
    if (at <= 0) return null;
    const clinic = e.slice(0, at);
    const list = texts.get(clinic) ?? [];
    list.push(e.slice(at + 1));
    texts.set(clinic, list);
  }
  const out = new Map<string, Reason[]>();
  const clinics = [...texts.keys()];
  // Canonical: grouped by clinic in ascending order.
  if (clinics.some((c, i) => i > 0 && clinics[i - 1]! >= c)) return null;
  let at = 0;
  for (const c of clinics) {
    const list = texts.get(c)!;
    if (entries.slice(at, at + list.length).some((e) => !e.startsWith(`${c}:`))) return null;
    at += list.length;
    const reasons = parseReasons('fl-update', list);
    if (!reasons) return null;
    out.set(c, reasons);
  }
  return out;
}

const flCommitAggregate: Rule<'flCommitAggregate'> = (tx, c) => {
  const p = tx.payload;
  const r = participant(c, p.task, p.round);
  need(r.state !== 'open', 'round-open');
  need(r.aggregates[c.signer.org] === undefined, 'duplicate');
  const flags = parseFlags(p.flags);
  need(flags !== null, 'malformed');
  for (const clinic of flags.keys()) {
    need(clinic !== c.signer.org, 'self-report');
    need(r.updates[clinic] !== undefined, 'malformed');
  }
  const digest = toHex(p.digest);
  const aggregates = { ...r.aggregates, [c.signer.org]: { digest, height: c.height } };
  const allFlags: Record<string, Record<string, string[]>> = { ...r.flags };
  const f = faultsTolerated(r.clinics.length);
  for (const [clinic, reasons] of flags) {
    allFlags[clinic] = { ...allFlags[clinic], [c.signer.org]: p.flags.filter((e) => e.startsWith(`${clinic}:`)).map((e) => e.slice(clinic.length + 1)) };
    addToCase(c, 'fl-update', clinic, r.seq, c.signer.org, reasonsPenalty(reasons), f);
  }
  let next: FlRoundRecord = { ...r, aggregates, flags: allFlags };
  if (r.state === 'closed') {
    const votes = Object.values(aggregates).filter((a) => a.digest === digest).length;
    if (votes >= quorumSize(r.clinics.length)) {
      const flagged = Object.keys(allFlags)
        .filter((id) => Object.keys(allFlags[id]!).length >= f + 1)
        .sort();
      next = { ...next, state: 'agreed', agreed: digest, agreedAt: c.height, flagged };
      const task = c.s.get<FlTaskRecord>(taskKey(p.task))!;
      c.s.put(taskKey(p.task), { ...task, agreedRound: p.round, agreedDigest: digest } satisfies FlTaskRecord);
    }
  }
  c.s.put(roundKey(p.task, p.round), next);
};

export const flRules = { flOpenRound, flCommitUpdate, flDeclineRound, flCloseRound, flCommitAggregate };

/** Reads of tasks and rounds (what the Learning screen and every participating node need). */
export class FlReader {
  constructor(private readonly s: StateCore) {}

  task(task: string): FlTaskRecord | undefined {
    return this.s.get<FlTaskRecord>(taskKey(task));
  }

  tasks(): FlTaskRecord[] {
    return this.s.list<FlTaskRecord>('fl/task');
  }

  round(task: string, round: number): FlRoundRecord | undefined {
    return this.s.get<FlRoundRecord>(roundKey(task, round));
  }

  /** A task's rounds, first to last. */
  rounds(task: string): FlRoundRecord[] {
    return this.s.list<FlRoundRecord>(`fl/round/${task}`).sort((a, b) => a.round - b.round);
  }

  /** The updates an aggregate counts, in the agreed order (by digest), once the round is closed. */
  agreedSet(task: string, round: number): { clinic: string; update: FlUpdateRecord }[] {
    const r = this.round(task, round);
    if (!r || r.state === 'open') return [];
    return r.counted
      .filter((c) => r.updates[c] !== undefined)
      .map((clinic) => ({ clinic, update: r.updates[clinic]! }))
      .sort((a, b) => (a.update.digest < b.update.digest ? -1 : a.update.digest > b.update.digest ? 1 : 0));
  }
}
