// Security reports and trust scores on the ledger (transaction tags 32–47 belong to the AI layer; this is
// `fileReport`, tag 40). A clinic's node files what its detectors found about another clinic, with the
// reasons; a case (one kind, one subject clinic, one window) moves the subject's trust only once f+1
// distinct clinics other than the subject reported it, and by the (f+1)-th largest penalty they asked for
// (security/trust.ts), so one lying clinic cannot smear another. Scores recover by whole days of block time.
// FL update flags arrive inside `flCommitAggregate` (fl.ts) and go through the same case rule.
import type { ApplyContext } from '../app.ts';
import {
  DAY_MS,
  KIND_FEATURES,
  TRUST_RULE,
  corroboratedPenalty,
  parseReasonText,
  reasonsPenalty,
  recoverTrust,
  sortReasons,
  type Reason,
  type ReportKind,
} from '../../security/index.ts';

export type ReportRejectReason =
  | 'self-report' // a clinic reporting about itself
  | 'unknown-subject' // the subject is neither a member clinic nor a registered key
  | 'future-window' // the window has not begun by the block's time
  | 'stale-report'; // the window ended longer ago than MAX_REPORT_AGE_MS

/** What a domain module of the contracts reads and writes; the contracts hand it one per transaction. */
export interface DomainState {
  get<T>(key: string): T | undefined;
  put(key: string, value: unknown): void;
  /** Every value whose key starts with `prefix` (pending writes included), in no particular order. */
  entries<T>(prefix: string): Iterable<T>;
}

export interface DomainContext extends DomainState {
  /** The signer's key record (already authenticated: signature, nonce, revocation, expiry). */
  readonly signer: { readonly org: string; readonly role: string };
  readonly signerHex: string;
  readonly ctx: ApplyContext;
  /** The member clinics that are validators, sorted. */
  validatorOrgs(): string[];
  orgExists(id: string): boolean;
  /** The organisation of a registered key (hex), if any. */
  keyOrg(keyHex: string): string | undefined;
  /** Refuses the transaction (throws the contracts' typed rejection; nothing is written). */
  reject(reason: string): never;
}

/** f for n members: floor((n - 1) / 3). */
export function faultsAmong(n: number): number {
  return Math.max(0, Math.floor((n - 1) / 3));
}

/** Report windows per kind (ms): the detectors' windows (security/access.ts, network.ts). */
export const REPORT_WINDOW_MS: Readonly<Record<Exclude<ReportKind, 'fl-update'>, number>> = { access: DAY_MS, network: 60_000 };
/** Reports about windows that ended longer ago than this are refused. */
export const MAX_REPORT_AGE_MS = 7 * DAY_MS;
const TRUST_HISTORY = 32;

export interface ReportRecord {
  kind: ReportKind;
  /** The subject as the detector named it (a key hex or a clinic id). */
  subject: string;
  subjectOrg: string;
  window: number;
  reporter: string;
  reporterKey: string;
  /** Canonical reason texts, strongest first (security/report.ts). */
  reasons: string[];
  severity: number;
  penalty: number;
  height: number;
  time: number;
}

export interface CaseRecord {
  kind: ReportKind;
  subjectOrg: string;
  window: number;
  /** Per reporting clinic, the penalty its report asked for. */
  asks: Record<string, number>;
  /** The penalty applied so far (the corroborated one). */
  applied: number;
  /** The height at which f+1 clinics had reported it (0 while uncorroborated). */
  corroboratedAt: number;
}

export interface TrustRecord {
  score: number;
  /** Block time from which recovery counts whole days. */
  since: number;
  /** The last changes by penalty, oldest first. */
  history: { height: number; time: number; score: number }[];
}

const SLUG = /^[a-z0-9][a-z0-9-]{0,62}$/;
const KEY_HEX = /^[0-9a-f]{64}$/;
const REPORTER_ROLES = ['node', 'admin', 'auditor'];

/** A score as of `time`: the stored one plus the whole days of recovery since. */
export function trustAt(rec: TrustRecord | undefined, time: number): number {
  if (!rec) return TRUST_RULE.initial;
  return recoverTrust(rec.score, Math.max(0, Math.floor((time - rec.since) / DAY_MS)));
}

function penalise(d: DomainState, org: string, penalty: number, ctx: ApplyContext): void {
  if (penalty <= 0) return;
  const rec = d.get<TrustRecord>(`trust/${org}`);
  const days = rec ? Math.max(0, Math.floor((ctx.time - rec.since) / DAY_MS)) : 0;
  const current = trustAt(rec, ctx.time);
  const score = Math.max(TRUST_RULE.min, current - penalty);
  const history = [...(rec?.history ?? []), { height: ctx.height, time: ctx.time, score }].slice(-TRUST_HISTORY);
  d.put(`trust/${org}`, { score, since: rec ? rec.since + days * DAY_MS : ctx.time, history } satisfies TrustRecord);
}

/**
 * Adds one clinic's ask to a case and applies whatever the corroborated penalty grew by. With f+1 honest
 * reporters asking the same, the final penalty is theirs whatever the order the asks arrive in.
 */
export function addToCase(d: DomainState, kind: ReportKind, subjectOrg: string, window: number, reporter: string, ask: number, f: number, ctx: ApplyContext): void {
  const key = `case/${kind}/${subjectOrg}/${window}`;
  const c = d.get<CaseRecord>(key) ?? { kind, subjectOrg, window, asks: {}, applied: 0, corroboratedAt: 0 };
  const asks = { ...c.asks, [reporter]: ask };
  const due = corroboratedPenalty(Object.values(asks), f);
  const corroboratedAt = c.corroboratedAt === 0 && Object.keys(asks).length >= f + 1 ? ctx.height : c.corroboratedAt;
  if (due > c.applied) penalise(d, subjectOrg, due - c.applied, ctx);
  d.put(key, { ...c, asks, applied: Math.max(c.applied, due), corroboratedAt } satisfies CaseRecord);
}

/** Parses canonical reason texts for a kind: strongest first, no feature twice, features of that kind. */
export function parseReasons(kind: ReportKind, texts: readonly string[]): Reason[] | null {
  if (texts.length === 0 || texts.length > KIND_FEATURES[kind].length) return null;
  const reasons: Reason[] = [];
  for (const t of texts) {
    const r = parseReasonText(t);
    if (!r || !KIND_FEATURES[kind].includes(r.feature) || reasons.some((x) => x.feature === r.feature)) return null;
    reasons.push(r);
  }
  const canonical = sortReasons(reasons);
  return canonical.every((r, i) => r === reasons[i]) ? reasons : null;
}

type FileReport = { kind: string; subject: string; window: number; reasons: string[] };

/** The `fileReport` rule. */
export function applyFileReport(d: DomainContext, p: FileReport): void {
  if (!REPORTER_ROLES.includes(d.signer.role)) d.reject('wrong-role');
  if (p.kind !== 'access' && p.kind !== 'network') d.reject('malformed');
  const kind = p.kind as 'access' | 'network';
  let subjectOrg: string | undefined;
  if (KEY_HEX.test(p.subject)) subjectOrg = d.keyOrg(p.subject);
  else if (SLUG.test(p.subject) && d.orgExists(p.subject)) subjectOrg = p.subject;
  if (subjectOrg === undefined) d.reject('unknown-subject');
  if (subjectOrg === d.signer.org) d.reject('self-report');
  const reasons = parseReasons(kind, p.reasons);
  if (!reasons) d.reject('malformed');
  const len = REPORT_WINDOW_MS[kind];
  if (!Number.isSafeInteger(p.window) || p.window * len > d.ctx.time) d.reject('future-window');
  if ((p.window + 1) * len + MAX_REPORT_AGE_MS < d.ctx.time) d.reject('stale-report');
  const key = `report/${kind}/${subjectOrg}/${p.window}/${d.signer.org}`;
  if (d.get(key) !== undefined) d.reject('duplicate');
  const penalty = reasonsPenalty(reasons);
  d.put(key, {
    kind,
    subject: p.subject,
    subjectOrg,
    window: p.window,
    reporter: d.signer.org,
    reporterKey: d.signerHex,
    reasons: [...p.reasons],
    severity: reasons[0]!.score,
    penalty,
    height: d.ctx.height,
    time: d.ctx.time,
  } satisfies ReportRecord);
  addToCase(d, kind, subjectOrg, p.window, d.signer.org, penalty, faultsAmong(d.validatorOrgs().length), d.ctx);
}

/** Reads of reports, cases and trust (what the Security screen and the consensus host need). */
export class ReportsReader {
  constructor(private readonly s: Pick<DomainState, 'get' | 'entries'>) {}

  /** A clinic's trust score as of block time `time`. */
  trust(org: string, time: number): number {
    return trustAt(this.s.get<TrustRecord>(`trust/${org}`), time);
  }

  trustRecord(org: string): TrustRecord | undefined {
    return this.s.get<TrustRecord>(`trust/${org}`);
  }

  /** Reports about one clinic (any kind), oldest first. */
  about(org: string): ReportRecord[] {
    return [...this.s.entries<ReportRecord>('report/')].filter((r) => r.subjectOrg === org).sort(byHeight);
  }

  /** Reports one clinic filed, oldest first. */
  by(org: string): ReportRecord[] {
    return [...this.s.entries<ReportRecord>('report/')].filter((r) => r.reporter === org).sort(byHeight);
  }

  case(kind: ReportKind, subjectOrg: string, window: number): CaseRecord | undefined {
    return this.s.get<CaseRecord>(`case/${kind}/${subjectOrg}/${window}`);
  }

  /** Cases that reached corroboration, oldest first. */
  corroborated(): CaseRecord[] {
    return [...this.s.entries<CaseRecord>('case/')].filter((c) => c.corroboratedAt > 0).sort((a, b) => a.corroboratedAt - b.corroboratedAt || cmp(a.subjectOrg, b.subjectOrg));
  }
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const byHeight = (a: ReportRecord, b: ReportRecord): number => a.height - b.height || cmp(a.reporter, b.reporter) || cmp(a.subjectOrg, b.subjectOrg);
