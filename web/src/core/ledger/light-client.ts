// What a patient's phone runs: it holds the validator set (from genesis or a verified reconfiguration) and
// accepts a block header only with a valid commit certificate; then it checks that a transaction is in that
// block with a Merkle proof. It never trusts the node it talks to: a node can withhold, not forge.

import { blockHash, txHash, type Block, type BlockHeader } from './block.ts';
import { verifyCheckpointCertificate, type CheckpointCheck, type SignatureVerifier } from './certificate.ts';
import { verifyHeader, verifyTxProof, type BlockCheck, type CertificateVerifier, type TxProof } from './verify.ts';
import { equalBytes } from '../util/index.ts';

export type TxCheck =
  | { readonly ok: true; readonly header: BlockHeader }
  | { readonly ok: false; readonly reason: 'unknown-block' | 'proof-mismatch' };

export class LightClient {
  private readonly validators: Uint8Array[];
  private readonly headers = new Map<number, BlockHeader>();
  private readonly certified = new Set<number>();

  constructor(
    validators: readonly Uint8Array[],
    private readonly opts: { verifyCertificate?: CertificateVerifier; verifySignature?: SignatureVerifier; maxHeaders?: number } = {},
  ) {
    if (validators.length < 1 || validators.some((k) => k.length !== 32)) {
      throw new RangeError('a validator set is one or more 32-byte Ed25519 public keys');
    }
    this.validators = validators.map((k) => k.slice());
  }

  /**
   * Verifies and remembers a header, given its transactions' hashes and its commit certificate (what a node
   * serves a light client: a header, 32 bytes per transaction, and the certificate). If the previous header
   * is known, the chain link is checked too.
   */
  acceptHeader(header: BlockHeader, txHashes: readonly Uint8Array[], certificate: Uint8Array): BlockCheck {
    const prev = this.headers.get(header.height - 1);
    const check = verifyHeader(header, txHashes, certificate, this.validators, {
      ...(prev ? { prev } : {}),
      ...(this.opts.verifyCertificate ? { verifyCertificate: this.opts.verifyCertificate } : {}),
    });
    if (check.ok) {
      this.headers.set(header.height, header);
      const max = this.opts.maxHeaders ?? 10_000;
      if (this.headers.size > max) this.headers.delete(Math.min(...this.headers.keys()));
    }
    return check;
  }

  /** Verifies and remembers a whole block. */
  acceptBlock(block: Block): BlockCheck {
    if (block.txs.length !== block.header.txCount) return { ok: false, reason: 'tx-count-mismatch' };
    return this.acceptHeader(block.header, block.txs.map(txHash), block.certificate);
  }

  /**
   * The verified header at `height`, if accepted. Its transactions, time and position are certified by the
   * commit certificate; its stateRoot (and prevHash, for a block whose predecessor was not accepted) only by a
   * checkpoint certificate over it or a later block hash (acceptCheckpoint, certifiedStateRoot).
   */
  header(height: number): BlockHeader | undefined {
    return this.headers.get(height);
  }

  /**
   * Accepts a checkpoint certificate for an accepted header: 2f+1 validators signed that the state after that
   * height has the header's hash as digest. The header's state root is then certified, and so is every
   * accepted header below it that links to it by prevHash.
   */
  acceptCheckpoint(height: number, certificate: Uint8Array): CheckpointCheck | { ok: false; reason: 'unknown-block' | 'no-signature-verifier' } {
    const header = this.headers.get(height);
    if (!header) return { ok: false, reason: 'unknown-block' };
    if (!this.opts.verifySignature) return { ok: false, reason: 'no-signature-verifier' };
    const check = verifyCheckpointCertificate(certificate, this.validators, height, blockHash(header), this.opts.verifySignature);
    if (!check.ok) return check;
    this.certified.add(height);
    for (let h = height - 1; ; h--) {
      const below = this.headers.get(h);
      const above = this.headers.get(h + 1)!;
      if (!below || this.certified.has(h) || !equalBytes(blockHash(below), above.prevHash)) break;
      this.certified.add(h);
    }
    return check;
  }

  /** The state root after `height`, only if a checkpoint certificate covers that header. */
  certifiedStateRoot(height: number): Uint8Array | undefined {
    return this.certified.has(height) ? this.headers.get(height)?.stateRoot : undefined;
  }

  /** Checks that `tx` is in an accepted block, at the position the proof names. */
  verifyTransaction(tx: Uint8Array, proof: TxProof): TxCheck {
    const header = this.headers.get(proof.height);
    if (!header) return { ok: false, reason: 'unknown-block' };
    return verifyTxProof(header, tx, proof) ? { ok: true, header } : { ok: false, reason: 'proof-mismatch' };
  }
}
