// An in-memory hash-chained ledger for tests and the attack suite: each submitted batch becomes a real
// Block (web/src/core/ledger/block.ts: prevHash chain, RFC 6962 transaction root, state root), executed by
// the contracts. No consensus and no commit certificate (the PBFT subsystem supplies those): this is the
// single-process stand-in a consortium test can drive deterministically.
import type { ApplyResult } from '../app.ts';
import { blockHash, buildBlock, genesisHash, txProof, type Block, type BlockHeader } from '../block.ts';
import { HygeiaContracts, type GenesisOrg } from './contracts.ts';
import { equalBytes } from '../../util/index.ts';

export interface Committed {
  readonly height: number;
  readonly index: number;
  readonly result: ApplyResult;
}

export class LedgerChainError extends Error {
  override readonly name = 'LedgerChainError';
}

export class MemoryLedger {
  readonly blocks: Block[] = [];
  readonly results: ApplyResult[][] = [];
  readonly app: HygeiaContracts;
  private readonly genesis: Uint8Array;

  constructor(readonly orgs: readonly GenesisOrg[]) {
    this.app = new HygeiaContracts(orgs);
    this.genesis = genesisHash(orgs.map((o) => o.adminKey));
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

  /** Orders, executes and chains one block of transactions at `time` (never before the previous block). */
  commit(txs: readonly Uint8Array[], time: number): Committed[] {
    const height = this.blocks.length + 1;
    const t = Math.max(time, this.time);
    const results = txs.map((tx, index) => this.app.apply(tx, { height, index, time: t }));
    const prev = this.blocks.at(-1);
    const block = buildBlock({
      height,
      time: t,
      prevHash: prev === undefined ? this.genesis : blockHash(prev.header),
      txs,
      stateRoot: this.app.stateRoot(),
      certificate: new Uint8Array(0),
    });
    this.blocks.push(block);
    this.results.push(results);
    return results.map((result, index) => ({ height, index, result }));
  }

  /** One transaction in its own block. */
  submit(tx: Uint8Array, time: number): Committed {
    return this.commit([tx], time)[0]!;
  }

  /** Checks the hash chain from genesis and every block's transaction root; throws LedgerChainError. */
  verifyChain(blocks: readonly Block[] = this.blocks): void {
    let prev = this.genesis;
    for (const b of blocks) {
      if (!equalBytes(b.header.prevHash, prev)) throw new LedgerChainError(`block ${b.header.height} does not extend the chain`);
      const rebuilt = buildBlock({ height: b.header.height, time: b.header.time, prevHash: prev, txs: b.txs, stateRoot: b.header.stateRoot, certificate: b.certificate });
      if (!equalBytes(rebuilt.header.txRoot, b.header.txRoot) || rebuilt.header.txCount !== b.header.txCount) {
        throw new LedgerChainError(`block ${b.header.height} transactions do not match its root`);
      }
      prev = blockHash(b.header);
    }
  }

  headerAt(height: number): BlockHeader | undefined {
    return this.blocks[height - 1]?.header;
  }

  /** The inclusion proof of a committed transaction. */
  proof(height: number, index: number): { header: BlockHeader; tx: Uint8Array; path: Uint8Array[] } {
    const b = this.blocks[height - 1];
    if (b === undefined || b.txs[index] === undefined) throw new RangeError('no such transaction');
    return { header: b.header, tx: b.txs[index]!, path: txProof(b, index).path };
  }
}
