// Block attestations: what a light client trusts. A commit certificate covers a batch, not the state it leads
// to (execution comes after commit), so after executing block h every validator of h's epoch signs
//   signingBytes('hygeia/block/attest/v1', fixed32(epochId) ‖ fixed32(blockHash))
// and a quorum of those signatures is the block's attestation certificate. It covers the whole header
// (height, prevHash, txRoot, stateRoot, time, batchDigest), and, by the epoch id, the epoch that certified
// it: a signature from one epoch is never a vote in another.
//
// Wire forms (canonical, ledger/primitives):
//   attestation   uint(epoch) ‖ uint(height) ‖ fixed32(blockHash) ‖ uint(signer) ‖ fixed64(signature)
//   certificate   uint(count) ‖ count × (uint(signer) ‖ fixed64(signature)), signers strictly ascending

import { ed25519Verify } from '../../../../wasm/index.ts';
import { blockHash, type BlockHeader } from './block.ts';
import type { SignatureVerifier } from './certificate.ts';
import { Reader, Writer, signingBytes } from '../codec/index.ts';
import { quorumSize } from './quorum.ts';

export const ATTESTATION_TAG = 'hygeia/block/attest/v1';
const SIG_BYTES = 64;
/** Bound on a certificate's signers (the replica supports at most 64 validators). */
const MAX_SIGNERS = 64;
export const MAX_ATTESTATION_CERTIFICATE_BYTES = 16 + MAX_SIGNERS * (2 + SIG_BYTES);

/** One validator's signature over one block, as it travels on CHANNEL_ATTEST. */
export interface Attestation {
  readonly epoch: number;
  readonly height: number;
  readonly blockHash: Uint8Array;
  /** The signer's index in the epoch's validator list. */
  readonly signer: number;
  readonly signature: Uint8Array;
}

export interface AttestationSignature {
  readonly signer: number;
  readonly signature: Uint8Array;
}

export class AttestationCodecError extends Error {
  override readonly name = 'AttestationCodecError';
  constructor(message: string) {
    super(message);
  }
}

/** The bytes a validator signs to attest block `hash` in the epoch with id `epochId`. */
export function attestationSigningBytes(epochId: Uint8Array, hash: Uint8Array): Uint8Array {
  if (epochId.length !== 32 || hash.length !== 32) throw new AttestationCodecError('an epoch id and a block hash are 32 bytes');
  const body = new Uint8Array(64);
  body.set(epochId, 0);
  body.set(hash, 32);
  return signingBytes(ATTESTATION_TAG, body);
}

export function encodeAttestation(a: Attestation): Uint8Array {
  if (a.blockHash.length !== 32 || a.signature.length !== SIG_BYTES) throw new AttestationCodecError('a block hash is 32 bytes and a signature 64');
  const w = new Writer(128);
  w.uint(a.epoch);
  w.uint(a.height);
  w.fixed(a.blockHash);
  w.uint(a.signer);
  w.fixed(a.signature);
  return w.finish();
}

export function decodeAttestation(bytes: Uint8Array): Attestation {
  const r = new Reader(bytes, 256);
  const a = { epoch: r.uint(), height: r.uint(), blockHash: r.fixed(32), signer: r.uint(MAX_SIGNERS - 1), signature: r.fixed(SIG_BYTES) };
  if (!r.end() || a.height < 1) throw new AttestationCodecError('not an attestation');
  return a;
}

/** The certificate of these signatures (sorted by signer; duplicates are the caller's bug). */
export function encodeAttestationCertificate(signatures: readonly AttestationSignature[]): Uint8Array {
  const sorted = [...signatures].sort((x, y) => x.signer - y.signer);
  for (let i = 1; i < sorted.length; i++) if (sorted[i]!.signer === sorted[i - 1]!.signer) throw new AttestationCodecError('a signer appears twice');
  const w = new Writer(8 + sorted.length * (2 + SIG_BYTES));
  w.list(sorted, (x, s) => {
    x.uint(s.signer);
    x.fixed(s.signature);
  });
  return w.finish();
}

/** The signatures in a certificate, or null if it does not decode canonically (signers strictly ascending). */
export function decodeAttestationCertificate(bytes: Uint8Array): AttestationSignature[] | null {
  const r = new Reader(bytes, MAX_ATTESTATION_CERTIFICATE_BYTES);
  const count = r.uint(MAX_SIGNERS);
  const out: AttestationSignature[] = [];
  for (let i = 0; i < count && r.ok; i++) out.push({ signer: r.uint(MAX_SIGNERS - 1), signature: r.fixed(SIG_BYTES) });
  if (!r.end()) return null;
  for (let i = 1; i < out.length; i++) if (out[i]!.signer <= out[i - 1]!.signer) return null;
  return out;
}

export type AttestationDefect =
  | 'attestation-malformed' // does not decode, or signers not strictly ascending (a repeated signer)
  | 'attestation-unknown-signer' // a signer index outside the epoch's validators
  | 'attestation-short' // fewer than quorumSize(n) signers
  | 'attestation-bad-signature'; // a signature does not verify for this block in this epoch

export type AttestationCheck = { readonly ok: true; readonly hash: Uint8Array } | { readonly ok: false; readonly reason: AttestationDefect };

/**
 * Checks that a quorum of `validators` (the validators of the header's epoch, whose id is `epochId`) attested
 * this header. Nothing else about the header is checked here.
 */
export function verifyAttestation(
  header: BlockHeader,
  certificate: Uint8Array,
  validators: readonly Uint8Array[],
  epochId: Uint8Array,
  verify: SignatureVerifier = ed25519Verify,
): AttestationCheck {
  const sigs = decodeAttestationCertificate(certificate);
  if (!sigs) return { ok: false, reason: 'attestation-malformed' };
  if (sigs.some((s) => s.signer >= validators.length)) return { ok: false, reason: 'attestation-unknown-signer' };
  if (sigs.length < quorumSize(validators.length)) return { ok: false, reason: 'attestation-short' };
  const hash = blockHash(header);
  const msg = attestationSigningBytes(epochId, hash);
  for (const s of sigs) if (!verify(validators[s.signer]!, msg, s.signature)) return { ok: false, reason: 'attestation-bad-signature' };
  return { ok: true, hash };
}
