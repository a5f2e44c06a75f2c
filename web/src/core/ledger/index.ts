export type { ApplyContext, ApplyResult, LedgerApp } from './app.ts';
export { merkleLeafHash, merkleNodeHash, merkleRoot, merkleRootOfLeafHashes, merkleProof, verifyMerkleProof, equalBytes } from './merkle.ts';
