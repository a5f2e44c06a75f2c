// A five-clinic consortium on the in-memory ledger for contract tests of rounds and reports: each clinic's
// admin key signs (admins may act as a clinic's node), one clinician key to try a wrong role. And a closed FL
// round's record as the contracts write it, for tests of what nodes compute from one.
import { Ed25519Signer } from '../../../wasm/index.ts';
import { MemoryLedger, TxAuthor, type FlRoundRecord, type Payload } from '../../../web/src/core/ledger/contracts/index.ts';
import type { ApplyResult } from '../../../web/src/core/ledger/app.ts';
import { Prng } from '../../../web/src/core/util/index.ts';

export const T0 = Date.UTC(2026, 0, 5, 10);

export interface LedgerFixture {
  readonly ledger: MemoryLedger;
  readonly ids: string[];
  readonly admin: Record<string, TxAuthor>;
  readonly clinician: TxAuthor;
  /** Commits one transaction in its own block, `advance` ms after the previous block. */
  submit(tx: Uint8Array, advance?: number): ApplyResult;
  /** Moves the clock the authors sign expiries by (and the next block's time) forward. */
  advance(ms: number): void;
  readonly time: number;
}

let clockOfFixture = T0;
function author(prng: Prng): TxAuthor {
  return new TxAuthor(new Ed25519Signer(prng.bytes(32)), { now: () => clockOfFixture });
}

export function ledgerFixture(seed: number, n = 5): LedgerFixture {
  const prng = new Prng(seed);
  const ids = Array.from({ length: n }, (_, i) => `clinic-${i + 1}`);
  const admin: Record<string, TxAuthor> = {};
  for (const id of ids) admin[id] = author(prng);
  const ledger = new MemoryLedger(
    { orgs: ids.map((id) => ({ id, name: id, adminKey: admin[id]!.publicKey, validator: true })), checkpointInterval: 16 },
    ids.map((id) => admin[id]!.signer),
  );
  const clinician = author(prng);
  let time = T0;
  clockOfFixture = T0;
  const fx: LedgerFixture = {
    ledger,
    ids,
    admin,
    clinician,
    submit(tx, advance = 1000) {
      time += advance;
      clockOfFixture = time;
      return ledger.submit(tx, time).result;
    },
    advance(ms) {
      time += ms;
      clockOfFixture = time;
    },
    get time() {
      return time;
    },
  };
  fx.submit(admin['clinic-1']!.make('registerKey', { key: clinician.publicKey, org: 'clinic-1', role: 'clinician', subject: 'dr-1' }));
  return fx;
}

type RoundParams = Omit<Payload<'flOpenRound'>, 'round' | 'clinics' | 'deadline'>;
const ROUND_DEFAULTS: Omit<RoundParams, 'task' | 'model'> = {
  base: new Uint8Array(32),
  rule: 'trimmed',
  epochs: 1,
  batchSize: 16,
  learningRate: 100_000,
  seed: 1,
  dpClip: 0,
  dpNoise: 0,
  dpDeltaInv: 0,
};

/**
 * Round 1 of a federated task as the contracts record it once closed: clinic-1 of a fresh `clinics`-clinic
 * fixture opens it for every clinic (clinic-1 … clinic-N) with `params` (by default: trimmed mean, one epoch of
 * batches of 16 at learning rate 0.1, seed 1, no DP, an all-zero base digest), nobody answers, and a clinic
 * closes it after its deadline. The record every node hands roundOutcome (and the trainers read their settings from).
 */
export function closedRound(params: Pick<RoundParams, 'task' | 'model'> & Partial<RoundParams>, clinics: number): FlRoundRecord {
  const fx = ledgerFixture(1, clinics);
  const a = fx.admin['clinic-1']!;
  const opened = fx.submit(a.make('flOpenRound', { ...ROUND_DEFAULTS, ...params, round: 1, clinics: fx.ids, deadline: fx.time + 60_000 }));
  const closed = fx.submit(a.make('flCloseRound', { task: params.task, round: 1 }), 120_000);
  if (!opened.ok || !closed.ok) throw new Error(`closedRound: ${JSON.stringify({ opened, closed })}`);
  return fx.ledger.app.fl.round(params.task, 1)!;
}
