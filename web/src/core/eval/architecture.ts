// What each architecture adapter reports after running the workload: per attempt, what happened, counted by
// the adapter from the system's own behaviour (rows returned, a release made, a check that failed). The
// metrics module turns these into the table's rates with one set of definitions for all three.
import type { PGlite } from '@electric-sql/pglite';
import type { Dataset, Trainer } from '../fl/index.ts';
import type { TamperKind, Workload } from './workload.ts';

export type ArchitectureName = 'centralized' | 'federated' | 'hygeia';
export const ARCHITECTURES: readonly ArchitectureName[] = ['centralized', 'federated', 'hygeia'];

export interface AccessOutcome {
  readonly id: string;
  /** Data reached whoever made the attempt (records returned, released, or read in clear). */
  readonly obtained: boolean;
  /** The system accepted the attempt as an authenticated access and decided on it (an access event to audit). */
  readonly event: boolean;
  /** Why, in the system's words (a deny reason, a rejection), for the details. */
  readonly reason: string;
}

export interface TamperOutcome {
  readonly id: string;
  readonly kind: TamperKind;
  readonly detected: boolean;
}

export interface ExchangeOutcome {
  readonly id: string;
  readonly resources: number;
  readonly valid: boolean;
}

export interface AuditOutcome {
  readonly id: string;
  /** The auditor found the event, unaltered, and could verify it, after the insider edited what it could. */
  readonly reconstructed: boolean;
}

export interface FlOutcome {
  readonly accuracy: number;
  readonly auc: number;
  readonly rule: string;
  readonly attack: string;
}

export interface ArchitectureRun {
  readonly access: readonly AccessOutcome[];
  readonly tamper: readonly TamperOutcome[];
  readonly exchanges: readonly ExchangeOutcome[];
  readonly audit: readonly AuditOutcome[];
  /** Record update to durably committed and visible to every other clinic, ms, one per update. */
  readonly latencyMs: readonly number[];
  readonly fl: FlOutcome | null;
}

export interface RunContext {
  readonly progress: (message: string) => void;
  /** Tabular data for the FL task (features and binary labels). */
  readonly flData: Dataset;
  readonly trainer: Trainer;
  /** A prefix for database names, unique per run. */
  readonly dbPrefix: string;
  /**
   * The PostgreSQL engine (PGlite) the database baselines run in, started once per evaluation (starting one
   * takes seconds): each baseline keeps to its own schemas.
   */
  readonly postgres: () => Promise<PGlite>;
}

export interface Architecture {
  readonly name: ArchitectureName;
  run(w: Workload, ctx: RunContext): Promise<ArchitectureRun>;
}
