// Checks a block, or a transaction's inclusion in one, against nothing but the validator set: no trust in the
// node that sent it. Every failure has a typed reason.

import { verifyCommitCertificate } from '../../../../wasm/index.ts';
import { BLOCK_VERSION, HASH_BYTES, batchDigestOfHashes, blockHash, genesisHash, txHash, txRootOfHashes, type Block, type BlockHeader } from './block.ts';
import { diagnoseCommitCertificate, type CertificateDefect } from './certificate.ts';
import { epochId } from './epoch.ts';
import { verifyMerkleProof } from './merkle.ts';
import { equalBytes } from '../util/index.ts';

export type BlockRejectReason =
  | 'malformed' // wrong version, field sizes, height 0
  | 'tx-count-mismatch' // header.txCount differs from the transactions carried
  | 'tx-root-mismatch' // the transactions do not hash to header.txRoot
  | 'batch-digest-mismatch' // the transactions and time do not hash to header.batchDigest
  | 'genesis-mismatch' // block 1 does not descend from this validator set's genesis
  | 'height-mismatch' // not the successor of the given previous block
  | 'prev-hash-mismatch' // prevHash is not the previous block's hash
  | 'time-regressed' // earlier than the previous block, or not max(previous time, batchTime)
  | 'bad-skip-list' // skipped positions not ascending, or out of range
  | CertificateDefect; // not a quorum of distinct validators' valid commits for (height, batchDigest)

export type BlockCheck = { readonly ok: true; readonly hash: Uint8Array } | { readonly ok: false; readonly reason: BlockRejectReason };

/**
 * Verifies a commit certificate. The default is the replica's own verifier (wasm core): a quorum of commits from
 * distinct validators, each signature valid (over the epoch id and the commit), all for exactly (seq, batchDigest).
 */
export type CertificateVerifier = (certificate: Uint8Array, validators: Uint8Array[], seq: number, batchDigest: Uint8Array, epochId: Uint8Array) => boolean;

export const replicaCertificateVerifier: CertificateVerifier = (c, v, s, d, e) => verifyCommitCertificate(c, v, s, d, e);

export interface VerifyOptions {
  /** The block this one must extend (its header). Without it only the genesis link of block 1 is checked. */
  readonly prev?: BlockHeader;
  readonly verifyCertificate?: CertificateVerifier;
  /**
   * The id of the epoch whose validators certify this block (ledger/epoch.ts). Default: epoch 0 of `validators`,
   * i.e. they are the genesis validators; pass the epoch's id for any later epoch.
   */
  readonly epochId?: Uint8Array;
  /** The chain's genesis hash (block 1's prevHash); default genesisHash(validators). */
  readonly genesisHash?: Uint8Array;
}

/**
 * Verifies a header given only the hashes of its transactions (what a light client downloads) and the
 * commit certificate.
 */
export function verifyHeader(
  header: BlockHeader,
  txHashes: readonly Uint8Array[],
  certificate: Uint8Array,
  validators: readonly Uint8Array[],
  opts: VerifyOptions = {},
): BlockCheck {
  const fail = (reason: BlockRejectReason): BlockCheck => ({ ok: false, reason });
  if (
    header.version !== BLOCK_VERSION ||
    !Number.isSafeInteger(header.height) ||
    header.height < 1 ||
    header.prevHash.length !== HASH_BYTES ||
    header.batchDigest.length !== HASH_BYTES ||
    header.txRoot.length !== HASH_BYTES ||
    header.stateRoot.length !== HASH_BYTES ||
    txHashes.some((h) => h.length !== HASH_BYTES)
  ) {
    return fail('malformed');
  }
  if (header.txCount !== txHashes.length) return fail('tx-count-mismatch');
  for (let i = 0; i < header.skipped.length; i++) {
    const k = header.skipped[i]!;
    if (!Number.isSafeInteger(k) || k >= header.txCount || (i > 0 && k <= header.skipped[i - 1]!)) return fail('bad-skip-list');
  }
  if (header.time < header.batchTime) return fail('time-regressed');
  if (!equalBytes(txRootOfHashes(txHashes), header.txRoot)) return fail('tx-root-mismatch');
  if (!equalBytes(batchDigestOfHashes(header.batchTime, txHashes), header.batchDigest)) return fail('batch-digest-mismatch');
  const genesis = opts.genesisHash ?? genesisHash(validators);
  if (header.height === 1 && !equalBytes(header.prevHash, genesis)) return fail('genesis-mismatch');
  if (opts.prev) {
    if (header.height !== opts.prev.height + 1) return fail('height-mismatch');
    if (!equalBytes(header.prevHash, blockHash(opts.prev))) return fail('prev-hash-mismatch');
    if (header.time !== Math.max(opts.prev.time, header.batchTime)) return fail('time-regressed');
  }
  const verifier = opts.verifyCertificate ?? replicaCertificateVerifier;
  const id = opts.epochId ?? epochId(0, genesis, 0, validators);
  if (!verifier(certificate, [...validators], header.height, header.batchDigest, id)) {
    return fail(diagnoseCommitCertificate(certificate, validators.length, header.height, header.batchDigest));
  }
  return { ok: true, hash: blockHash(header) };
}

/** Verifies a whole block: its transactions against the header, the chain link, and the certificate. */
export function verifyBlock(block: Block, validators: readonly Uint8Array[], opts: VerifyOptions = {}): BlockCheck {
  if (block.txs.length !== block.header.txCount) return { ok: false, reason: 'tx-count-mismatch' };
  return verifyHeader(block.header, block.txs.map(txHash), block.certificate, validators, opts);
}

/** A transaction's inclusion proof: its position and the Merkle audit path over transaction hashes. */
export interface TxProof {
  readonly height: number;
  readonly index: number;
  readonly path: readonly Uint8Array[];
}

/**
 * Checks that `tx` is transaction `proof.index` of the block with this header. The header must itself have
 * been verified (verifyHeader/verifyBlock); this checks only the Merkle path.
 */
export function verifyTxProof(header: BlockHeader, tx: Uint8Array, proof: TxProof): boolean {
  if (proof.height !== header.height) return false;
  return verifyMerkleProof(txHash(tx), proof.index, header.txCount, proof.path, header.txRoot);
}
