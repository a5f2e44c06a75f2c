// The relay as a light client of the ledger that replays it. It starts from the consortium's genesis, takes
// blocks that member nodes push (POST /v1/ledger/blocks), checks each one's commit certificate against the
// validators of its height, re-executes its transactions with the contracts (LedgerReplica) and checks the
// state root; only then does the block count. Who may connect, and as what, is read from this verified state
// alone: the relay never takes a member's word for membership.
//
// The verified state (the contracts' snapshot and the head header) is persisted in one file, written atomically
// (temporary file, then rename), so a restart resumes where it stopped instead of falling back to genesis. The
// file is the relay's own: it is trusted as much as the relay's disk, and checked on load (same chain, state
// root of the snapshot equal to the head's).

import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Reader, Writer } from '../web/src/core/codec/index.ts';
import { clientPayload } from '../web/src/core/consensus/index.ts';
import { blockHash, decodeHeader, encodeHeader, genesisHash, type Block, type BlockHeader } from '../web/src/core/ledger/block.ts';
import type { BlockRejectReason } from '../web/src/core/ledger/verify.ts';
import { LedgerReplica, LedgerReplicaError, type HygeiaContracts } from '../web/src/core/ledger/contracts/index.ts';
import { contractsGenesis, genesisValidators, type Genesis } from '../web/src/core/node/genesis.ts';
import { equalBytes, fromHex, toHex, subscribe } from '../web/src/core/util/index.ts';
import type { Logger } from './log.ts';

/** What a connection may be, as the ledger says. */
export type LedgerRole = 'clinic' | 'patient';

export type LedgerRefusal =
  | 'gap' // the first block is above height + 1: the relay needs the blocks in between
  | BlockRejectReason // the block's own checks (certificate, chain link, roots)
  | 'state-mismatch'; // re-execution gives another state root

export interface AcceptResult {
  /** Blocks applied by this call. */
  readonly accepted: number;
  readonly height: number;
  readonly hash: string;
  /** The first block refused, and why (the blocks before it stay applied). */
  readonly refused: { readonly reason: LedgerRefusal; readonly height: number } | null;
}

const STATE_FILE = 'relay-ledger.bin';
const STATE_VERSION = 1;
const MAX_SNAPSHOT_BYTES = 1 << 30;

/** The role of a key in a verified contracts state, or null if it may not connect. */
function roleOfKey(contracts: HygeiaContracts, publicKeyHex: string): LedgerRole | null {
  if (!/^[0-9a-f]{64}$/.test(publicKeyHex)) return null;
  const key = contracts.key(fromHex(publicKeyHex, 32));
  if (!key || key.revoked) return null;
  const org = contracts.org(key.org) as ({ removed?: boolean } & object) | undefined;
  if (!org || org.removed === true) return null;
  if (key.role === 'admin' || key.role === 'node') return 'clinic';
  if (key.role === 'patient' || key.role === 'guardian') return 'patient';
  return null;
}

export interface RelayLedgerOptions {
  readonly genesis: Genesis;
  /** Where the verified state is kept; null keeps it in memory only (tests). */
  readonly dir: string | null;
  readonly log: Logger;
}

export class RelayLedger {
  private replica: LedgerReplica;
  private head: BlockHeader | null = null;
  private readonly validators: Uint8Array[];
  private readonly genesisId: Uint8Array;
  private readonly listeners = new Set<() => void>();
  private dirty = false;

  private constructor(private readonly opts: RelayLedgerOptions) {
    this.validators = genesisValidators(opts.genesis).map((c) => fromHex(c.nodeKey, 32));
    this.genesisId = genesisHash(this.validators);
    this.replica = this.freshReplica();
  }

  /** Opens the ledger: the persisted verified state if there is one for this chain, else genesis. */
  static open(opts: RelayLedgerOptions): RelayLedger {
    const ledger = new RelayLedger(opts);
    ledger.load();
    return ledger;
  }

  get height(): number {
    return this.head?.height ?? 0;
  }

  /** The head block's hash (the genesis hash at height 0). */
  get headHash(): Uint8Array {
    return this.head ? blockHash(this.head) : this.genesisId;
  }

  get contracts(): HygeiaContracts {
    return this.replica.app;
  }

  roleOf(publicKeyHex: string): LedgerRole | null {
    return roleOfKey(this.replica.app, publicKeyHex);
  }

  /** Called after every call to accept() that applied at least one block. */
  onChange(listener: () => void): () => void {
    return subscribe(this.listeners, listener);
  }

  /**
   * Verifies and applies blocks in height order. Blocks at or below the head are skipped; the first block
   * above it must be its successor. Stops at the first refused block (the ones before it stay applied) and
   * says which and why.
   */
  accept(blocks: readonly Block[]): AcceptResult {
    let accepted = 0;
    let refused: AcceptResult['refused'] = null;
    try {
      for (const block of blocks) {
        const height = block.header.height;
        if (height <= this.height) continue;
        const reason = this.applyNext(block);
        if (reason !== null) {
          refused = { reason, height };
          break;
        }
        this.head = block.header;
        accepted++;
      }
    } finally {
      if (accepted > 0) {
        this.dirty = true;
        this.opts.log.info('ledger advanced', { height: this.height, accepted });
        for (const l of this.listeners) l();
      }
    }
    return { accepted, height: this.height, hash: toHex(this.headHash), refused };
  }

  /**
   * Applies the successor of the head, or says why not. The replica checks it as a clinic's does: the
   * certificate against that height's validators from the relay's own verified state, the chain link, and
   * the state root after re-executing it.
   */
  private applyNext(block: Block): LedgerRefusal | null {
    if (block.header.height !== this.height + 1) return 'gap';
    // The replica undoes a block it refuses; the snapshot also covers a throw it did not foresee, so the
    // state stays what the relay verified.
    const before = this.replica.app.snapshot();
    try {
      this.replica.sync([block]);
      return null;
    } catch (err) {
      this.replica.app.restore(before);
      if (!(err instanceof LedgerReplicaError)) throw err;
      return err.detail === 'state-root' ? 'state-mismatch' : err.detail;
    }
  }

  /** Writes the verified state if it changed since the last write. */
  persist(): void {
    if (!this.dirty || !this.opts.dir) return;
    const snapshot = this.replica.app.snapshot();
    const w = new Writer(snapshot.length + 512);
    w.uint(STATE_VERSION);
    w.str(this.opts.genesis.chainId);
    w.fixed(this.genesisId);
    w.bytes(this.head ? encodeHeader(this.head) : new Uint8Array(0));
    w.bytes(snapshot);
    mkdirSync(this.opts.dir, { recursive: true });
    const path = join(this.opts.dir, STATE_FILE);
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, w.finish(), { mode: 0o600 });
    renameSync(tmp, path);
    this.dirty = false;
  }

  private freshReplica(): LedgerReplica {
    return new LedgerReplica(contractsGenesis(this.opts.genesis), { payloadOf: clientPayload });
  }

  private load(): void {
    if (!this.opts.dir) return;
    const path = join(this.opts.dir, STATE_FILE);
    if (!existsSync(path)) return;
    const r = new Reader(readFileSync(path), MAX_SNAPSHOT_BYTES + 4096);
    const version = r.uint(255);
    const chainId = r.str(64);
    const genesisId = r.fixed(32);
    const headerBytes = r.bytes(1024);
    const snapshot = r.bytes(MAX_SNAPSHOT_BYTES);
    if (!r.end() || version !== STATE_VERSION) {
      this.opts.log.warn('ledger state file unreadable; starting from genesis', { path });
      return;
    }
    if (chainId !== this.opts.genesis.chainId || !equalBytes(genesisId, this.genesisId)) {
      this.opts.log.warn('ledger state file is of another chain; starting from genesis', { path });
      return;
    }
    if (headerBytes.length === 0) return;
    const head = decodeHeader(headerBytes);
    let replica: LedgerReplica;
    try {
      replica = LedgerReplica.resume(contractsGenesis(this.opts.genesis), snapshot, head, { payloadOf: clientPayload });
    } catch {
      this.opts.log.warn('ledger state file does not match its head; starting from genesis', { path });
      return;
    }
    this.replica = replica;
    this.head = head;
    this.opts.log.info('ledger state loaded', { height: head.height });
  }
}
