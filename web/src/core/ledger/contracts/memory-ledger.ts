// An in-memory ledger for tests and the attack suite: each submitted batch becomes a real Block
// (web/src/core/ledger/block.ts: prevHash chain, transaction root, state root, batch digest) executed by the
// contracts, with a real commit certificate: the validators of that height (the contracts' epoch rule) sign
// commits in the wasm replica's wire format (uint(count) ‖ count × bytes(uint(4) ‖ bytes(sender ‖ view ‖ seq
// ‖ batchDigest) ‖ sig), signed over signingBytes('hygeia/pbft/commit/v1', epochId ‖ body)). So a
// LedgerReplica checks these blocks exactly as it checks PBFT's. No consensus: one process orders everything.
import type { ApplyResult } from '../app.ts';
import { blockHash, buildBlock, genesisHash, type Block, type BlockHeader } from '../block.ts';
import { epochForHeight } from '../epoch.ts';
import { quorumSize } from '../quorum.ts';
import { writeCommitCertificate } from '../certificate.ts';
import { HygeiaContracts, type ContractsGenesis } from './contracts.ts';
import type { TxSigner } from './tx.ts';
import { toHex } from '../../util/index.ts';

export interface Committed {
  readonly height: number;
  readonly index: number;
  readonly result: ApplyResult;
}

export class LedgerChainError extends Error {
  override readonly name = 'LedgerChainError';
}

/** A commit certificate for (seq, batchDigest) signed by the first quorum of `validators` (view 0) in epoch `epochId`. */
function commitCertificate(validators: readonly Uint8Array[], epochId: Uint8Array, signers: ReadonlyMap<string, TxSigner>, seq: number, batchDigest: Uint8Array): Uint8Array {
  const quorum = validators.slice(0, quorumSize(validators.length)).map((key, sender) => {
    const signer = signers.get(toHex(key));
    if (signer === undefined) throw new LedgerChainError(`no signer for validator ${sender} of block ${seq}`);
    return signer;
  });
  return writeCommitCertificate(quorum, seq, batchDigest, epochId);
}

export class MemoryLedger {
  readonly blocks: Block[] = [];
  readonly results: ApplyResult[][] = [];
  readonly app: HygeiaContracts;
  private readonly genesis: Uint8Array;
  private readonly signers = new Map<string, TxSigner>();

  /** `validatorSigners`: the validators' signing keys (genesis validators, and any admitted later). */
  constructor(
    readonly contractsGenesis: ContractsGenesis,
    validatorSigners: readonly TxSigner[],
  ) {
    this.app = new HygeiaContracts(contractsGenesis);
    for (const s of validatorSigners) this.addValidatorSigner(s);
    this.genesis = genesisHash(this.app.validatorSchedule().validators);
  }

  /** A validator admitted on the ledger signs the blocks of its epochs. */
  addValidatorSigner(s: TxSigner): void {
    this.signers.set(toHex(s.publicKey), s);
  }

  get height(): number {
    return this.blocks.length;
  }
  get time(): number {
    return this.blocks.at(-1)?.header.time ?? 0;
  }
  get genesisHash(): Uint8Array {
    return this.genesis;
  }

  /** Orders, executes, certifies and chains one block of transactions at `time` (never before the previous block). */
  commit(txs: readonly Uint8Array[], time: number): Committed[] {
    const height = this.blocks.length + 1;
    const epoch = epochForHeight(height, this.contractsGenesis.checkpointInterval, this.app.validatorSchedule(), this.genesis);
    const t = Math.max(time, this.time);
    const results = txs.map((tx, index) => this.app.apply(tx, { height, index, time: t }));
    const prev = this.blocks.at(-1);
    const unsigned = buildBlock({
      height,
      time: t,
      prevHash: prev === undefined ? this.genesis : blockHash(prev.header),
      txs,
      stateRoot: this.app.stateRoot(),
      certificate: new Uint8Array(0),
    });
    const block = { ...unsigned, certificate: commitCertificate(epoch.validators, epoch.id, this.signers, height, unsigned.header.batchDigest) };
    this.blocks.push(block);
    this.results.push(results);
    return results.map((result, index) => ({ height, index, result }));
  }

  /** One transaction in its own block. */
  submit(tx: Uint8Array, time: number): Committed {
    return this.commit([tx], time)[0]!;
  }

  headerAt(height: number): BlockHeader | undefined {
    return this.blocks[height - 1]?.header;
  }
}
