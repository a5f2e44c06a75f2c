// A clinic tablet signs as more than one role: its node key is the organisation's admin and validator key;
// its clinician and auditor keys sign access requests and break-glass reviews. They are derived from the
// node's seed (so the vault seals one secret and a reload needs nothing else), domain-separated by role, and
// registered on the ledger by the admin key at first start.
import { Ed25519Signer, sha256 } from '../../../../wasm/index.ts';
import { TxAuthor } from '../ledger/contracts/index.ts';

export type StaffRole = 'clinician' | 'auditor';

export function staffSeed(nodeSeed: Uint8Array, role: StaffRole): Uint8Array {
  const label = new TextEncoder().encode(`hygeia/staff/${role}/v1`);
  const buf = new Uint8Array(label.length + nodeSeed.length);
  buf.set(label);
  buf.set(nodeSeed, label.length);
  const out = sha256(buf);
  buf.fill(0);
  return out;
}

export interface ClinicAuthors {
  /** The node key: admin and validator (anchors, releases, membership, agreements). */
  readonly node: TxAuthor;
  readonly clinician: TxAuthor;
  readonly auditor: TxAuthor;
}

export function clinicAuthors(nodeSeed: Uint8Array, now: () => number): ClinicAuthors {
  const author = (seed: Uint8Array): TxAuthor => new TxAuthor(new Ed25519Signer(seed), { now });
  return { node: author(nodeSeed), clinician: author(staffSeed(nodeSeed, 'clinician')), auditor: author(staffSeed(nodeSeed, 'auditor')) };
}
