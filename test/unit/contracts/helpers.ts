// Shared set-up for the contracts tests: seeded keys, a MemoryLedger whose blocks carry real commit
// certificates, and a clock the transactions' expiries follow.
import { Ed25519Signer } from '../../../wasm/index.ts';
import { blockHash } from '../../../web/src/core/ledger/index.ts';
import { MemoryLedger, TxAuthor, type ContractsGenesis, type GenesisAgreement, type Payload } from '../../../web/src/core/ledger/contracts/index.ts';
import { Prng } from '../../../web/src/core/util/index.ts';
export { ReleaseError, auditTrail, releaseRecords, verifyAuditEntry } from '../../../web/src/core/ledger/contracts/index.ts';

export const DAY = 86_400_000;
export const T0 = Date.UTC(2026, 0, 1);

/** The hash of the block at `height`, as a light client would hold it. */
export function blockHashOf(ledger: MemoryLedger, height: number): Uint8Array {
  const h = ledger.headerAt(height);
  if (h === undefined) throw new RangeError('no such block');
  return blockHash(h);
}

export interface Setup {
  prng: Prng;
  clock: { time: number };
  /** A fresh key whose transactions expire relative to the clock. */
  author(): TxAuthor;
  admins: TxAuthor[];
  genesis: ContractsGenesis;
  ledger: MemoryLedger;
  /** Commits one transaction in its own block at the clock's time, then moves the clock 1 s on. */
  submit(tx: Uint8Array): { ok: true } | { ok: false; reason: string };
  /** org-0's patient key for pseudonym 'pseudo-1' and org-1's clinician 'dr-1'. */
  patient: TxAuthor;
  clinician: TxAuthor;
}

export function setup(seed: number, opts: { orgs?: number; validators?: number; agreements?: GenesisAgreement[]; checkpointInterval?: number } = {}): Setup {
  const prng = new Prng(seed);
  const clock = { time: T0 };
  const author = (): TxAuthor => new TxAuthor(new Ed25519Signer(prng.bytes(32)), { now: () => clock.time });
  const n = opts.orgs ?? 4;
  const admins = Array.from({ length: n }, () => author());
  const genesis: ContractsGenesis = {
    orgs: admins.map((a, i) => ({ id: `org-${i}`, name: `Clinic ${i}`, adminKey: a.publicKey, validator: i < (opts.validators ?? n) })),
    agreements: opts.agreements ?? [],
    checkpointInterval: opts.checkpointInterval ?? 4,
  };
  const ledger = new MemoryLedger(
    genesis,
    admins.map((a) => a.signer),
  );
  const submit = (tx: Uint8Array) => {
    const r = ledger.submit(tx, clock.time).result;
    clock.time += 1000;
    return r as { ok: true } | { ok: false; reason: string };
  };
  const patient = author();
  const clinician = author();
  const must = (tx: Uint8Array): void => {
    const r = submit(tx);
    if (!r.ok) throw new Error(`set-up transaction rejected: ${r.reason}`);
  };
  must(admins[0]!.make('registerKey', { key: patient.publicKey, org: 'org-0', role: 'patient', subject: 'pseudo-1' }));
  must(admins[1]!.make('registerKey', { key: clinician.publicKey, org: 'org-1', role: 'clinician', subject: 'dr-1' }));
  return { prng, clock, author, admins, genesis, ledger, submit, patient, clinician };
}

/** A consent grant from `patient` (defaults: org-1, TREAT, Condition, 30 days from the clock). */
export function grant(s: Setup, over: Partial<Payload<'grantConsent'>> = {}): Payload<'grantConsent'> {
  return {
    consentId: 'c1',
    patient: 'pseudo-1',
    granteeOrg: 'org-1',
    granteePractitioner: '',
    purpose: 'TREAT',
    resourceTypes: ['Condition'],
    start: s.clock.time,
    end: s.clock.time + 30 * DAY,
    ...over,
  };
}

/** An access request by org-1 at org-0 for pseudo-1 (defaults: TREAT, Condition, no break-glass). */
export function request(over: Partial<Payload<'requestAccess'>> = {}): Payload<'requestAccess'> {
  return {
    requestId: 'r1',
    requesterOrg: 'org-1',
    holderOrg: 'org-0',
    patient: 'pseudo-1',
    resourceTypes: ['Condition'],
    purpose: 'TREAT',
    breakGlass: false,
    emergencyReason: '',
    ...over,
  };
}

/** A TREAT agreement between org-0 and org-1 from genesis. */
export const TREAT_01: GenesisAgreement = { agreementId: 'treat-01', orgA: 'org-0', orgB: 'org-1', purposes: ['TREAT'], start: 0, end: T0 + 3650 * DAY };
