// Where a node keeps its chain: every block, its attestation certificate beside it, and the application
// snapshots taken at stable checkpoints (with the replica's own state and the checkpoint certificate), so a
// restarted node recovers from its own storage and asks peers only for what it missed. Two implementations of one interface: IndexedDB (through idb; the
// browser's, or fake-indexeddb in Node tests) and memory (the simulator).

import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import { blockHash, decodeBlock, encodeBlock, type Block, type BlockHeader } from './block.ts';

/** The state at a stable checkpoint: enough to install it on a replica that fell behind. */
export interface StoredSnapshot {
  /** The checkpoint's sequence number (= block height). */
  readonly seq: number;
  /** The hash of block `seq`: the state digest the checkpoint certificate signs. */
  readonly blockHash: Uint8Array;
  /** LedgerApp.snapshot() after block `seq`. */
  readonly app: Uint8Array;
  /** The replica's own state at the checkpoint (opaque; from its checkpointStable action). */
  readonly replicaState: Uint8Array;
  /** The quorum of signed checkpoints (opaque; from the replica). */
  readonly certificate: Uint8Array;
}

export interface ChainTip {
  readonly height: number;
  readonly hash: Uint8Array;
  readonly header: BlockHeader;
}

export interface LedgerStore {
  putBlock(block: Block): Promise<void>;
  getBlock(height: number): Promise<Block | undefined>;
  /** Blocks with from <= height <= to that are present, in order. */
  getBlocks(from: number, to: number): Promise<Block[]>;
  /** The highest stored block. */
  tip(): Promise<ChainTip | undefined>;
  /** The attestation certificate of block `height` (ledger/attestation.ts), stored beside it. */
  putAttestation(height: number, certificate: Uint8Array): Promise<void>;
  /** The attestation certificates held for heights in [from, to]. */
  getAttestations(from: number, to: number): Promise<Map<number, Uint8Array>>;
  putSnapshot(s: StoredSnapshot): Promise<void>;
  latestSnapshot(): Promise<StoredSnapshot | undefined>;
  getSnapshot(seq: number): Promise<StoredSnapshot | undefined>;
  /** Deletes snapshots older than the newest `keep`. */
  pruneSnapshots(keep: number): Promise<void>;
  close(): void;
}

interface LedgerDB extends DBSchema {
  blocks: { key: number; value: Uint8Array };
  snapshots: { key: number; value: StoredSnapshot };
  attestations: { key: number; value: Uint8Array };
}

export class IdbLedgerStore implements LedgerStore {
  private constructor(private readonly db: IDBPDatabase<LedgerDB>) {}

  /** Opens (creating if needed) the store named `name` in this origin's IndexedDB. */
  static async open(name: string): Promise<IdbLedgerStore> {
    // Version 2 adds the attestation certificates; a version-1 database keeps its blocks and snapshots.
    const db = await openDB<LedgerDB>(name, 2, {
      upgrade(d, oldVersion) {
        if (oldVersion < 1) {
          d.createObjectStore('blocks');
          d.createObjectStore('snapshots');
        }
        if (oldVersion < 2) d.createObjectStore('attestations');
      },
    });
    return new IdbLedgerStore(db);
  }

  async putBlock(block: Block): Promise<void> {
    await this.db.put('blocks', encodeBlock(block), block.header.height);
  }

  async getBlock(height: number): Promise<Block | undefined> {
    const bytes = await this.db.get('blocks', height);
    return bytes ? decodeBlock(new Uint8Array(bytes)) : undefined;
  }

  async getBlocks(from: number, to: number): Promise<Block[]> {
    if (to < from) return [];
    const all = await this.db.getAll('blocks', IDBKeyRange.bound(from, to));
    return all.map((b) => decodeBlock(new Uint8Array(b)));
  }

  async tip(): Promise<ChainTip | undefined> {
    const cursor = await this.db.transaction('blocks').store.openCursor(null, 'prev');
    if (!cursor) return undefined;
    const block = decodeBlock(new Uint8Array(cursor.value));
    return { height: block.header.height, hash: blockHash(block.header), header: block.header };
  }

  async putAttestation(height: number, certificate: Uint8Array): Promise<void> {
    await this.db.put('attestations', certificate, height);
  }

  async getAttestations(from: number, to: number): Promise<Map<number, Uint8Array>> {
    const out = new Map<number, Uint8Array>();
    if (to < from) return out;
    const range = IDBKeyRange.bound(from, to);
    const tx = this.db.transaction('attestations');
    const [keys, values] = await Promise.all([tx.store.getAllKeys(range), tx.store.getAll(range)]);
    keys.forEach((k, i) => out.set(k, new Uint8Array(values[i]!)));
    return out;
  }

  async putSnapshot(s: StoredSnapshot): Promise<void> {
    await this.db.put('snapshots', s, s.seq);
  }

  async latestSnapshot(): Promise<StoredSnapshot | undefined> {
    const cursor = await this.db.transaction('snapshots').store.openCursor(null, 'prev');
    return cursor ? normaliseSnapshot(cursor.value) : undefined;
  }

  async getSnapshot(seq: number): Promise<StoredSnapshot | undefined> {
    const s = await this.db.get('snapshots', seq);
    return s ? normaliseSnapshot(s) : undefined;
  }

  async pruneSnapshots(keep: number): Promise<void> {
    const keys = await this.db.getAllKeys('snapshots');
    const drop = keys.sort((a, b) => a - b).slice(0, Math.max(0, keys.length - keep));
    const tx = this.db.transaction('snapshots', 'readwrite');
    await Promise.all([...drop.map((k) => tx.store.delete(k)), tx.done]);
  }

  close(): void {
    this.db.close();
  }
}

// Structured clone hands back Uint8Arrays in the browser, but be strict about what comes out of storage.
function normaliseSnapshot(s: StoredSnapshot): StoredSnapshot {
  return {
    seq: s.seq,
    blockHash: new Uint8Array(s.blockHash),
    app: new Uint8Array(s.app),
    replicaState: new Uint8Array(s.replicaState),
    certificate: new Uint8Array(s.certificate),
  };
}

/** The same store in memory (simulator, tests). Stores encoded bytes, so it round-trips like the real one. */
export class MemoryLedgerStore implements LedgerStore {
  private readonly blocks = new Map<number, Uint8Array>();
  private readonly snapshots = new Map<number, StoredSnapshot>();
  private readonly attestations = new Map<number, Uint8Array>();

  async putBlock(block: Block): Promise<void> {
    this.blocks.set(block.header.height, encodeBlock(block));
  }
  async putAttestation(height: number, certificate: Uint8Array): Promise<void> {
    this.attestations.set(height, certificate.slice());
  }
  async getAttestations(from: number, to: number): Promise<Map<number, Uint8Array>> {
    const out = new Map<number, Uint8Array>();
    for (const h of [...this.attestations.keys()].sort((a, b) => a - b)) if (h >= from && h <= to) out.set(h, this.attestations.get(h)!.slice());
    return out;
  }
  async getBlock(height: number): Promise<Block | undefined> {
    const b = this.blocks.get(height);
    return b ? decodeBlock(b) : undefined;
  }
  async getBlocks(from: number, to: number): Promise<Block[]> {
    const out: Block[] = [];
    if (to - from > this.blocks.size) {
      for (const h of [...this.blocks.keys()].sort((a, b) => a - b)) if (h >= from && h <= to) out.push(decodeBlock(this.blocks.get(h)!));
      return out;
    }
    for (let h = Math.max(0, from); h <= to; h++) {
      const b = this.blocks.get(h);
      if (b) out.push(decodeBlock(b));
    }
    return out;
  }
  async tip(): Promise<ChainTip | undefined> {
    if (this.blocks.size === 0) return undefined;
    const h = Math.max(...this.blocks.keys());
    const block = decodeBlock(this.blocks.get(h)!);
    return { height: h, hash: blockHash(block.header), header: block.header };
  }
  async putSnapshot(s: StoredSnapshot): Promise<void> {
    this.snapshots.set(s.seq, normaliseSnapshot(s));
  }
  async latestSnapshot(): Promise<StoredSnapshot | undefined> {
    if (this.snapshots.size === 0) return undefined;
    return this.snapshots.get(Math.max(...this.snapshots.keys()));
  }
  async getSnapshot(seq: number): Promise<StoredSnapshot | undefined> {
    return this.snapshots.get(seq);
  }
  async pruneSnapshots(keep: number): Promise<void> {
    const keys = [...this.snapshots.keys()].sort((a, b) => a - b);
    for (const k of keys.slice(0, Math.max(0, keys.length - keep))) this.snapshots.delete(k);
  }
  close(): void {}
}
