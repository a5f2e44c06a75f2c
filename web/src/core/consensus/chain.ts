// The chain as one node holds it: the tip the app is at, the recent blocks in memory (to serve peers without
// touching storage), their attestation certificates, the snapshots at stable checkpoints, and one ordered
// queue of writes to the LedgerStore. Nothing here waits on storage: writes go behind, in order, and
// `flushed()` says when they are done.

import { blockHash, type Block, type BlockHeader, type LedgerStore, type StoredSnapshot } from '../ledger/index.ts';

export interface Tip {
  readonly height: number;
  readonly hash: Uint8Array;
  readonly header: BlockHeader | null;
}

export class LocalChain {
  /** The block the app's state is after. */
  tip: Tip;
  private readonly blocks = new Map<number, Block>();
  private readonly attestations = new Map<number, Uint8Array>();
  private readonly snapshots = new Map<number, StoredSnapshot>();
  private persist: Promise<void> = Promise.resolve();

  constructor(
    readonly store: LedgerStore,
    genesis: Uint8Array,
    readonly retainBlocks: number,
    private readonly retainSnapshots: number,
    private readonly onStorageError: (message: string) => void,
  ) {
    this.tip = { height: 0, hash: genesis, header: null };
  }

  block(height: number): Block | undefined {
    return this.blocks.get(height);
  }

  hashAt(height: number): Uint8Array | undefined {
    if (height === this.tip.height) return this.tip.hash;
    const b = this.blocks.get(height);
    return b ? blockHash(b.header) : undefined;
  }

  attestation(height: number): Uint8Array | undefined {
    return this.attestations.get(height);
  }

  snapshot(seq: number): StoredSnapshot | undefined {
    return this.snapshots.get(seq);
  }

  latestSnapshot(): StoredSnapshot | undefined {
    let best: StoredSnapshot | undefined;
    for (const s of this.snapshots.values()) if (!best || s.seq > best.seq) best = s;
    return best;
  }

  /** A block executed here: it becomes the tip and is stored. */
  append(block: Block, hash: Uint8Array): void {
    this.tip = { height: block.header.height, hash, header: block.header };
    this.remember(block);
    this.write((s) => s.putBlock(block));
  }

  /** Moves the tip to a verified block without executing it (a state install). */
  setTip(block: Block, hash: Uint8Array): void {
    this.tip = { height: block.header.height, hash, header: block.header };
    if (!this.blocks.has(block.header.height)) this.remember(block);
  }

  /** Verified history (below the tip, or between it and an installed checkpoint): kept and stored. */
  addHistory(block: Block): void {
    this.remember(block);
    this.write((s) => s.putBlock(block));
  }

  /** Holds a block in memory only (it is already in the store: resume). */
  hold(block: Block): void {
    this.remember(block);
  }

  putAttestation(height: number, certificate: Uint8Array): void {
    this.attestations.set(height, certificate);
    this.trim(this.attestations);
    this.write((s) => s.putAttestation(height, certificate));
  }

  holdAttestation(height: number, certificate: Uint8Array): void {
    this.attestations.set(height, certificate);
    this.trim(this.attestations);
  }

  keepSnapshot(s: StoredSnapshot, persist = true): void {
    this.snapshots.set(s.seq, s);
    const keys = [...this.snapshots.keys()].sort((x, y) => x - y);
    for (const k of keys.slice(0, Math.max(0, keys.length - this.retainSnapshots))) this.snapshots.delete(k);
    if (!persist) return;
    this.write(async (st) => {
      await st.putSnapshot(s);
      await st.pruneSnapshots(this.retainSnapshots);
    });
  }

  /** The contiguous run of blocks held in memory that ends at `to`, not below `from`. */
  heldRun(from: number, to: number): Block[] {
    const run: Block[] = [];
    for (let h = to; h >= from; h--) {
      const b = this.blocks.get(h);
      if (!b) break;
      run.push(b);
    }
    return run.reverse();
  }

  /** Blocks [from, to] from the store (what it holds of them, in order), after the writes issued so far. */
  async storedBlocks(from: number, to: number): Promise<Block[]> {
    if (to < from) return [];
    await this.persist;
    return this.store.getBlocks(from, to);
  }

  /** Attestation certificates for [from, to] from the store, after the writes issued so far. */
  async storedAttestations(from: number, to: number): Promise<Map<number, Uint8Array>> {
    if (to < from) return new Map();
    await this.persist;
    return this.store.getAttestations(from, to);
  }

  write(op: (s: LedgerStore) => Promise<void>): void {
    this.persist = this.persist.then(() => op(this.store)).catch((e: unknown) => this.onStorageError(e instanceof Error ? e.name : 'storage write failed'));
  }

  flushed(): Promise<void> {
    return this.persist;
  }

  private remember(block: Block): void {
    this.blocks.set(block.header.height, block);
    this.trim(this.blocks);
  }

  /** Evicts the lowest heights beyond the bound (history is in the store). */
  private trim(m: Map<number, unknown>): void {
    if (m.size <= this.retainBlocks) return;
    const heights = [...m.keys()].sort((a, b) => a - b);
    // Evict a little more than needed, so the sort runs once per many insertions, not on every one.
    const drop = m.size - this.retainBlocks + Math.ceil(this.retainBlocks / 16);
    for (const h of heights.slice(0, drop)) m.delete(h);
  }
}
