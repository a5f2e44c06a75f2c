// A five-clinic consortium on the in-memory ledger for contract tests of rounds and reports: each clinic's
// admin key signs (admins may act as a clinic's node), one clinician key to try a wrong role.
import { Ed25519Signer } from '../../../wasm/index.ts';
import { MemoryLedger, TxAuthor } from '../../../web/src/core/ledger/contracts/index.ts';
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
