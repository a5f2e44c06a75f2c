// Security reports and trust scores on the ledger (transaction tags 32–47 belong to the AI layer; this is
// `fileReport`, tag 40). A clinic's node files what its detectors found about another clinic, with the
// reasons; a case (one kind, one subject clinic, one window) moves the subject's trust only once f+1
// distinct clinics other than the subject reported it, and by the (f+1)-th largest penalty they asked for
// (security/trust.ts), so one lying clinic cannot smear another. Scores recover by whole days of block time.
// FL update flags arrive inside `flCommitAggregate` (fl.ts) and go through the same case rule.
//
// Keys: report/<subject org>/<kind>:<window>:<reporter org>, report-by/<reporter org>/<subject org>:<kind>:<window>
// (the report's key), case/<subject org>/<kind>:<window>, trust/<org>.
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
import { faultsTolerated } from '../quorum.ts';
import { keyOf, memberOf, validatorOrgs } from './membership.ts';
import { need, type Rule, type RuleContext, type StateCore } from './state-core.ts';

export type ReportRejectReason =
  | 'self-report' // a clinic reporting about itself
  | 'unknown-subject' // the subject is neither a member clinic nor a registered key
  | 'future-window' // the window has not begun by the block's time
  | 'stale-report'; // the window ended longer ago than MAX_REPORT_AGE_MS

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

const KEY_HEX = /^[0-9a-f]{64}$/;
const REPORTER_ROLES = ['node', 'admin', 'auditor'];

/** A score as of `time`: the stored one plus the whole days of recovery since. */
function trustAt(rec: TrustRecord | undefined, time: number): number {
  if (!rec) return TRUST_RULE.initial;
  return recoverTrust(rec.score, Math.max(0, Math.floor((time - rec.since) / DAY_MS)));
}

function penalise(c: RuleContext, org: string, penalty: number): void {
  if (penalty <= 0) return;
  const rec = c.s.get<TrustRecord>(`trust/${org}`);
  const days = rec ? Math.max(0, Math.floor((c.time - rec.since) / DAY_MS)) : 0;
  const score = Math.max(TRUST_RULE.min, trustAt(rec, c.time) - penalty);
  const history = [...(rec?.history ?? []), { height: c.height, time: c.time, score }].slice(-TRUST_HISTORY);
  c.s.put(`trust/${org}`, { score, since: rec ? rec.since + days * DAY_MS : c.time, history } satisfies TrustRecord);
}

/**
 * Adds one clinic's ask to a case and applies whatever the corroborated penalty grew by. With f+1 honest
 * reporters asking the same, the final penalty is theirs whatever the order the asks arrive in.
 */
export function addToCase(c: RuleContext, kind: ReportKind, subjectOrg: string, window: number, reporter: string, ask: number, f: number): void {
  const key = `case/${subjectOrg}/${kind}:${window}`;
  const prev = c.s.get<CaseRecord>(key) ?? { kind, subjectOrg, window, asks: {}, applied: 0, corroboratedAt: 0 };
  const asks = { ...prev.asks, [reporter]: ask };
  const due = corroboratedPenalty(Object.values(asks), f);
  const corroboratedAt = prev.corroboratedAt === 0 && Object.keys(asks).length >= f + 1 ? c.height : prev.corroboratedAt;
  if (due > prev.applied) penalise(c, subjectOrg, due - prev.applied);
  c.s.put(key, { ...prev, asks, applied: Math.max(prev.applied, due), corroboratedAt } satisfies CaseRecord);
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

const fileReport: Rule<'fileReport'> = (tx, c) => {
  const p = tx.payload;
  need(REPORTER_ROLES.includes(c.signer.role), 'wrong-role');
  need(p.kind === 'access' || p.kind === 'network', 'malformed');
  const kind: 'access' | 'network' = p.kind;
  const subjectOrg = KEY_HEX.test(p.subject) ? keyOf(c.s, p.subject)?.org : memberOf(c.s, p.subject) ? p.subject : undefined;
  need(subjectOrg !== undefined, 'unknown-subject');
  need(subjectOrg !== c.signer.org, 'self-report');
  const reasons = parseReasons(kind, p.reasons);
  need(reasons !== null, 'malformed');
  const len = REPORT_WINDOW_MS[kind];
  need(Number.isSafeInteger(p.window) && p.window * len <= c.time, 'future-window');
  need((p.window + 1) * len + MAX_REPORT_AGE_MS >= c.time, 'stale-report');
  const key = `report/${subjectOrg}/${kind}:${p.window}:${c.signer.org}`;
  need(!c.s.has(key), 'duplicate');
  const penalty = reasonsPenalty(reasons);
  c.s.put(key, {
    kind,
    subject: p.subject,
    subjectOrg,
    window: p.window,
    reporter: c.signer.org,
    reporterKey: c.signerHex,
    reasons: [...p.reasons],
    severity: reasons[0]!.score,
    penalty,
    height: c.height,
    time: c.time,
  } satisfies ReportRecord);
  c.s.put(`report-by/${c.signer.org}/${subjectOrg}:${kind}:${p.window}`, key);
  addToCase(c, kind, subjectOrg, p.window, c.signer.org, penalty, faultsTolerated(Math.max(1, validatorOrgs(c.s).length)));
};

export const reportRules = { fileReport };

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const byHeight = (a: ReportRecord, b: ReportRecord): number => a.height - b.height || cmp(a.reporter, b.reporter) || cmp(a.subjectOrg, b.subjectOrg);

/** Reads of reports, cases and trust (what the Security screen and the consensus host need). */
export class ReportsReader {
  constructor(private readonly s: StateCore) {}

  /** A clinic's trust score as of block time `time`. */
  trust(org: string, time: number): number {
    return trustAt(this.s.get<TrustRecord>(`trust/${org}`), time);
  }

  trustRecord(org: string): TrustRecord | undefined {
    return this.s.get<TrustRecord>(`trust/${org}`);
  }

  /** Reports about one clinic (any kind), oldest first. */
  about(org: string): ReportRecord[] {
    return this.s.list<ReportRecord>(`report/${org}`).sort(byHeight);
  }

  /** Reports one clinic filed, oldest first. */
  by(org: string): ReportRecord[] {
    return this.s
      .list<string>(`report-by/${org}`)
      .map((k) => this.s.get<ReportRecord>(k)!)
      .sort(byHeight);
  }

  case(kind: ReportKind, subjectOrg: string, window: number): CaseRecord | undefined {
    return this.s.get<CaseRecord>(`case/${subjectOrg}/${kind}:${window}`);
  }

  /** Cases that reached corroboration (about one clinic, or any), oldest first. */
  corroborated(org?: string): CaseRecord[] {
    const orgs = org !== undefined ? [org] : this.s.list<{ id: string }>('org').map((o) => o.id);
    return orgs
      .flatMap((o) => this.s.list<CaseRecord>(`case/${o}`))
      .filter((x) => x.corroboratedAt > 0)
      .sort((a, b) => a.corroboratedAt - b.corroboratedAt || cmp(a.subjectOrg, b.subjectOrg) || a.window - b.window);
  }
}
