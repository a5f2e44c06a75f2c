// A clinic node's security layer, live. It runs the access detector over every committed access decision
// (every node sees the same ones, so every honest node reports the same anomalies and they corroborate each
// other), the network detector over this node's own transport and consensus events (invalid signatures,
// equivocation, floods, rejected messages), and collects the outlier flags the FL service committed with its
// aggregates. Its findings become signed `fileReport` transactions with their reasons; trust is whatever the
// contracts derive from corroborated reports, and the consensus host takes it through trustAfter to order
// leaders (trust never changes a quorum). alerts() and trustHistory() are what the Security screen shows.
import type { LedgerPort, Schedule } from '../fl/index.ts';
import { REPORT_WINDOW_MS, decodeTx, type HygeiaContracts, type TxAuthor } from '../ledger/contracts/index.ts';
import type { PeerId } from '../net/transport.ts';
import { parseHex } from '../util/index.ts';
import { AccessMonitor, type AccessMonitorOptions } from './access.ts';
import { describeReason, displayValue } from './explain.ts';
import { NetworkMonitor, type NetworkEventKind, type NetworkMonitorOptions } from './network.ts';
import { reasonText, type Report, type ReportKind } from './report.ts';

/** One alert as the Security screen shows it (node/api.ts AlertView). */
export interface SecurityAlert {
  readonly id: string;
  /** Start of the window it is about (ms), or when the FL round's flags were committed. */
  readonly time: number;
  /** The clinic it is about, and the key when the detector named one. */
  readonly subject: string;
  readonly subjectKey: string | null;
  readonly detector: 'access' | 'network' | 'update';
  /** Milli z-score of the strongest reason. */
  readonly score: number;
  readonly reasons: { feature: string; value: number; baseline: number; deviation: number; text: string }[];
  /** Committed on the ledger as a report (or as an aggregate's flag). */
  readonly reported: boolean;
  /** Why it was not committed, when the ledger refused it. */
  readonly refused: string | null;
}

export interface TrustPoint {
  readonly height: number;
  readonly time: number;
  readonly scores: Record<string, number>;
}

export interface SecurityServiceOptions {
  readonly ledger: LedgerPort;
  /** This clinic's node key (signs the reports). */
  readonly author: TxAuthor;
  /** This clinic's id on the ledger (it never reports itself). */
  readonly clinic: string;
  readonly schedule: Schedule;
  readonly access?: AccessMonitorOptions;
  readonly network?: NetworkMonitorOptions;
  /** How often quiet network windows are closed (default 15 s). */
  readonly tickMs?: number;
  /** Alerts and trust points kept (default 500 each). */
  readonly keep?: number;
}

/** Which consensus rejections are evidence against the sender (the rest happen to honest peers under delay). */
const REJECTION_KIND: Readonly<Record<string, NetworkEventKind>> = {
  badSignature: 'invalid-signature',
  conflict: 'equivocation',
  malformed: 'rejected',
  oversize: 'rejected',
  badSender: 'rejected',
  digestMismatch: 'rejected',
  badRequest: 'rejected',
  badCheckpoint: 'rejected',
  badViewChange: 'rejected',
  badNewView: 'rejected',
  clockSkew: 'rejected',
};

/** At most this many reports filed per closed window (a flood of alerts must not flood the ledger). */
const MAX_FILED_PER_CLOSE = 16;

export class SecurityService {
  private readonly accessMonitor: AccessMonitor;
  private readonly networkMonitor: NetworkMonitor;
  private readonly alertList: SecurityAlert[] = [];
  private readonly points: TrustPoint[] = [];
  private readonly keep: number;
  private unsubscribe: (() => void) | null = null;
  private cancelTick: (() => void) | null = null;

  constructor(private readonly o: SecurityServiceOptions) {
    this.accessMonitor = new AccessMonitor(o.access);
    this.networkMonitor = new NetworkMonitor(o.network);
    this.keep = o.keep ?? 500;
  }

  start(): void {
    if (this.unsubscribe) return;
    this.unsubscribe = this.o.ledger.onCommitted((b) => this.onBlock(b.height, b.time, b.txs));
    const head = this.o.ledger.head();
    this.recordTrust(head.height, head.time);
    const tick = (): void => {
      this.file('network', this.networkMonitor.advanceTo(Math.floor(this.o.ledger.now())));
      this.cancelTick = this.o.schedule(this.o.tickMs ?? 15_000, tick);
    };
    this.cancelTick = this.o.schedule(this.o.tickMs ?? 15_000, tick);
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.cancelTick?.();
    this.cancelTick = null;
  }

  // ---- what the node feeds in ---------------------------------------------------------------------------

  /** A frame from a peer (any channel): counts toward its message rate. */
  observeMessage(peer: PeerId, count = 1): void {
    this.file('network', this.networkMonitor.observe({ time: Math.floor(this.o.ledger.now()), peer, kind: 'message', count }));
  }

  /** The consensus host dropped a peer's message for `reason` (a replica RejectReason or a host reason). */
  observeRejected(peer: PeerId, reason: string): void {
    const kind = REJECTION_KIND[reason];
    if (kind) this.file('network', this.networkMonitor.observe({ time: Math.floor(this.o.ledger.now()), peer, kind }));
  }

  /** Outlier flags this node's FL service computed for a round (committed with its aggregate when `committed`). */
  observeRoundFlags(reports: readonly Report[], committed: boolean, refused: string | null = null): void {
    const time = Math.floor(this.o.ledger.now());
    for (const r of reports) this.addAlert(r, time, committed, refused);
  }

  // ---- what the screens and the consensus host read ------------------------------------------------------

  /** Newest first. */
  alerts(): SecurityAlert[] {
    return [...this.alertList].reverse();
  }

  /** Trust of every member clinic after each block that changed one, oldest first. */
  trustHistory(): TrustPoint[] {
    return [...this.points];
  }

  /**
   * For ConsensusNode's trustAfter: the committed trust of each validator after block `seq` (as of that block's
   * time, which `timeOf` reads from the block), or undefined when it did not change since the last call.
   * Deterministic in the committed state, like the contracts.
   */
  trustAfter(timeOf: (seq: number) => number | undefined, validators: () => readonly Uint8Array[]): (seq: number) => number[] | undefined {
    let last = '';
    return (seq) => {
      const time = timeOf(seq);
      if (time === undefined) return undefined;
      const v = trustVector(this.o.ledger.contracts(), validators(), time);
      const key = v.join(',');
      if (key === last) return undefined;
      last = key;
      return v;
    };
  }

  // ---- internals ----------------------------------------------------------------------------------------

  private onBlock(height: number, time: number, txs: readonly Uint8Array[]): void {
    const contracts = this.o.ledger.contracts();
    for (const bytes of txs) {
      let tx;
      try {
        tx = decodeTx(bytes).tx;
      } catch {
        continue;
      }
      if (tx.kind !== 'requestAccess') continue;
      const d = contracts.decision(tx.payload.requestId);
      if (!d || d.height !== height) continue; // refused, or a replayed request id
      this.file('access', this.accessMonitor.observe({ time: d.time, requester: d.requester, patient: d.patient, granted: d.decision === 'permit', breakGlass: d.breakGlass }));
    }
    this.file('access', this.accessMonitor.advanceTo(time));
    this.recordTrust(height, time);
  }

  private recordTrust(height: number, time: number): void {
    const contracts = this.o.ledger.contracts();
    const scores: Record<string, number> = {};
    for (const org of contracts.orgs()) if (!org.removed) scores[org.id] = contracts.reports.trust(org.id, time);
    const prev = this.points.at(-1);
    if (prev && JSON.stringify(prev.scores) === JSON.stringify(scores)) return;
    this.points.push({ height, time, scores });
    if (this.points.length > this.keep) this.points.shift();
  }

  /** Files reports about other clinics' keys as signed transactions; every report becomes an alert. */
  private file(kind: Exclude<ReportKind, 'fl-update'>, reports: readonly Report[]): void {
    if (reports.length === 0) return;
    const contracts = this.o.ledger.contracts();
    let filed = 0;
    const windowMs = REPORT_WINDOW_MS[kind];
    for (const r of reports) {
      const subjectOrg = orgOfSubject(contracts, r.subject);
      const at = r.window * windowMs;
      // This clinic's own staff are shown to its auditors but never reported by it (the contracts refuse it).
      const unfiled =
        subjectOrg === this.o.clinic ? 'about this clinic' : subjectOrg === undefined ? 'not a member key' : filed >= MAX_FILED_PER_CLOSE ? 'too many reports at once' : null;
      if (unfiled !== null) {
        this.addAlert(r, at, false, unfiled);
        continue;
      }
      filed++;
      const alert = this.addAlert(r, at, false, null);
      const tx = this.o.author.make('fileReport', { kind, subject: r.subject, window: r.window, reasons: r.reasons.map(reasonText) });
      this.o.ledger.submit(tx).then(
        (res) => this.settle(alert.id, res.ok, res.ok ? null : res.reason),
        (e: unknown) => this.settle(alert.id, false, e instanceof Error ? e.name : 'not committed'),
      );
    }
  }

  private addAlert(r: Report, time: number, reported: boolean, refused: string | null): SecurityAlert {
    const contracts = this.o.ledger.contracts();
    const isKey = /^[0-9a-f]{64}$/.test(r.subject);
    const alert: SecurityAlert = {
      id: `${r.kind}/${r.subject}/${r.window}`,
      time,
      subject: orgOfSubject(contracts, r.subject) ?? (isKey ? `unknown key ${r.subject.slice(0, 8)}` : r.subject),
      subjectKey: isKey ? r.subject : null,
      detector: r.kind === 'fl-update' ? 'update' : r.kind,
      score: r.severity,
      reasons: r.reasons.map((x) => ({
        feature: x.feature,
        value: displayValue(x.feature, x.value),
        baseline: displayValue(x.feature, x.baseline),
        deviation: x.score / 1000,
        text: describeReason(x),
      })),
      reported,
      refused,
    };
    const at = this.alertList.findIndex((a) => a.id === alert.id);
    if (at >= 0) this.alertList.splice(at, 1);
    this.alertList.push(alert);
    if (this.alertList.length > this.keep) this.alertList.shift();
    return alert;
  }

  private settle(id: string, ok: boolean, refused: string | null): void {
    const i = this.alertList.findIndex((a) => a.id === id);
    if (i >= 0) this.alertList[i] = { ...this.alertList[i]!, reported: ok, refused };
  }
}

/** The clinic a report's subject belongs to: a member clinic's id, or the clinic of a registered key. */
function orgOfSubject(contracts: HygeiaContracts, subject: string): string | undefined {
  const key = /^[0-9a-f]{64}$/.test(subject) ? parseHex(subject, 32) : null;
  if (key) return contracts.key(key)?.org;
  return contracts.isMember(subject) ? subject : undefined;
}

/** The committed trust of each validator (by key) as of block time `time`, in the validators' order. */
export function trustVector(contracts: HygeiaContracts, validators: readonly Uint8Array[], time: number): number[] {
  return validators.map((k) => {
    const org = contracts.key(k)?.org;
    return org === undefined ? 0 : contracts.reports.trust(org, time);
  });
}
