export type { ApplyContext, ApplyResult, LedgerApp } from './app.ts';
export {
  ATTESTATION_TAG,
  MAX_ATTESTATION_CERTIFICATE_BYTES,
  AttestationCodecError,
  attestationSigningBytes,
  decodeAttestation,
  decodeAttestationCertificate,
  encodeAttestation,
  encodeAttestationCertificate,
  verifyAttestation,
} from './attestation.ts';
export type { Attestation, AttestationCheck, AttestationDefect, AttestationSignature } from './attestation.ts';
export { EpochError, EpochHistory, certifyingBlock, checkSchedule, effectiveSchedule, epochForHeight, epochId, genesisEpoch, validatorsForHeight } from './epoch.ts';
export type { Epoch, ValidatorSchedule } from './epoch.ts';
export { faultsTolerated, quorumSize } from './quorum.ts';
export { merkleLeafHash, merkleNodeHash, merkleRoot, merkleRootOfLeafHashes, merkleProof, verifyMerkleProof } from './merkle.ts';
export {
  BLOCK_VERSION,
  BlockCodecError,
  batchDigestOfHashes,
  blockHash,
  buildBlock,
  decodeBlock,
  decodeHeader,
  encodeBlock,
  encodeHeader,
  genesisHash,
  txHash,
  txProof,
  txRootOfHashes,
} from './block.ts';
export type { Block, BlockHeader } from './block.ts';
export { verifyBlock, verifyHeader, verifyTxProof, replicaCertificateVerifier } from './verify.ts';
export type { BlockCheck, BlockRejectReason, CertificateVerifier, TxProof, VerifyOptions } from './verify.ts';
export { IdbLedgerStore, MemoryLedgerStore } from './store.ts';
export type { ChainTip, LedgerStore, StoredSnapshot } from './store.ts';
export { LightClient } from './light-client.ts';
export type { TxCheck } from './light-client.ts';
export { checkpointReplicaDigest, diagnoseCommitCertificate, readCommitCertificate, verifyCheckpointCertificate, writeCommitCertificate } from './certificate.ts';
export type { CertificateDefect, CheckpointCheck, CommitVote, SignatureVerifier } from './certificate.ts';
