// A consortium of clinics in one process, for the attack suite and the end-to-end tests: four
// organisations on one in-memory ledger, each with its admin, node, clinician and auditor keys, its own
// encrypted RecordStore and its own verified replica of the ledger. Keys come from a seeded Prng so a run
// replays exactly (test keys only: never derive real keys this way).
import { Ed25519Signer } from '../../../../wasm/index.ts';
import { Prng } from '../util/index.ts';
import { RecordStore } from '../records/index.ts';
import { LedgerReplica, MemoryLedger, TxAuthor, type Committed, type ContractsGenesis } from '../ledger/contracts/index.ts';

export const DAY = 86_400_000;
export const T0 = Date.UTC(2026, 0, 1);

export interface Clinic {
  readonly id: string;
  readonly admin: TxAuthor;
  readonly node: TxAuthor;
  readonly clinician: TxAuthor;
  readonly clinicianId: string;
  readonly auditor: TxAuthor;
  readonly store: RecordStore;
  /** The clinic key its store was opened with (to reopen it, as after a restart). */
  readonly clinicKey: Uint8Array;
  readonly replica: LedgerReplica;
}

export interface EnrolledPatient {
  readonly clinic: Clinic;
  readonly patientId: string;
  readonly pseudonym: string;
  readonly key: TxAuthor;
  readonly guardian: TxAuthor;
}

export class ConsortiumSetupError extends Error {
  override readonly name = 'ConsortiumSetupError';
}

export class Consortium {
  time = T0;
  private constructor(
    readonly ledger: MemoryLedger,
    readonly clinics: Clinic[],
    readonly genesis: ContractsGenesis,
    private readonly prng: Prng,
  ) {}

  static async create(opts: { seed: number; dbPrefix: string; size?: number }): Promise<Consortium> {
    const prng = new Prng(opts.seed);
    const n = opts.size ?? 4;
    const ids = Array.from({ length: n }, (_, i) => `clinic-${String.fromCharCode(97 + i)}`);
    // Transactions expire relative to the consortium's own clock (c.time), set once c exists.
    const clock = { now: (): number => T0 };
    const author = (): TxAuthor => new TxAuthor(new Ed25519Signer(randomKey(prng)), { now: () => clock.now() });
    const admins = ids.map(() => author());
    const genesis: ContractsGenesis = { orgs: ids.map((id, i) => ({ id, name: id, adminKey: admins[i]!.publicKey, validator: true })), checkpointInterval: 16 };
    const ledger = new MemoryLedger(
      genesis,
      admins.map((a) => a.signer),
    );
    const clinics: Clinic[] = [];
    for (let i = 0; i < n; i++) {
      const id = ids[i]!;
      const clinic: Clinic = {
        id,
        admin: admins[i]!,
        node: author(),
        clinician: author(),
        clinicianId: `dr-${id}`,
        auditor: author(),
        clinicKey: randomKey(prng),
        store: undefined as unknown as RecordStore,
        replica: new LedgerReplica(genesis),
      };
      (clinic as { store: RecordStore }).store = await RecordStore.open(`${opts.dbPrefix}-${id}`, clinic.clinicKey);
      clinics.push(clinic);
    }
    const c = new Consortium(ledger, clinics, genesis, prng);
    clock.now = () => c.time;
    for (const cl of clinics) {
      c.must(cl.admin.make('registerKey', { key: cl.node.publicKey, org: cl.id, role: 'node', subject: '' }));
      c.must(cl.admin.make('registerKey', { key: cl.clinician.publicKey, org: cl.id, role: 'clinician', subject: cl.clinicianId }));
      c.must(cl.admin.make('registerKey', { key: cl.auditor.publicKey, org: cl.id, role: 'auditor', subject: '' }));
    }
    return c;
  }

  clinic(id: string): Clinic {
    const c = this.clinics.find((x) => x.id === id);
    if (c === undefined) throw new ConsortiumSetupError('no such clinic');
    return c;
  }

  newKey(): TxAuthor {
    return new TxAuthor(new Ed25519Signer(randomKey(this.prng)), { now: () => this.time });
  }

  /** Commits one transaction in its own block at the consortium's clock, then advances the clock by 1 s. */
  submit(tx: Uint8Array): Committed {
    const r = this.ledger.submit(tx, this.time);
    this.time += 1000;
    return r;
  }

  /** submit() that must succeed (set-up steps). */
  must(tx: Uint8Array): Committed {
    const r = this.submit(tx);
    if (!r.result.ok) throw new ConsortiumSetupError(`set-up transaction rejected: ${r.result.reason}`);
    return r;
  }

  /** Brings every clinic's replica up to the ledger's tip (each checks every block). */
  sync(): void {
    for (const c of this.clinics) c.replica.sync(this.ledger.blocks);
  }

  /** Imports a bundle at `clinic` and enrols its patient: a patient key and a guardian key on the ledger. */
  async enrol(clinic: Clinic, bundle: unknown): Promise<EnrolledPatient> {
    const report = await clinic.store.importBundle(bundle);
    if (report.rejected.length > 0) throw new ConsortiumSetupError('bundle had rejected entries');
    const first = (bundle as { entry: { resource: { resourceType: string; id: string } }[] }).entry.find((e) => e.resource.resourceType === 'Patient');
    if (first === undefined) throw new ConsortiumSetupError('bundle has no Patient');
    const pseudonym = await clinic.store.pseudonym(first.resource.id);
    const key = this.newKey();
    const guardian = this.newKey();
    this.must(clinic.admin.make('registerKey', { key: key.publicKey, org: clinic.id, role: 'patient', subject: pseudonym }));
    this.must(clinic.admin.make('registerKey', { key: guardian.publicKey, org: clinic.id, role: 'guardian', subject: pseudonym }));
    return { clinic, patientId: first.resource.id, pseudonym, key, guardian };
  }

  /** A data-sharing agreement proposed by `a` and, unless `signByB` is false, signed by `b`. */
  agree(a: Clinic, b: Clinic, agreementId: string, purposes: string[], signByB = true): void {
    this.must(a.admin.make('proposeAgreement', { agreementId, orgA: a.id, orgB: b.id, purposes, end: this.time + 365 * DAY, emergency: false }));
    if (signByB) this.must(b.admin.make('signAgreement', { agreementId }));
  }

  close(): void {
    for (const c of this.clinics) c.store.close();
  }
}

function randomKey(prng: Prng): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i += 4) {
    const v = prng.nextU32();
    out[i] = v & 0xff;
    out[i + 1] = (v >>> 8) & 0xff;
    out[i + 2] = (v >>> 16) & 0xff;
    out[i + 3] = v >>> 24;
  }
  return out;
}
