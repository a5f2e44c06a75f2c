// A clinic tablet signs as more than one role: its node key is the organisation's admin and validator key;
// its clinician and auditor keys sign access requests and break-glass reviews. They are derived from the
// node's seed (so the vault seals one secret and a reload needs nothing else), domain-separated by role, and
// registered on the ledger by the admin key at first start.
import { Ed25519Signer, sha256 } from '../../../../wasm/index.ts';
import { TxAuthor } from '../ledger/contracts/index.ts';

export type StaffRole = 'clinician' | 'auditor';

/** sha256(label ‖ seed): a secret of its own for each label, from one seed (the copy is wiped after). */
export function deriveSecret(label: string, seed: Uint8Array): Uint8Array {
  const l = new TextEncoder().encode(label);
  const buf = new Uint8Array(l.length + seed.length);
  buf.set(l);
  buf.set(seed, l.length);
  const out = sha256(buf);
  buf.fill(0);
  return out;
}

function staffSeed(nodeSeed: Uint8Array, role: StaffRole): Uint8Array {
  return deriveSecret(`hygeia/staff/${role}/v1`, nodeSeed);
}

export interface ClinicAuthors {
  /** The node key: admin and validator (anchors, releases, membership, agreements). */
  readonly node: TxAuthor;
  readonly clinician: TxAuthor;
  readonly auditor: TxAuthor;
}

export function clinicAuthors(nodeSeed: Uint8Array, now: () => number): ClinicAuthors {
  const author = (seed: Uint8Array): TxAuthor => new TxAuthor(new Ed25519Signer(seed), { now });
  // The signer keeps its own copy; the derived seeds are wiped here.
  const derived = (role: StaffRole): TxAuthor => {
    const seed = staffSeed(nodeSeed, role);
    try {
      return author(seed);
    } finally {
      seed.fill(0);
    }
  };
  return { node: author(nodeSeed), clinician: derived('clinician'), auditor: derived('auditor') };
}
