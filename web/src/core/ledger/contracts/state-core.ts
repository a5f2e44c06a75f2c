// The state every contract rule reads and writes: a map from string keys to plain JSON values. A transaction's
// writes go to a pending layer that is merged only if its rule finishes, so a rejected transaction leaves the
// committed state as it was. Keys are paths ('consent/<id>', 'anchor/<org>/<record>'); the map also indexes
// keys by their directory (everything before the last '/'), so a rule or a read lists one directory without
// scanning the whole state (which holds every anchor).

import type { Tx, TxKind } from './tx.ts';
import type { KeyRecord } from './membership.ts';
import type { FlRejectReason } from './fl.ts';
import type { ReportRejectReason } from './reports.ts';

export type StateValue = unknown;

/** What a rule knows besides its transaction: the state, the authenticated signer, the block it is in. */
export interface RuleContext {
  readonly s: StateCore;
  readonly signer: KeyRecord;
  /** The signer's public key, hex. */
  readonly signerHex: string;
  /** The transaction's id, hex sha256 of its signed body. */
  readonly txId: string;
  /** The block's agreed time (ms): the only clock a rule may read. */
  readonly time: number;
  readonly height: number;
  readonly index: number;
}

type TxOf<K extends TxKind> = Extract<Tx, { kind: K }>;
/** A kind's rule: checks with need() and writes through ctx.s, or throws a ContractRejection. */
export type Rule<K extends TxKind> = (tx: TxOf<K>, ctx: RuleContext) => void;

/** Why a transaction was rejected (it changed nothing). One case style: lower-case words joined by '-'. */
export type TxRejectReason =
  | 'malformed'
  | 'forged-signature'
  | 'unknown-key'
  | 'revoked-key'
  | 'replay'
  | 'expired'
  | 'wrong-role'
  | 'wrong-org'
  | 'wrong-patient'
  | 'unknown-org'
  | 'duplicate'
  | 'bad-period'
  | 'unknown-consent'
  | 'unknown-agreement'
  | 'not-party'
  | 'already-done'
  | 'unknown-request'
  | 'not-holder'
  | 'not-granted'
  | 'stale-version'
  // the transaction's expiry: none (notAfter 0), or further than MAX_TX_LIFETIME_MS after the block time
  | 'no-expiry'
  | 'expiry-too-far'
  | 'org-removed'
  | 'key-taken'
  | 'unknown-proposal'
  | 'last-validator'
  | 'too-many-validators'
  | 'unknown-device'
  | 'permit-revoked'
  // the AI layer's rules (fl.ts, reports.ts)
  | FlRejectReason
  | ReportRejectReason;

export class ContractRejection extends Error {
  override readonly name = 'ContractRejection';
  constructor(readonly reason: TxRejectReason) {
    super(reason);
  }
}

/** Rejects the transaction unless `ok`; an assertion, so what it checks narrows the types after it. */
export function need(ok: unknown, reason: TxRejectReason): asserts ok {
  if (!ok) throw new ContractRejection(reason);
}

/** Identifiers that become part of a state key: no '/', so one id cannot reach into another's directory. */
export const ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
/** Organisation ids: lower-case slugs. */
export const ORG_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** FHIR resource type names. */
export const RESOURCE_TYPE = /^[A-Z][A-Za-z]{1,63}$/;

function dirOf(key: string): string {
  const i = key.lastIndexOf('/');
  return i < 0 ? '' : key.slice(0, i);
}

export class StateCore {
  private committed = new Map<string, StateValue>();
  private readonly dirs = new Map<string, Set<string>>();
  /** Writes of the transaction being applied (undefined = deleted); merged by commit(), dropped by abort(). */
  private pending: Map<string, StateValue | undefined> | null = null;
  /** Keys changed since the last takeChanged() (the state root's incremental work list). */
  private changed = new Set<string>();
  /** While a block is checked: each key's value before the block's first write to it (undefined = absent). */
  private journal: Map<string, StateValue | undefined> | null = null;

  get<T>(key: string): T | undefined {
    if (this.pending?.has(key)) return this.pending.get(key) as T | undefined;
    return this.committed.get(key) as T | undefined;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** Stores a copy, so a caller keeping the object cannot change the state behind the rules' back. */
  put(key: string, value: StateValue): void {
    if (value === undefined) throw new TypeError('use del() to remove a key');
    this.write(key, structuredClone(value));
  }

  del(key: string): void {
    this.write(key, undefined);
  }

  /** The keys directly in `dir` (e.g. 'consent', 'anchor/clinic-a'), pending writes included; unordered. */
  keys(dir: string): string[] {
    const out = new Set(this.dirs.get(dir) ?? []);
    if (this.pending) {
      for (const [k, v] of this.pending) {
        if (dirOf(k) !== dir) continue;
        if (v === undefined) out.delete(k);
        else out.add(k);
      }
    }
    return [...out];
  }

  /** How many keys are directly in `dir` (without listing them when nothing is pending). */
  count(dir: string): number {
    return this.pending ? this.keys(dir).length : (this.dirs.get(dir)?.size ?? 0);
  }

  /** The values directly in `dir`, in key order. */
  list<T>(dir: string): T[] {
    return this.keys(dir)
      .sort()
      .map((k) => this.get<T>(k)!);
  }

  /** Starts a transaction's write layer. */
  begin(): void {
    this.pending = new Map();
  }

  commit(): void {
    const p = this.pending;
    this.pending = null;
    if (p) for (const [k, v] of p) this.apply(k, v);
  }

  abort(): void {
    this.pending = null;
  }

  /** Writes outside any transaction (genesis, housekeeping between transactions). */
  private write(key: string, value: StateValue | undefined): void {
    if (this.pending) this.pending.set(key, value);
    else this.apply(key, value);
  }

  private apply(key: string, value: StateValue | undefined): void {
    if (this.journal !== null && !this.journal.has(key)) this.journal.set(key, this.committed.get(key));
    const dir = dirOf(key);
    if (value === undefined) {
      if (!this.committed.delete(key)) return;
      const set = this.dirs.get(dir);
      set?.delete(key);
      if (set?.size === 0) this.dirs.delete(dir);
    } else {
      this.committed.set(key, value);
      let set = this.dirs.get(dir);
      if (!set) this.dirs.set(dir, (set = new Set()));
      set.add(key);
    }
    this.changed.add(key);
  }

  /** Starts remembering committed writes, so a whole block can be undone (rollbackJournal). */
  beginJournal(): void {
    this.journal = new Map();
  }

  endJournal(): void {
    this.journal = null;
  }

  /** Undoes every committed write since beginJournal(). */
  rollbackJournal(): void {
    const j = this.journal;
    this.journal = null;
    this.pending = null;
    if (j) for (const [k, v] of j) this.apply(k, v);
  }

  /** The keys changed since the previous call, and forgets them. */
  takeChanged(): string[] {
    const out = [...this.changed];
    this.changed = new Set();
    return out;
  }

  /** Replaces the committed state (a restored snapshot); every key counts as changed. */
  replace(entries: Iterable<[string, StateValue]>): void {
    this.committed = new Map();
    this.dirs.clear();
    this.pending = null;
    this.journal = null;
    this.changed = new Set();
    for (const [k, v] of entries) this.apply(k, v);
  }
}
