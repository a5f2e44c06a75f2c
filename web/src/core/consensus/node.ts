// The host adapter: drives one sans-IO PBFT replica with a Transport (peer messages), a Clock (its two
// timers), a LedgerApp (executes committed batches), and a LedgerStore (blocks and checkpoint snapshots).
// The same code runs in Node and the browser, under the simulator's virtual clock or Date.now.
//
// Everything on the hot path is synchronous (so a virtual-clock run is deterministic); storage writes go
// behind, in order, and a restarted node recovers what reached the store, then catches up by state transfer.
// The state digest the host hands the replica for seq is the hash of block seq, so a checkpoint certificate
// certifies the whole chain up to it, and state transfer can verify blocks and snapshots against it.

import { decodeClientRequest, type ReplicaAction, type ReplicaEvent, type TimerKind } from '../../../../wasm/index.ts';
import type { LedgerApp } from '../ledger/app.ts';
import { blockHash, buildBlock, decodeBlock, encodeBlock, genesisHash, type Block, type BlockHeader } from '../ledger/block.ts';
import { equalBytes, toHex } from '../util/index.ts';
import type { LedgerStore, StoredSnapshot } from '../ledger/store.ts';
import { verifyBlock, type CertificateVerifier } from '../ledger/verify.ts';
import type { PeerId, Transport } from '../net/transport.ts';
import {
  CHANNEL_PBFT,
  CHANNEL_STATE,
  MAX_BLOCKS_PER_REPLY,
  decodeStateMessage,
  encodeStateMessage,
  frame,
  type StateReply,
  type StateRequest,
} from './frames.ts';

/** Time and timers: `Date.now`/`setTimeout` in real use, the simulator's VirtualClock in tests. */
export interface Clock {
  now(): number;
  /** Runs fn after delayMs; the returned function cancels it. */
  schedule(delayMs: number, fn: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  schedule(delayMs, fn) {
    const t = setTimeout(fn, delayMs);
    return () => clearTimeout(t);
  },
};

/** What the node needs of a replica (the wasm Replica class satisfies it). */
export interface ReplicaLike {
  step(event: ReplicaEvent): ReplicaAction[];
  readonly view: number;
  readonly primary: number;
  readonly lastExecuted: number;
  dispose(): void;
}

export interface TimerPolicy {
  /** How long the primary waits to fill a batch. */
  readonly batchMs: number;
  /** View-change timeout for attempt 0; attempt k waits base * 2^k ... */
  readonly viewChangeBaseMs: number;
  /** ... capped here. */
  readonly viewChangeMaxMs: number;
  /** How long to wait for a state-transfer reply before asking the next peer. */
  readonly stateTransferMs: number;
}

export const DEFAULT_TIMERS: TimerPolicy = { batchMs: 2, viewChangeBaseMs: 500, viewChangeMaxMs: 16_000, stateTransferMs: 1_000 };

/** Turns a transaction (the request payload) into what the app applies; the default is decodeClientRequest. */
export type PayloadOf = (request: Uint8Array) => Uint8Array | null;

export type ConsensusEvent =
  | { kind: 'committed'; block: Block; hash: Uint8Array }
  | { kind: 'rejected'; reason: string; from: number }
  | { kind: 'viewChanged'; view: number; primary: number }
  | { kind: 'checkpointStable'; seq: number }
  | { kind: 'stateInstalled'; seq: number; fetchedBlocks: number; fromPeer: number | null }
  | { kind: 'stateTransferRejected'; reason: StateTransferRejectReason; from: number; detail?: string }
  | { kind: 'storageError'; message: string }
  /** The blocks below an installed checkpoint are all held again, down to `down` (1: the whole chain). */
  | { kind: 'historyFilled'; down: number }
  /** The replica executed a seq that does not follow the host's height: an invariant broke. */
  | { kind: 'outOfOrder'; seq: number; height: number }
  | { kind: 'txRejected'; height: number; index: number; reason: string };

export type StateTransferRejectReason =
  | 'malformed' // the reply does not decode
  | 'unsolicited' // no request with this id to this peer is outstanding
  | 'missing-target' // the reply lacks the block at the target seq or its snapshot
  | 'digest-mismatch' // the target block's hash is not the proven checkpoint digest
  | 'chain-broken' // a block does not link to the next one by hash
  | 'block-invalid' // a block fails verifyBlock (certificate, roots)
  | 'state-root-mismatch' // the snapshot does not produce the block's state root
  | 'replica-refused' // the replica state sent with it does not match the checkpoint's proof
  | 'rate-limited'; // a peer asked again too soon (its request was not answered)

export interface ConsensusNodeOptions {
  /** Validator public keys in genesis order (replica index = position). */
  readonly validators: Uint8Array[];
  readonly self: number;
  readonly replica: ReplicaLike;
  readonly transport: Transport;
  readonly clock: Clock;
  readonly app: LedgerApp;
  readonly store: LedgerStore;
  /** K, as the replica was configured: the host snapshots the app at every multiple of it. */
  readonly checkpointInterval: number;
  readonly timers?: Partial<TimerPolicy>;
  /** Overrides the PeerId of a validator index (the simulator's Twins scenario); default: hex of its key. */
  readonly peerOf?: (index: number) => PeerId;
  readonly payloadOf?: PayloadOf;
  readonly verifyCertificate?: CertificateVerifier;
  /**
   * Trust scores (one integer per validator) derived from the committed state after block `seq`, if they
   * changed: handed to the replica with `executed`, they decide leader order from the next stable checkpoint
   * on (never quorums). Must be deterministic in the committed state, like the app itself.
   */
  readonly trustAfter?: (seq: number) => number[] | undefined;
  /**
   * Blocks kept in memory (default 4096): they serve state transfer (which needs the blocks just below a
   * checkpoint) without touching storage; older history stays in the store.
   */
  readonly retainBlocks?: number;
  /** Snapshots kept (default 2). */
  readonly retainSnapshots?: number;
  readonly onEvent?: (e: ConsensusEvent) => void;
}

/** The default: a transaction is the payload of the client's signed request (the replica checked the signature). */
export function clientPayload(request: Uint8Array): Uint8Array | null {
  try {
    return decodeClientRequest(request).payload;
  } catch {
    return null;
  }
}


interface Tip {
  readonly height: number;
  readonly hash: Uint8Array;
  readonly header: BlockHeader | null;
}

/** Filling the history below an installed checkpoint, one page at a time, down to what we hold. */
interface Backfill {
  /** The lowest block we hold of the run being extended downwards, and so the hash the next page must end at. */
  below: BlockHeader;
  peers: number[];
  attempt: number;
  requestId: number;
  peer: number;
  cancelTimer: (() => void) | null;
}

interface Fetch {
  seq: number;
  digest: Uint8Array;
  peers: number[];
  attempt: number;
  requestId: number;
  peer: number;
  cancelTimer: (() => void) | null;
}

export class ConsensusNode {
  readonly validators: Uint8Array[];
  readonly self: number;
  private readonly replica: ReplicaLike;
  private readonly transport: Transport;
  private readonly clock: Clock;
  private readonly app: LedgerApp;
  private readonly store: LedgerStore;
  private readonly K: number;
  private readonly timers: TimerPolicy;
  private readonly peerOf: (index: number) => PeerId;
  private readonly indexOfPeer = new Map<PeerId, number>();
  private readonly payloadOf: PayloadOf;
  private readonly verifyCertificate: CertificateVerifier | undefined;
  private readonly trustAfter: ((seq: number) => number[] | undefined) | undefined;
  private readonly retainBlocks: number;
  private readonly retainSnapshots: number;
  private readonly onEvent: (e: ConsensusEvent) => void;
  private readonly genesis: Uint8Array;

  /** The block at the replica's last executed seq (the state the app holds). */
  private tip: Tip;
  /** Blocks known to this node (executed here, recovered from storage, or fetched and verified). */
  private readonly blocks = new Map<number, Block>();
  /** App snapshots taken at checkpoint seqs, waiting for the checkpoint to become stable. */
  private readonly candidates = new Map<number, { app: Uint8Array; blockHash: Uint8Array }>();
  private readonly snapshots = new Map<number, StoredSnapshot>();
  private readonly timerCancels = new Map<TimerKind, () => void>();
  private readonly inbox: ReplicaEvent[] = [];
  private stepping = false;
  private closed = false;
  private persist: Promise<void> = Promise.resolve();
  private fetch: Fetch | null = null;
  private backfill: Backfill | null = null;
  private readonly lastServed = new Map<number, number>();
  private nextRequestId = 1;
  private unsubscribe: (() => void) | null = null;
  /** For tests and metrics. */
  readonly counters = { executed: 0, messagesIn: 0, messagesOut: 0, rejected: 0, stateTransfers: 0, servedStateRequests: 0 };

  constructor(opts: ConsensusNodeOptions) {
    this.validators = opts.validators.map((k) => k.slice());
    this.self = opts.self;
    this.replica = opts.replica;
    this.transport = opts.transport;
    this.clock = opts.clock;
    this.app = opts.app;
    this.store = opts.store;
    this.K = opts.checkpointInterval;
    this.timers = { ...DEFAULT_TIMERS, ...opts.timers };
    this.peerOf = opts.peerOf ?? ((i) => toHex(this.validators[i]!));
    for (let i = 0; i < this.validators.length; i++) this.indexOfPeer.set(this.peerOf(i), i);
    this.payloadOf = opts.payloadOf ?? clientPayload;
    this.verifyCertificate = opts.verifyCertificate;
    this.trustAfter = opts.trustAfter;
    this.retainBlocks = opts.retainBlocks ?? 4096;
    this.retainSnapshots = opts.retainSnapshots ?? 2;
    this.onEvent = opts.onEvent ?? (() => {});
    this.genesis = genesisHash(this.validators);
    this.tip = { height: 0, hash: this.genesis, header: null };
  }

  /**
   * Loads what the store holds (blocks for serving peers and for a local state install, and the snapshots)
   * and starts listening. The app and the replica start from genesis: the replica catches up through
   * fetchState, which this node answers from its own store when it can and from peers otherwise.
   */
  async start(): Promise<void> {
    const stored = await this.store.tip();
    if (stored) {
      const from = Number.isFinite(this.retainBlocks) ? Math.max(1, stored.height - this.retainBlocks + 1) : 1;
      for (const b of await this.store.getBlocks(from, stored.height)) this.blocks.set(b.header.height, b);
    }
    const latest = await this.store.latestSnapshot();
    if (latest) this.snapshots.set(latest.seq, latest);
    this.unsubscribe = this.transport.onMessage((from, bytes) => this.onFrame(from, bytes));
  }

  /** A client's signed request (submit it to every validator: backups then watch the primary). */
  submit(request: Uint8Array): void {
    this.drive({ kind: 'request', bytes: request, now: this.clock.now() });
  }

  get height(): number {
    return this.tip.height;
  }
  get tipHash(): Uint8Array {
    return this.tip.hash;
  }
  get view(): number {
    return this.replica.view;
  }
  get primary(): number {
    return this.replica.primary;
  }
  block(height: number): Block | undefined {
    return this.blocks.get(height);
  }
  /** The newest stable checkpoint this node holds (snapshot, replica state and checkpoint certificate). */
  latestCheckpoint(): StoredSnapshot | undefined {
    const seqs = [...this.snapshots.keys()];
    return seqs.length ? this.snapshots.get(Math.max(...seqs)) : undefined;
  }
  /** Resolves when every storage write issued so far has finished. */
  flushed(): Promise<void> {
    return this.persist;
  }

  /** Stops: timers cancelled, transport unsubscribed, replica disposed. Does not close the transport. */
  async stop(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.timerCancels.values()) c();
    this.timerCancels.clear();
    this.fetch?.cancelTimer?.();
    this.fetch = null;
    this.backfill?.cancelTimer?.();
    this.backfill = null;
    this.unsubscribe?.();
    await this.persist;
    this.replica.dispose();
  }

  // ---- the replica loop -------------------------------------------------------------------------------

  private drive(event: ReplicaEvent): void {
    if (this.closed) return;
    this.inbox.push(event);
    if (this.stepping) return; // re-entrant input (e.g. an `executed` produced while handling actions)
    this.stepping = true;
    try {
      for (let ev = this.inbox.shift(); ev; ev = this.inbox.shift()) {
        const actions = this.replica.step(ev);
        for (const a of actions) this.act(a);
      }
    } finally {
      this.stepping = false;
    }
  }

  private act(a: ReplicaAction): void {
    switch (a.kind) {
      case 'send':
        if (a.to !== this.self && a.to >= 0 && a.to < this.validators.length) this.sendPbft(a.to, a.bytes);
        break;
      case 'broadcast':
        for (let i = 0; i < this.validators.length; i++) if (i !== this.self) this.sendPbft(i, a.bytes);
        break;
      case 'setTimer':
        this.setTimer(a.timer, a.attempt);
        break;
      case 'cancelTimer':
        this.timerCancels.get(a.timer)?.();
        this.timerCancels.delete(a.timer);
        break;
      case 'execute':
        this.execute(a);
        break;
      case 'checkpointStable':
        this.checkpointStable(a.seq, a.stateDigest, a.replicaState, a.certificate);
        break;
      case 'viewChanged':
        this.onEvent({ kind: 'viewChanged', view: a.view, primary: a.primary });
        break;
      case 'fetchState':
        this.startFetch(a.seq, a.stateDigest, a.peers);
        break;
      case 'rejected':
        this.counters.rejected++;
        this.onEvent({ kind: 'rejected', reason: a.reason, from: a.from });
        break;
    }
  }

  private sendPbft(to: number, bytes: Uint8Array): void {
    this.counters.messagesOut++;
    this.transport.send(this.peerOf(to), frame(CHANNEL_PBFT, bytes));
  }

  private setTimer(timer: TimerKind, attempt: number): void {
    this.timerCancels.get(timer)?.();
    const delay =
      timer === 'batch'
        ? this.timers.batchMs
        : Math.min(this.timers.viewChangeMaxMs, this.timers.viewChangeBaseMs * 2 ** Math.min(attempt, 30));
    const cancel = this.clock.schedule(delay, () => {
      if (this.timerCancels.get(timer) !== cancel) return;
      this.timerCancels.delete(timer);
      this.drive({ kind: 'timer', timer, now: this.clock.now() });
    });
    this.timerCancels.set(timer, cancel);
  }

  private execute(a: Extract<ReplicaAction, { kind: 'execute' }>): void {
    if (a.seq !== this.tip.height + 1) {
      // The replica executes in order from the state the host holds; anything else is a bug to surface.
      this.onEvent({ kind: 'outOfOrder', seq: a.seq, height: this.tip.height });
    }
    // The block carries the whole certified batch (what the commit certificate signs, so anyone can check
    // it); the app applies the requests the replica executed (the batch without stale duplicates).
    const skip = new Set(a.skipped);
    a.batch.forEach((req, index) => {
      if (skip.has(index)) return;
      const payload = this.payloadOf(req);
      const res = payload ? this.app.apply(payload, { height: a.seq, index, time: a.time }) : { ok: false as const, reason: 'undecodable' };
      if (!res.ok) this.onEvent({ kind: 'txRejected', height: a.seq, index, reason: res.reason });
    });
    const block = buildBlock({
      height: a.seq,
      time: a.time,
      batchTime: a.batchTime,
      prevHash: this.tip.hash,
      txs: a.batch,
      skipped: a.skipped,
      stateRoot: this.app.stateRoot(),
      certificate: a.certificate,
      batchDigest: a.batchDigest,
    });
    const hash = blockHash(block.header);
    this.tip = { height: a.seq, hash, header: block.header };
    this.remember(block);
    this.write((s) => s.putBlock(block));
    if (a.seq % this.K === 0) this.candidates.set(a.seq, { app: this.app.snapshot(), blockHash: hash });
    this.counters.executed++;
    this.onEvent({ kind: 'committed', block, hash });
    const trust = this.trustAfter?.(a.seq);
    this.drive({ kind: 'executed', seq: a.seq, stateDigest: hash, ...(trust ? { trust } : {}) });
  }

  private checkpointStable(seq: number, digest: Uint8Array, replicaState: Uint8Array, certificate: Uint8Array): void {
    const c = this.candidates.get(seq);
    for (const k of [...this.candidates.keys()]) if (k <= seq) this.candidates.delete(k);
    if (c && equalBytes(c.blockHash, digest)) {
      this.keepSnapshot({ seq, blockHash: digest, app: c.app, replicaState, certificate });
    }
    this.onEvent({ kind: 'checkpointStable', seq });
  }

  private keepSnapshot(s: StoredSnapshot): void {
    this.snapshots.set(s.seq, s);
    const keys = [...this.snapshots.keys()].sort((x, y) => x - y);
    for (const k of keys.slice(0, Math.max(0, keys.length - this.retainSnapshots))) this.snapshots.delete(k);
    this.write(async (st) => {
      await st.putSnapshot(s);
      await st.pruneSnapshots(this.retainSnapshots);
    });
  }

  private remember(block: Block): void {
    this.blocks.set(block.header.height, block);
    // Evict the earliest inserted (heights arrive in ascending order, state transfer included).
    while (this.blocks.size > this.retainBlocks) {
      const oldest = this.blocks.keys().next().value;
      if (oldest === undefined) break;
      this.blocks.delete(oldest);
    }
  }

  private write(op: (s: LedgerStore) => Promise<void>): void {
    this.persist = this.persist
      .then(() => op(this.store))
      .catch((e: unknown) => this.onEvent({ kind: 'storageError', message: e instanceof Error ? e.name : 'storage write failed' }));
  }

  // ---- the transport ----------------------------------------------------------------------------------

  private onFrame(from: PeerId, bytes: Uint8Array): void {
    if (this.closed || bytes.length === 0) return;
    const index = this.indexOfPeer.get(from);
    const channel = bytes[0];
    if (channel !== CHANNEL_PBFT && channel !== CHANNEL_STATE) return; // another subsystem's frame
    if (index === undefined) {
      this.onEvent({ kind: 'rejected', reason: 'badSender', from: -1 });
      return;
    }
    const payload = bytes.subarray(1);
    if (channel === CHANNEL_PBFT) {
      this.counters.messagesIn++;
      this.drive({ kind: 'message', bytes: payload, now: this.clock.now(), from: index });
      return;
    }
    let m;
    try {
      m = decodeStateMessage(payload);
    } catch {
      this.onEvent({ kind: 'stateTransferRejected', reason: 'malformed', from: index });
      return;
    }
    if (m.type === 'request') this.serve(index, m);
    else this.onReply(index, m);
  }

  // ---- state transfer: serving ------------------------------------------------------------------------

  private serve(to: number, req: StateRequest): void {
    // Replies can be large: answer each peer at most once per quarter state-transfer timeout (an honest
    // requester asks one peer at a time and waits at least that long), so requests cannot amplify traffic.
    const now = this.clock.now();
    const last = this.lastServed.get(to);
    if (last !== undefined && now - last < this.timers.stateTransferMs / 4) {
      this.onEvent({ kind: 'stateTransferRejected', reason: 'rate-limited', from: to });
      return;
    }
    this.lastServed.set(to, now);
    this.counters.servedStateRequests++;
    const top = Math.min(req.toHeight, req.snapshotSeq > 0 ? req.snapshotSeq : req.toHeight);
    const blocks: Uint8Array[] = [];
    // The highest contiguous run ending at `top`, at most a page, never below fromHeight.
    for (let h = top; h >= Math.max(1, req.fromHeight) && blocks.length < MAX_BLOCKS_PER_REPLY; h--) {
      const b = this.blocks.get(h);
      if (!b) break;
      blocks.push(encodeBlock(b));
    }
    blocks.reverse();
    let snapshot: StateReply['snapshot'] = null;
    if (req.snapshotSeq > 0) {
      const s = this.snapshots.get(req.snapshotSeq);
      if (s && equalBytes(s.blockHash, req.snapshotDigest)) snapshot = { app: s.app, replicaState: s.replicaState, certificate: s.certificate };
    }
    const reply: StateReply = { type: 'reply', id: req.id, blocks, snapshot };
    this.transport.send(this.peerOf(to), frame(CHANNEL_STATE, encodeStateMessage(reply)));
  }

  // ---- state transfer: history below the installed checkpoint ----

  /** Whether the block below `h` is one we hold and it links to `h`. */
  private linksDown(h: BlockHeader): boolean {
    if (h.height <= 1) return true;
    const below = this.blocks.get(h.height - 1);
    return below !== undefined && equalBytes(blockHash(below.header), h.prevHash);
  }

  private startBackfill(lowest: BlockHeader, peer: number): void {
    this.backfill?.cancelTimer?.();
    this.backfill = null;
    if (this.linksDown(lowest)) return;
    // The peer that just served us last: it rate-limits repeated requests.
    const peers = [...this.otherValidators().filter((p) => p !== peer), peer];
    this.backfill = { below: lowest, peers, attempt: 0, requestId: 0, peer: -1, cancelTimer: null };
    this.askBackfill();
  }

  private askBackfill(): void {
    const b = this.backfill;
    if (!b || this.closed) return;
    if (b.attempt >= 3 * b.peers.length) {
      this.backfill = null; // nobody has it now; a later state transfer starts again
      return;
    }
    b.peer = b.peers[b.attempt % b.peers.length]!;
    b.attempt++;
    b.requestId = this.nextRequestId++;
    const top = b.below.height - 1;
    const req: StateRequest = {
      type: 'request',
      id: b.requestId,
      fromHeight: Math.max(1, top - MAX_BLOCKS_PER_REPLY + 1),
      toHeight: top,
      snapshotSeq: 0,
      snapshotDigest: new Uint8Array(32),
    };
    this.transport.send(this.peerOf(b.peer), frame(CHANNEL_STATE, encodeStateMessage(req)));
    b.cancelTimer = this.clock.schedule(this.timers.stateTransferMs * Math.min(8, b.attempt), () => {
      if (this.backfill === b && b.requestId === req.id) this.askBackfill();
    });
  }

  private onBackfill(from: number, b: Backfill, reply: StateReply): void {
    b.cancelTimer?.();
    let blocks: Block[];
    try {
      blocks = reply.blocks.map((x) => decodeBlock(x));
    } catch {
      this.onEvent({ kind: 'stateTransferRejected', reason: 'malformed', from });
      this.askBackfill();
      return;
    }
    // From the top down, each block must be the one the block above names, with a valid certificate.
    let above = b.below;
    const accepted: Block[] = [];
    for (let i = blocks.length - 1; i >= 0; i--) {
      const blk = blocks[i]!;
      if (blk.header.height !== above.height - 1 || !equalBytes(blockHash(blk.header), above.prevHash)) break;
      const prev = blocks[i - 1]?.header;
      const check = verifyBlock(blk, this.validators, {
        ...(prev ? { prev } : {}),
        ...(this.verifyCertificate ? { verifyCertificate: this.verifyCertificate } : {}),
      });
      if (!check.ok && check.reason !== 'prev-hash-mismatch' && check.reason !== 'height-mismatch') break;
      accepted.push(blk);
      above = blk.header;
    }
    if (accepted.length === 0) {
      this.onEvent({ kind: 'stateTransferRejected', reason: blocks.length ? 'chain-broken' : 'missing-target', from });
      this.askBackfill();
      return;
    }
    for (const blk of accepted) {
      this.remember(blk);
      this.write((st) => st.putBlock(blk));
    }
    b.below = above;
    b.attempt = 0;
    if (this.linksDown(above)) {
      this.backfill = null;
      this.onEvent({ kind: 'historyFilled', down: above.height });
      return;
    }
    this.askBackfill();
  }

  // ---- state transfer: fetching -----------------------------------------------------------------------

  private startFetch(seq: number, digest: Uint8Array, peers: number[]): void {
    if (this.fetch && this.fetch.seq >= seq) return; // already after this or a newer checkpoint
    this.fetch?.cancelTimer?.();
    // Our own store may already hold the proven state (a restart): install it without the network.
    const local = this.snapshots.get(seq);
    const block = this.blocks.get(seq);
    const candidates = peers.filter((p) => p !== this.self && p >= 0 && p < this.validators.length);
    const f: Fetch = { seq, digest, peers: candidates.length > 0 ? candidates : this.otherValidators(), attempt: 0, requestId: 0, peer: -1, cancelTimer: null };
    this.fetch = f;
    // Installing steps the replica, so it happens after the current step, never inside it.
    f.cancelTimer = this.clock.schedule(0, () => {
      if (this.fetch !== f) return;
      if (local && block && equalBytes(local.blockHash, digest) && equalBytes(blockHash(block.header), digest)) {
        if (this.install(seq, digest, block, local.app, local.replicaState, local.certificate, 0, null) === 'installed') return;
      }
      this.askNext();
    });
  }

  private otherValidators(): number[] {
    return this.validators.map((_, i) => i).filter((i) => i !== this.self);
  }

  private askNext(): void {
    const f = this.fetch;
    if (!f || this.closed) return;
    f.peer = f.peers[f.attempt % f.peers.length]!;
    f.attempt++;
    f.requestId = this.nextRequestId++;
    const req: StateRequest = {
      type: 'request',
      id: f.requestId,
      fromHeight: this.tip.height + 1,
      toHeight: f.seq,
      snapshotSeq: f.seq,
      snapshotDigest: f.digest,
    };
    this.transport.send(this.peerOf(f.peer), frame(CHANNEL_STATE, encodeStateMessage(req)));
    // Back off as peers fail us, so a partitioned node does not flood the network.
    const wait = this.timers.stateTransferMs * Math.min(8, 1 + Math.floor((f.attempt - 1) / Math.max(1, f.peers.length)));
    f.cancelTimer = this.clock.schedule(wait, () => {
      if (this.fetch === f && f.requestId === req.id) this.askNext();
    });
  }

  private onReply(from: number, reply: StateReply): void {
    const bf = this.backfill;
    if (bf && reply.id === bf.requestId && from === bf.peer) {
      this.onBackfill(from, bf, reply);
      return;
    }
    const f = this.fetch;
    if (!f || reply.id !== f.requestId || from !== f.peer) {
      this.onEvent({ kind: 'stateTransferRejected', reason: 'unsolicited', from });
      return;
    }
    const reject = (reason: StateTransferRejectReason, detail?: string): void => {
      this.onEvent({ kind: 'stateTransferRejected', reason, from, ...(detail ? { detail } : {}) });
      f.cancelTimer?.();
      // Try the other peers at once; after a full round, wait (backing off) so a liar cannot make us spin.
      if (f.attempt % f.peers.length !== 0) {
        this.askNext();
        return;
      }
      const round = Math.floor(f.attempt / f.peers.length);
      const wait = this.timers.stateTransferMs * Math.min(8, 2 ** Math.min(round - 1, 3));
      f.requestId = 0;
      f.cancelTimer = this.clock.schedule(wait, () => {
        if (this.fetch === f) this.askNext();
      });
    };
    let blocks: Block[];
    try {
      blocks = reply.blocks.map((b) => decodeBlock(b));
    } catch {
      return reject('malformed');
    }
    const target = blocks[blocks.length - 1];
    if (!target || target.header.height !== f.seq || !reply.snapshot) return reject('missing-target');
    if (!equalBytes(blockHash(target.header), f.digest)) return reject('digest-mismatch');
    // Walk down from the proven block: each must be the predecessor of the one above, by hash and height,
    // and carry a valid commit certificate for its own batch.
    for (let i = blocks.length - 1; i >= 0; i--) {
      const b = blocks[i]!;
      const above = blocks[i + 1];
      if (above && (b.header.height !== above.header.height - 1 || !equalBytes(blockHash(b.header), above.header.prevHash))) {
        return reject('chain-broken');
      }
      const prev = blocks[i - 1]?.header;
      const check = verifyBlock(b, this.validators, {
        ...(prev ? { prev } : {}),
        ...(this.verifyCertificate ? { verifyCertificate: this.verifyCertificate } : {}),
      });
      if (!check.ok) {
        return reject(check.reason === 'prev-hash-mismatch' || check.reason === 'height-mismatch' ? 'chain-broken' : 'block-invalid', `${check.reason} at ${b.header.height}`);
      }
    }
    const s = reply.snapshot;
    const result = this.install(f.seq, f.digest, target, s.app, s.replicaState, s.certificate, blocks.length, from, blocks);
    if (result !== 'installed') return reject(result);
  }

  /**
   * Installs a verified state. Nothing changes if the snapshot does not produce the block's state root, or if
   * the replica refuses the replica state that came with it (it checks it against the checkpoint's proof).
   */
  private install(
    seq: number,
    digest: Uint8Array,
    block: Block,
    app: Uint8Array,
    replicaState: Uint8Array,
    certificate: Uint8Array,
    fetchedBlocks: number,
    fromPeer: number | null,
    blocks: Block[] = [],
  ): 'installed' | 'state-root-mismatch' | 'replica-refused' {
    const before = this.app.snapshot();
    try {
      this.app.restore(app);
    } catch {
      this.app.restore(before);
      return 'state-root-mismatch';
    }
    if (!equalBytes(this.app.stateRoot(), block.header.stateRoot)) {
      this.app.restore(before);
      return 'state-root-mismatch';
    }
    // The blocks are committed history whatever happens next (each verified, chained to the proven digest).
    for (const b of blocks) {
      const existing = this.blocks.get(b.header.height);
      if (!existing || !equalBytes(blockHash(existing.header), blockHash(b.header))) {
        this.remember(b);
        this.write((st) => st.putBlock(b));
      }
    }
    if (!this.blocks.has(seq)) this.remember(block);
    const prevTip = this.tip;
    this.tip = { height: seq, hash: digest, header: block.header };
    this.onEvent({ kind: 'stateInstalled', seq, fetchedBlocks, fromPeer });
    this.drive({ kind: 'stateInstalled', seq, stateDigest: digest, replicaState });
    if (this.replica.lastExecuted < seq) {
      this.app.restore(before);
      this.tip = prevTip;
      return 'replica-refused';
    }
    this.fetch?.cancelTimer?.();
    this.fetch = null;
    if (!this.snapshots.has(seq)) this.keepSnapshot({ seq, blockHash: digest, app, replicaState, certificate });
    for (const k of [...this.candidates.keys()]) if (k <= seq) this.candidates.delete(k);
    this.counters.stateTransfers++;
    const lowest = blocks[0]?.header ?? block.header;
    if (fromPeer !== null) this.startBackfill(lowest, fromPeer);
    return 'installed';
  }
}
