// The round protocol's ledger side: typed FL transactions (contracts/fl.ts, tags 32–35) signed by this
// clinic's node key and committed through the node's LedgerPort (PBFT in the clinic node; a MemoryLedger or
// real ConsensusNode replicas in the FL command's simulated consortium), and typed reads of the committed rounds.
import type { ApplyResult } from '../ledger/app.ts';
import type { FlDeclineReason, FlRoundRecord, FlRule, FlTaskRecord, FlUpdateRecord, TxAuthor } from '../ledger/contracts/index.ts';
import { reasonText, type Report } from '../security/index.ts';
import { fromHex } from '../util/index.ts';
import type { LedgerPort } from './ledger-port.ts';

/** How long a transaction may wait for commit before it expires (its notAfter). */
export const TX_TTL_MS = 10 * 60_000;

export interface RoundParams {
  readonly task: string;
  readonly round: number;
  /** `kind:features[:channels]`. */
  readonly model: string;
  /** Digest (hex) of the weights the round starts from. */
  readonly base: string;
  readonly rule: FlRule;
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly seed: number;
  readonly clinics: readonly string[];
  /** Block time (ms) after which updates are refused and the round may be closed. */
  readonly deadline: number;
  /** Client-level DP: clipping bound, noise multiplier σ, δ. */
  readonly dp?: { readonly clip: number; readonly noiseMultiplier: number; readonly delta: number };
}

/** The ledger fields of a DP option: micro-units of clip, milli-units of σ, 1/δ. */
export function dpFields(dp: RoundParams['dp']): { dpClip: number; dpNoise: number; dpDeltaInv: number } {
  if (!dp) return { dpClip: 0, dpNoise: 0, dpDeltaInv: 0 };
  return { dpClip: Math.round(dp.clip * 1e6), dpNoise: Math.round(dp.noiseMultiplier * 1000), dpDeltaInv: Math.round(1 / dp.delta) };
}

/** `clinic:feature:value:baseline:scale:score:hard` entries, grouped by clinic in ascending order. */
export function flagEntries(reports: readonly Report[]): string[] {
  return [...reports].sort((a, b) => (a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : 0)).flatMap((r) => r.reasons.map((x) => `${r.subject}:${reasonText(x)}`));
}

export class RoundLedger {
  constructor(
    private readonly port: LedgerPort,
    private readonly author: TxAuthor,
  ) {}

  private notAfter(): number {
    return Math.max(this.port.now(), this.port.head().time) + TX_TTL_MS;
  }

  open(p: RoundParams): Promise<ApplyResult> {
    return this.port.submit(
      this.author.make(
        'flOpenRound',
        {
          task: p.task,
          round: p.round,
          model: p.model,
          base: fromHex(p.base, 32),
          rule: p.rule,
          epochs: p.epochs,
          batchSize: p.batchSize,
          learningRate: Math.round(p.learningRate * 1e6),
          seed: p.seed,
          clinics: [...p.clinics],
          deadline: p.deadline,
          ...dpFields(p.dp),
        },
        { notAfter: this.notAfter() },
      ),
    );
  }

  commitUpdate(task: string, round: number, digest: string, samples: number, bytes: number): Promise<ApplyResult> {
    return this.port.submit(this.author.make('flCommitUpdate', { task, round, digest: fromHex(digest, 32), samples, bytes }, { notAfter: this.notAfter() }));
  }

  decline(task: string, round: number, reason: FlDeclineReason): Promise<ApplyResult> {
    return this.port.submit(this.author.make('flDeclineRound', { task, round, reason }, { notAfter: this.notAfter() }));
  }

  close(task: string, round: number): Promise<ApplyResult> {
    return this.port.submit(this.author.make('flCloseRound', { task, round }, { notAfter: this.notAfter() }));
  }

  commitAggregate(task: string, round: number, digest: string, flags: readonly Report[]): Promise<ApplyResult> {
    return this.port.submit(this.author.make('flCommitAggregate', { task, round, digest: fromHex(digest, 32), flags: flagEntries(flags) }, { notAfter: this.notAfter() }));
  }

  task(task: string): FlTaskRecord | undefined {
    return this.port.contracts().fl.task(task);
  }

  round(task: string, round: number): FlRoundRecord | undefined {
    return this.port.contracts().fl.round(task, round);
  }

  /** The counted updates of a closed round in the agreed order (by digest). */
  agreedSet(task: string, round: number): { clinic: string; update: FlUpdateRecord }[] {
    return this.port.contracts().fl.agreedSet(task, round);
  }
}
