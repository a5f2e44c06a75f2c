// What a clinic hands a patient's phone so that the phone can check its own audit trail: the ledger's entries
// about that patient (consents, access decisions, releases) as state leaves, each with a Merkle proof against
// the state root of one attested block header, and the patient's completeness leaf (the list of every entry
// about them) so nothing can be left out unnoticed.
//
//   bundle = uint(version = 1) ‖ bytes(encoded header) ‖ bytes(attestation certificate) ‖ list(leaf)
//   leaf   = str(state key) ‖ bytes(canonical JSON value) ‖ bytes(proof)
//
// The phone trusts nothing in a bundle that it did not verify itself; an entry it could not check is shown,
// marked unverified.
import { Reader, Writer, canonicalBytes, jsonOfBytes } from '../codec/index.ts';

export const PROOF_BUNDLE_VERSION = 1;
const MAX_BUNDLE = 16 << 20;
const MAX_LEAVES = 100_000;

export interface StateLeaf {
  readonly key: string;
  readonly value: unknown;
  /** The Merkle proof of this leaf against the header's state root (empty when the clinic has none). */
  readonly proof: Uint8Array;
}

export interface ProofBundle {
  /** The attested block header the leaves are proven against (empty when unavailable). */
  readonly header: Uint8Array;
  readonly attestation: Uint8Array;
  readonly leaves: StateLeaf[];
}

export class ProofBundleError extends Error {
  override readonly name = 'ProofBundleError';
}

export function encodeProofBundle(b: ProofBundle): Uint8Array {
  const w = new Writer(1024);
  w.uint(PROOF_BUNDLE_VERSION);
  w.bytes(b.header);
  w.bytes(b.attestation);
  w.list(b.leaves, (w, l) => {
    w.str(l.key);
    w.bytes(canonicalBytes(l.value));
    w.bytes(l.proof);
  });
  return w.finish();
}

export function decodeProofBundle(bytes: Uint8Array): ProofBundle {
  const r = new Reader(bytes, MAX_BUNDLE);
  if (r.uint() !== PROOF_BUNDLE_VERSION) throw new ProofBundleError('unknown proof bundle version');
  const header = r.bytes(1 << 16);
  const attestation = r.bytes(1 << 16);
  const raw = r.list(MAX_LEAVES, (r) => ({ key: r.str(512), body: r.bytes(1 << 20), proof: r.bytes(1 << 16) }));
  if (!r.end()) throw new ProofBundleError(`proof bundle does not decode (${r.error ?? 'trailing bytes'})`);
  const leaves = raw.map(({ key, body, proof }): StateLeaf => {
    const value = jsonOfBytes(body);
    if (value === undefined) throw new ProofBundleError('a leaf value is not JSON');
    return { key, value, proof };
  });
  return { header, attestation, leaves };
}
