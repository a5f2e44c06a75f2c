// Blocks: one per executed PBFT sequence number (height = seq, empty batches included, so the chain has no
// gaps and a checkpoint at seq names exactly one block). The header commits to everything; the commit
// certificate (a quorum of signed commits from the replicas, quorumSize(n)) is carried beside it and verified against the
// validator set, so a block can be checked without trusting whoever sent it.
//
// What certifies what:
// - The commit certificate covers (seq, batchDigest), and batchDigest = sha256(uint(batchTime) ‖ uint(count) ‖
//   sha256(tx_1) ‖ … ‖ sha256(tx_n)) covers the proposed time and every transaction (the replica's
//   definition). The block carries the whole ordered batch; `skipped` lists the positions the replica did not
//   execute (a client's request already executed in an earlier batch), and `time` is the time the batch was
//   executed with: max(previous block's time, batchTime), so time never goes backwards.
// - The transaction root is the RFC 6962 Merkle root over the transaction hashes sha256(tx_i), so whoever
//   knows the hashes (a light client) recomputes both batchDigest and txRoot without the transactions.
// - The header's stateRoot is not covered by the commit certificate; the host hands the block hash to the
//   replica as the state digest, so the checkpoint certificate at seq (a quorum of signed checkpoints) covers the
//   block hash, and by the prevHash chain every header before it.
// - The header has no view: replicas may commit one seq in different views (before and after a view
//   change), and their blocks, hashes and checkpoint digests must still be identical.

import { sha256 } from '../../../../wasm/index.ts';
import { Reader, Writer, signingBytes } from '../codec/index.ts';
import { merkleLeafHash, merkleProof, merkleRootOfLeafHashes } from './merkle.ts';
import { ReasonError } from '../util/index.ts';

export const BLOCK_VERSION = 1;
export const HASH_BYTES = 32;
/** Bounds a decoder enforces, so a peer cannot make us allocate without limit. */
export const MAX_BLOCK_BYTES = 64 << 20;
const MAX_TXS_PER_BLOCK = 65_536;
export const MAX_TX_BYTES = 4 << 20;
const MAX_CERTIFICATE_BYTES = 64 * 1024;

export interface BlockHeader {
  readonly version: number;
  /** = the PBFT sequence number; 1 for the first block. */
  readonly height: number;
  /** The execution time, ms since the epoch: max(previous block's time, batchTime). Contracts read this. */
  readonly time: number;
  /** The time the primary proposed (bounded by the backups; 0 for a null batch), covered by batchDigest. */
  readonly batchTime: number;
  /** Hash of the block at height - 1, or the genesis hash for height 1. */
  readonly prevHash: Uint8Array;
  /** The replica's digest of the batch, the value the commit certificate signs. */
  readonly batchDigest: Uint8Array;
  /** Merkle root over sha256 of each transaction. */
  readonly txRoot: Uint8Array;
  readonly txCount: number;
  /** Ascending positions of transactions ordered but not executed (stale duplicates). */
  readonly skipped: readonly number[];
  /** LedgerApp.stateRoot() after applying this block. */
  readonly stateRoot: Uint8Array;
}

export interface Block {
  readonly header: BlockHeader;
  /** The transactions, each a client's signed request bytes, in order. */
  readonly txs: readonly Uint8Array[];
  /** Canonical bytes of the quorum of signed commits (the replica's format). */
  readonly certificate: Uint8Array;
}

export class BlockCodecError extends ReasonError<'malformed' | 'oversize' | 'unknown-version'> {
  override readonly name = 'BlockCodecError';
}

export function encodeHeader(h: BlockHeader): Uint8Array {
  const w = new Writer(256);
  w.uint(h.version);
  w.uint(h.height);
  w.uint(h.time);
  w.uint(h.batchTime);
  w.fixed(check32(h.prevHash));
  w.fixed(check32(h.batchDigest));
  w.fixed(check32(h.txRoot));
  w.uint(h.txCount);
  w.uint(h.skipped.length);
  for (const k of h.skipped) w.uint(k);
  w.fixed(check32(h.stateRoot));
  return w.finish();
}

function readHeader(r: Reader): BlockHeader {
  const version = r.uint();
  const height = r.uint();
  const time = r.uint();
  const batchTime = r.uint();
  const prevHash = r.fixed(HASH_BYTES);
  const batchDigest = r.fixed(HASH_BYTES);
  const txRoot = r.fixed(HASH_BYTES);
  const txCount = r.uint(MAX_TXS_PER_BLOCK);
  const nSkipped = r.uint(txCount);
  const skipped: number[] = [];
  for (let i = 0; i < nSkipped && r.ok; i++) skipped.push(r.uint(MAX_TXS_PER_BLOCK));
  const stateRoot = r.fixed(HASH_BYTES);
  return { version, height, time, batchTime, prevHash, batchDigest, txRoot, txCount, skipped, stateRoot };
}

export function decodeHeader(bytes: Uint8Array): BlockHeader {
  const r = new Reader(bytes, 1024);
  const h = readHeader(r);
  finishRead(r, h.version);
  return h;
}

/** The block's identity: SHA-256 over the domain-separated canonical header. */
export function blockHash(h: BlockHeader): Uint8Array {
  return sha256(signingBytes('hygeia/ledger/block/v1', encodeHeader(h)));
}

/** What block 1's prevHash names: the chain's validator set, so chains of different consortia never mix. */
export function genesisHash(validators: readonly Uint8Array[]): Uint8Array {
  const w = new Writer(16 + validators.length * HASH_BYTES);
  w.uint(validators.length);
  for (const k of validators) w.fixed(check32(k));
  return sha256(signingBytes('hygeia/ledger/genesis/v1', w.finish()));
}

export function encodeBlock(b: Block): Uint8Array {
  const w = new Writer(512);
  w.bytes(encodeHeader(b.header));
  w.uint(b.txs.length);
  for (const tx of b.txs) w.bytes(tx);
  w.bytes(b.certificate);
  return w.finish();
}

/** Decodes a block's canonical bytes; checks shape and bounds only (verifyBlock checks meaning). */
export function decodeBlock(bytes: Uint8Array): Block {
  const r = new Reader(bytes, MAX_BLOCK_BYTES);
  if (!r.ok) throw new BlockCodecError('oversize', 'block larger than the bound');
  const headerBytes = r.bytes(1024);
  const count = r.uint(MAX_TXS_PER_BLOCK);
  const txs: Uint8Array[] = [];
  for (let i = 0; i < count && r.ok; i++) txs.push(r.bytes(MAX_TX_BYTES));
  const certificate = r.bytes(MAX_CERTIFICATE_BYTES);
  if (!r.end()) {
    throw new BlockCodecError(r.error === 'Oversize' ? 'oversize' : 'malformed', `block does not decode (${r.error ?? 'error'})`);
  }
  const header = decodeHeader(headerBytes);
  return { header, txs, certificate };
}

/** sha256(tx): the leaf data of the transaction tree and the batch digest's item. */
export function txHash(tx: Uint8Array): Uint8Array {
  return sha256(tx);
}

/** The Merkle root over transaction hashes. */
export function txRootOfHashes(txHashes: readonly Uint8Array[]): Uint8Array {
  return merkleRootOfLeafHashes(txHashes.map((h) => merkleLeafHash(h)));
}

/** The replica's batch digest: sha256(uint(batchTime) ‖ uint(count) ‖ sha256(tx_1) ‖ … ). */
export function batchDigestOfHashes(time: number, txHashes: readonly Uint8Array[]): Uint8Array {
  const w = new Writer(16 + txHashes.length * HASH_BYTES);
  w.uint(time);
  w.uint(txHashes.length);
  for (const h of txHashes) w.fixed(h);
  return sha256(w.finish());
}

/** Builds the block for an executed batch. */
export function buildBlock(args: {
  height: number;
  time: number;
  /** Defaults to `time`. */
  batchTime?: number;
  prevHash: Uint8Array;
  txs: readonly Uint8Array[];
  skipped?: readonly number[];
  stateRoot: Uint8Array;
  certificate: Uint8Array;
  batchDigest?: Uint8Array;
}): Block {
  const batchTime = args.batchTime ?? args.time;
  const hashes = args.txs.map(txHash);
  const header: BlockHeader = {
    version: BLOCK_VERSION,
    height: args.height,
    time: args.time,
    batchTime,
    prevHash: args.prevHash,
    batchDigest: args.batchDigest ?? batchDigestOfHashes(batchTime, hashes),
    txRoot: txRootOfHashes(hashes),
    txCount: args.txs.length,
    skipped: [...(args.skipped ?? [])],
    stateRoot: args.stateRoot,
  };
  return { header, txs: [...args.txs], certificate: args.certificate };
}

function check32(b: Uint8Array): Uint8Array {
  if (b.length !== HASH_BYTES) throw new BlockCodecError('malformed', 'hashes and keys are 32 bytes');
  return b;
}

function finishRead(r: Reader, version: number): void {
  if (!r.end()) throw new BlockCodecError('malformed', `block header does not decode (${r.error ?? 'error'})`);
  if (version !== BLOCK_VERSION) throw new BlockCodecError('unknown-version', 'unknown block version');
}

/** The inclusion proof of transaction `index` in a block. */
export function txProof(block: Block, index: number): { height: number; index: number; path: Uint8Array[] } {
  return { height: block.header.height, index, path: merkleProof(block.txs.map(txHash), index) };
}
