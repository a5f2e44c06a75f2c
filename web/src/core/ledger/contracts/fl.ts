// Federated-learning rounds on the ledger (transaction tags 32–35). A round of a task is opened with its
// model, starting weights' digest, rule, hyperparameters, eligible clinics, deadline and DP option; each
// eligible clinic commits the digest of its update (the bytes travel peer to peer); the round closes when all
// have committed, or by anyone after the deadline; each clinic then commits the digest of the aggregate it
// computed over the ledger-agreed set, with the clinics whose updates its outlier test flagged. The round is
// agreed when a quorum of the round's clinics committed the same digest; the next round must start from it.
//
// Probation, the rule every node applies identically: a clinic flagged by f+1 clinics in one of the last
// PROBATION_ROUNDS agreed rounds of a task still trains and commits (its update is still checked), but its
// update is not counted in the aggregate of the next rounds. The flags also become fl-update cases for trust.
import { addToCase, faultsAmong, parseReasons, type DomainContext } from './reports.ts';
import { reasonsPenalty, type Reason } from '../../security/index.ts';
import { toHex } from '../../util/index.ts';

export type FlRejectReason =
  | 'unknown-round' // no such task or round
  | 'out-of-order' // not the task's next round, or the previous round is not agreed
  | 'bad-base' // the starting digest is not the previous round's agreed aggregate
  | 'not-eligible' // the signer's clinic is not one of the round's clinics
  | 'round-not-open' // an update or a close after the round closed
  | 'round-open' // an aggregate before the round closed
  | 'too-early' // a close before the deadline
  | 'past-deadline'; // an update after the deadline

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
  closedAt: number;
  aggregates: Record<string, { digest: string; height: number }>;
  /** Per flagged clinic, per reporting clinic, the canonical reason texts. */
  flags: Record<string, Record<string, string[]>>;
  agreed: string;
  agreedAt: number;
  /** Clinics flagged by f+1 clinics by the time the round was agreed, sorted. */
  flagged: string[];
}

export const roundKey = (task: string, round: number): string => `fl/round/${task}/${round}`;
const taskKey = (task: string): string => `fl/task/${task}`;

/** quorum(n) = ceil((n + f + 1) / 2), f = floor((n - 1) / 3). */
function quorumOf(n: number): number {
  return Math.ceil((n + faultsAmong(n) + 1) / 2);
}

type OpenRound = {
  task: string;
  round: number;
  model: string;
  base: Uint8Array;
  rule: string;
  epochs: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  clinics: string[];
  deadline: number;
  dpClip: number;
  dpNoise: number;
  dpDeltaInv: number;
};

export function applyOpenRound(d: DomainContext, p: OpenRound): void {
  if (!PARTICIPANT_ROLES.includes(d.signer.role)) d.reject('wrong-role');
  if (!TASK_ID.test(p.task) || !MODEL_SPEC.test(p.model) || !(FL_RULES as readonly string[]).includes(p.rule)) d.reject('malformed');
  if (!(p.epochs >= 1 && p.epochs <= 100 && p.batchSize >= 1 && p.batchSize <= 4096 && p.learningRate >= 1 && p.learningRate <= 10_000_000)) d.reject('malformed');
  const dp = p.dpNoise > 0;
  if (dp !== (p.rule === 'dp-mean') || dp !== p.dpClip > 0 || (dp && p.dpDeltaInv < 2) || (!dp && p.dpDeltaInv !== 0)) d.reject('malformed');
  const clinics = [...p.clinics].sort();
  if (clinics.length === 0 || clinics.length > MAX_CLINICS || new Set(clinics).size !== clinics.length) d.reject('malformed');
  if (!clinics.every((c) => d.orgExists(c))) d.reject('unknown-org');
  if (!clinics.includes(d.signer.org)) d.reject('not-eligible');
  if (p.deadline <= d.ctx.time) d.reject('bad-period');
  const base = toHex(p.base);
  const task = d.get<FlTaskRecord>(taskKey(p.task));
  if (task === undefined) {
    if (p.round !== 1) d.reject('out-of-order');
  } else {
    if (p.round !== task.rounds + 1 || task.agreedRound !== task.rounds) d.reject('out-of-order');
    if (base !== task.agreedDigest) d.reject('bad-base');
    // One model and one privacy option per task: the accountant composes the task's rounds.
    if (p.model !== task.model || p.dpClip !== task.dpClip || p.dpNoise !== task.dpNoise || p.dpDeltaInv !== task.dpDeltaInv) d.reject('malformed');
  }
  const probation = clinics.filter((c) => onProbation(d, p.task, p.round, c));
  const seq = (d.get<number>('fl/seq') ?? 0) + 1;
  d.put('fl/seq', seq);
  d.put(taskKey(p.task), {
    task: p.task,
    model: p.model,
    rounds: p.round,
    agreedRound: task?.agreedRound ?? 0,
    agreedDigest: task?.agreedDigest ?? '',
    dpClip: p.dpClip,
    dpNoise: p.dpNoise,
    dpDeltaInv: p.dpDeltaInv,
  } satisfies FlTaskRecord);
  d.put(roundKey(p.task, p.round), {
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
    counted: clinics.filter((c) => !probation.includes(c)),
    probation,
    deadline: p.deadline,
    dpClip: p.dpClip,
    dpNoise: p.dpNoise,
    dpDeltaInv: p.dpDeltaInv,
    openedBy: d.signer.org,
    openedAt: d.ctx.time,
    state: 'open',
    updates: {},
    closedAt: 0,
    aggregates: {},
    flags: {},
    agreed: '',
    agreedAt: 0,
    flagged: [],
  } satisfies FlRoundRecord);
}

function onProbation(d: DomainContext, task: string, round: number, clinic: string): boolean {
  for (let r = round - 1; r >= Math.max(1, round - PROBATION_ROUNDS); r--) {
    if (d.get<FlRoundRecord>(roundKey(task, r))?.flagged.includes(clinic)) return true;
  }
  return false;
}

function participant(d: DomainContext, task: string, round: number): FlRoundRecord {
  if (!PARTICIPANT_ROLES.includes(d.signer.role)) d.reject('wrong-role');
  const r = d.get<FlRoundRecord>(roundKey(task, round));
  if (r === undefined) d.reject('unknown-round');
  if (!r.clinics.includes(d.signer.org)) d.reject('not-eligible');
  return r;
}

export function applyCommitUpdate(d: DomainContext, p: { task: string; round: number; digest: Uint8Array; samples: number; bytes: number }): void {
  const r = participant(d, p.task, p.round);
  if (r.state !== 'open') d.reject('round-not-open');
  if (d.ctx.time > r.deadline) d.reject('past-deadline');
  if (r.updates[d.signer.org] !== undefined) d.reject('duplicate');
  if (!(p.samples >= 1 && p.bytes >= 1 && p.bytes <= MAX_FL_UPDATE_BYTES)) d.reject('malformed');
  const updates = { ...r.updates, [d.signer.org]: { digest: toHex(p.digest), samples: p.samples, bytes: p.bytes, height: d.ctx.height } };
  const complete = r.clinics.every((c) => updates[c] !== undefined);
  d.put(roundKey(p.task, p.round), { ...r, updates, state: complete ? 'closed' : 'open', closedAt: complete ? d.ctx.height : 0 } satisfies FlRoundRecord);
}

export function applyCloseRound(d: DomainContext, p: { task: string; round: number }): void {
  const r = participant(d, p.task, p.round);
  if (r.state !== 'open') d.reject('round-not-open');
  if (d.ctx.time <= r.deadline) d.reject('too-early');
  d.put(roundKey(p.task, p.round), { ...r, state: 'closed', closedAt: d.ctx.height } satisfies FlRoundRecord);
}

/** Parses `clinic:feature:value:baseline:scale:score:hard` entries into reasons per clinic; null if not canonical. */
export function parseFlags(entries: readonly string[]): Map<string, Reason[]> | null {
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

export function applyCommitAggregate(d: DomainContext, p: { task: string; round: number; digest: Uint8Array; flags: string[] }): void {
  const r = participant(d, p.task, p.round);
  if (r.state === 'open') d.reject('round-open');
  if (r.aggregates[d.signer.org] !== undefined) d.reject('duplicate');
  const flags = parseFlags(p.flags);
  if (!flags) d.reject('malformed');
  for (const clinic of flags.keys()) {
    if (clinic === d.signer.org) d.reject('self-report');
    if (r.updates[clinic] === undefined) d.reject('malformed');
  }
  const digest = toHex(p.digest);
  const aggregates = { ...r.aggregates, [d.signer.org]: { digest, height: d.ctx.height } };
  const allFlags: Record<string, Record<string, string[]>> = { ...r.flags };
  const f = faultsAmong(r.clinics.length);
  for (const [clinic, reasons] of flags) {
    allFlags[clinic] = { ...allFlags[clinic], [d.signer.org]: p.flags.filter((e) => e.startsWith(`${clinic}:`)).map((e) => e.slice(clinic.length + 1)) };
    addToCase(d, 'fl-update', clinic, r.seq, d.signer.org, reasonsPenalty(reasons), f, d.ctx);
  }
  let next: FlRoundRecord = { ...r, aggregates, flags: allFlags };
  if (r.state === 'closed') {
    const votes = Object.values(aggregates).filter((a) => a.digest === digest).length;
    if (votes >= quorumOf(r.clinics.length)) {
      const flagged = Object.keys(allFlags)
        .filter((c) => Object.keys(allFlags[c]!).length >= f + 1)
        .sort();
      next = { ...next, state: 'agreed', agreed: digest, agreedAt: d.ctx.height, flagged };
      const task = d.get<FlTaskRecord>(taskKey(p.task))!;
      d.put(taskKey(p.task), { ...task, agreedRound: p.round, agreedDigest: digest } satisfies FlTaskRecord);
    }
  }
  d.put(roundKey(p.task, p.round), next);
}

/** Reads of tasks and rounds (what the Learning screen and every participating node need). */
export class FlReader {
  constructor(private readonly s: { get<T>(key: string): T | undefined; entries<T>(prefix: string): Iterable<T> }) {}

  task(task: string): FlTaskRecord | undefined {
    return this.s.get<FlTaskRecord>(taskKey(task));
  }

  tasks(): FlTaskRecord[] {
    return [...this.s.entries<FlTaskRecord>('fl/task/')].sort((a, b) => (a.task < b.task ? -1 : 1));
  }

  round(task: string, round: number): FlRoundRecord | undefined {
    return this.s.get<FlRoundRecord>(roundKey(task, round));
  }

  /** A task's rounds, first to last. */
  rounds(task: string): FlRoundRecord[] {
    return [...this.s.entries<FlRoundRecord>(`fl/round/${task}/`)].filter((r) => r.task === task).sort((a, b) => a.round - b.round);
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
