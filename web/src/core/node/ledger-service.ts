// The clinic's ledger, live: the contracts (HygeiaContracts) as the LedgerApp of a wasm PBFT replica
// (ConsensusNode) over the node's Transport, blocks in the node's LedgerStore. Every contract action is a
// signed transaction that this service submits as a client request and resolves only when a block that
// carries it is committed: nothing the node shows as done was decided anywhere but on the ledger.
//
// A validator submits to its own replica (a backup forwards to the primary and starts its view-change timer
// if the primary stays silent). A member that is not a validator of the current epoch sends its requests to
// the validators on the node's request channel; validators take them from members only, rate-limited.
// Pending submissions are re-sent until they commit or expire.
//
// PBFT de-duplicates a client's requests by the last clientSeq it executed, so a client with two requests in
// flight loses the lower one whenever they are ordered the other way round. The node therefore submits
// through a few client "lanes" (client keys derived from its seed), each with at most one request in flight,
// and a re-sent request gets a fresh clientSeq.
import { Ed25519Signer, Replica, encodeClientRequest, sha256 } from '../../../../wasm/index.ts';
import { ConsensusNode, clientPayload, replicaStartOptions, type Clock, type ConsensusEvent, type TimerPolicy } from '../consensus/index.ts';
import type { ApplyResult, LedgerApp } from '../ledger/app.ts';
import type { Block } from '../ledger/block.ts';
import type { LedgerStore } from '../ledger/store.ts';
import type { PeerId, Transport } from '../net/transport.ts';
import { fromHex, toHex, subscribe } from '../util/index.ts';
import { decodeTx, txId } from '../ledger/contracts/index.ts';
import { NodeError, type LedgerSummary } from './api.ts';
import type { Genesis } from './genesis.ts';
import { genesisValidators } from './genesis.ts';

/** Frames on the node's request channel carry a client request for the validators to order. */
export const CHANNEL_REQUEST = 0x51; // 'Q'
const MAX_REQUEST_BYTES = 128 * 1024;

export interface TxOutcome {
  readonly ok: boolean;
  readonly reason: string;
  readonly height: number;
  readonly index: number;
}

export interface CommittedBlock {
  readonly block: Block;
  readonly hash: Uint8Array;
  /** The contract transaction of each executed position (client payload) with its outcome. */
  readonly txs: { readonly index: number; readonly tx: Uint8Array; readonly result: ApplyResult }[];
}

interface Pending {
  readonly id: string;
  readonly tx: Uint8Array;
  readonly notAfter: number;
  /** The lane carrying it, once sent. */
  lane: Lane | null;
  sentAt: number;
  attempts: number;
  /** Our height when we first sent it: a kept outcome from before then is someone else's submission. */
  firstSentHeight: number;
  resolve: (o: TxOutcome) => void;
  reject: (e: Error) => void;
}

interface Lane {
  readonly seed: Uint8Array;
  lastSeq: number;
  busy: Pending | null;
}

export interface LedgerServiceOptions {
  readonly genesis: Genesis;
  /** This node's Ed25519 seed: its validator key and the client key its requests are signed with. */
  readonly seed: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly app: LedgerApp;
  readonly transport: Transport;
  readonly store: LedgerStore;
  readonly clock: Clock;
  readonly timers?: Partial<TimerPolicy>;
  /** How long to wait for a submission to commit before re-sending it (default 3 s). */
  readonly resendMs?: number;
  /** Client lanes: requests in flight at once (default 4; 1 keeps this node's transactions in order). */
  readonly lanes?: number;
  /** Whether a peer may hand this node requests to order (a member of the consortium). */
  readonly isMember: (peer: PeerId) => boolean;
  readonly trustAfter?: (seq: number) => number[] | undefined;
  readonly onEvent?: (e: ConsensusEvent) => void;
}

export class LedgerService {
  readonly app: LedgerApp;
  readonly consensus: ConsensusNode;
  /** The genesis validators (epoch 0). */
  readonly genesisValidators: Uint8Array[];
  private readonly pending = new Map<string, Pending>();
  private readonly queue: Pending[] = [];
  private readonly lanes: Lane[];
  private readonly listeners = new Set<(c: CommittedBlock) => void>();
  private readonly served = new Map<PeerId, { windowStart: number; count: number }>();
  private resendTimer: (() => void) | null = null;
  private unsubscribe: (() => void) | null = null;
  private stopped = false;

  constructor(private readonly opts: LedgerServiceOptions) {
    this.app = opts.app;
    this.lanes = Array.from({ length: Math.max(1, opts.lanes ?? 4) }, (_, i) => ({ seed: laneSeed(opts.seed, i), lastSeq: 0, busy: null }));
    this.genesisValidators = genesisValidators(opts.genesis).map((c) => fromHex(c.nodeKey, 32));
    const { checkpointInterval, watermarkWindow, maxBatch } = opts.genesis.consensus;
    const attestSigner = new Ed25519Signer(opts.seed);
    this.consensus = new ConsensusNode({
      validators: this.genesisValidators,
      key: opts.publicKey,
      // The replica of each epoch in which this node votes (and again after a restart, from its checkpoint).
      createReplica: (start) =>
        new Replica({
          ...replicaStartOptions(start),
          secretKey: opts.seed,
          checkpointInterval,
          watermarkWindow,
          maxBatch,
        }),
      // This node's signature on each block it executed: a quorum of them certifies the header for phones.
      signAttestation: (message) => attestSigner.sign(message),
      transport: opts.transport,
      clock: opts.clock,
      app: opts.app,
      store: opts.store,
      checkpointInterval,
      ...(opts.timers ? { timers: opts.timers } : {}),
      ...(opts.trustAfter ? { trustAfter: opts.trustAfter } : {}),
      onEvent: (e) => this.onConsensus(e),
    });
  }

  async start(): Promise<void> {
    await this.consensus.start();
    this.unsubscribe = this.opts.transport.onMessage((from, bytes) => this.onFrame(from, bytes));
    this.scheduleResend();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.resendTimer?.();
    this.unsubscribe?.();
    for (const p of this.pending.values()) p.reject(new NodeError('offline', 'The node stopped before the transaction committed.'));
    this.pending.clear();
    await this.consensus.stop();
  }

  /** Subscribes to committed blocks (in height order) with each transaction's outcome. */
  onCommitted(fn: (c: CommittedBlock) => void): () => void {
    return subscribe(this.listeners, fn);
  }

  get height(): number {
    return this.consensus.height;
  }

  /** The current epoch's validator keys (hex), in replica order. */
  validatorIds(): string[] {
    return this.consensus.epoch.validators.map(toHex);
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  summary(nameOf: (keyHex: string) => string): LedgerSummary {
    const c = this.consensus;
    return { height: c.height, headHash: toHex(c.tipHash), view: c.view, validators: this.validatorIds().map(nameOf) };
  }

  primaryKey(): string | null {
    return this.validatorIds()[this.consensus.primary] ?? null;
  }

  /**
   * Submits a signed contract transaction and resolves with its outcome once a committed block carries it.
   * Past the transaction's own expiry (its signed notAfter) the submission fails with NodeError('timeout').
   */
  submit(tx: Uint8Array): Promise<TxOutcome> {
    if (this.stopped) return Promise.reject(new NodeError('offline', 'The node is stopped.'));
    let notAfter: number;
    try {
      notAfter = decodeTx(tx).tx.notAfter;
    } catch {
      return Promise.reject(new NodeError('invalid', 'That transaction does not decode.'));
    }
    const id = toHex(sha256(tx));
    const existing = this.pending.get(id);
    if (existing) {
      return new Promise((resolve, reject) => {
        existing.resolve = chain(existing.resolve, resolve);
        existing.reject = chainErr(existing.reject, reject);
      });
    }
    return new Promise<TxOutcome>((resolve, reject) => {
      const p: Pending = { id, tx, notAfter, lane: null, sentAt: 0, attempts: 0, firstSentHeight: Number.MAX_SAFE_INTEGER, resolve, reject };
      this.pending.set(id, p);
      this.queue.push(p);
      this.pump();
    });
  }

  /** Hands queued transactions to idle lanes. */
  private pump(): void {
    for (const lane of this.lanes) {
      if (lane.busy) continue;
      let p = this.queue.shift();
      while (p && !this.pending.has(p.id)) p = this.queue.shift();
      if (!p) return;
      lane.busy = p;
      p.lane = lane;
      this.transmit(p);
    }
  }

  private transmit(p: Pending): void {
    const lane = p.lane!;
    const now = this.opts.clock.now();
    lane.lastSeq = Math.max(now * 1000, lane.lastSeq + 1);
    p.sentAt = now;
    if (p.attempts === 0) p.firstSentHeight = this.consensus.height;
    p.attempts++;
    this.send(encodeClientRequest(lane.seed, lane.lastSeq, p.tx), p.attempts > 1);
  }

  private settle(p: Pending): void {
    this.pending.delete(p.id);
    if (p.lane && p.lane.busy === p) p.lane.busy = null;
    this.pump();
  }

  /**
   * A validator hands its request to its own replica; a resent one (not committed in time) goes to the other
   * validators too, as a PBFT client multicasts on a timeout: our replica may be the one that fell behind. So
   * does any request while our replica is known not to be live (changing views, or following the others).
   */
  private send(request: Uint8Array, everyone = false): void {
    if (this.consensus.isValidator) {
      this.consensus.submit(request);
      if (!everyone && this.consensus.isLive) return;
    }
    const frame = new Uint8Array(request.length + 1);
    frame[0] = CHANNEL_REQUEST;
    frame.set(request, 1);
    for (const v of this.validatorIds()) if (v !== this.opts.transport.self) this.opts.transport.send(v, frame);
  }

  private scheduleResend(): void {
    if (this.stopped) return;
    const every = this.opts.resendMs ?? 3000;
    this.resendTimer = this.opts.clock.schedule(Math.max(50, every / 4), () => {
      const now = this.opts.clock.now();
      for (const p of [...this.pending.values()]) {
        if (now > p.notAfter) {
          this.settle(p);
          p.reject(new NodeError('timeout', 'The ledger did not commit the transaction before it expired.'));
        } else if (p.lane && now - p.sentAt >= every) this.transmit(p);
      }
      this.scheduleResend();
    });
  }

  /** Validators order requests that member nodes hand them (a member that is not a validator, a phone's clinic). */
  private onFrame(from: PeerId, bytes: Uint8Array): void {
    if (bytes[0] !== CHANNEL_REQUEST || !this.consensus.isValidator) return;
    if (bytes.length > MAX_REQUEST_BYTES || !this.opts.isMember(from)) return;
    const now = this.opts.clock.now();
    const w = this.served.get(from);
    if (!w || now - w.windowStart > 1000) this.served.set(from, { windowStart: now, count: 1 });
    else if (++w.count > 500) return;
    this.consensus.submit(bytes.slice(1));
  }

  /**
   * The outcome the ledger kept for our transaction `p`, if it consumed it after we first sent it (so the
   * transaction we resent was ours to apply). A kept outcome from before is a replay of somebody's bytes.
   */
  private keptOutcome(p: Pending): TxOutcome | undefined {
    const kept = this.outcomeOf(p.tx);
    return kept && kept.height > p.firstSentHeight ? kept : undefined;
  }

  private outcomeOf(tx: Uint8Array): TxOutcome | undefined {
    let id: string;
    try {
      id = toHex(txId(tx));
    } catch {
      return undefined;
    }
    return keptOutcomeOf(this.opts.app, id);
  }

  private onConsensus(e: ConsensusEvent): void {
    if (e.kind === 'committed') {
      const txs: CommittedBlock['txs'][number][] = [];
      e.block.txs.forEach((request, index) => {
        const tx = clientPayload(request);
        const result = e.results[index];
        if (tx && result && !(result.ok === false && (result.reason === 'skipped-duplicate' || result.reason === 'undecodable'))) txs.push({ index, tx, result });
      });
      const c: CommittedBlock = { block: e.block, hash: e.hash, txs };
      for (const t of txs) {
        const id = toHex(sha256(t.tx));
        const p = this.pending.get(id);
        if (!p) continue;
        this.settle(p);
        // A resent transaction the ledger had already consumed (we missed that block): its first outcome counts.
        const first = !t.result.ok && t.result.reason === 'replay' ? this.keptOutcome(p) : undefined;
        p.resolve(first ?? { ok: t.result.ok, reason: t.result.ok ? '' : t.result.reason, height: e.block.header.height, index: t.index });
      }
      for (const l of this.listeners) l(c);
    } else if (e.kind === 'stateInstalled') {
      // Blocks skipped by state transfer carried no outcomes here: re-send what is pending (the contracts
      // refuse a replay, so a transaction already applied is not applied twice).
      for (const p of [...this.pending.values()]) {
        const kept = this.keptOutcome(p);
        if (kept) {
          this.settle(p);
          p.resolve(kept);
        } else if (p.lane) this.transmit(p);
      }
    }
    this.opts.onEvent?.(e);
  }
}

/** The outcome the contracts keep for a consumed transaction (until its expiry), when the app keeps them. */
function keptOutcomeOf(app: LedgerApp, id: string): TxOutcome | undefined {
  const keeper = app as LedgerApp & { txOutcome?: (id: string) => TxOutcome | undefined };
  return typeof keeper.txOutcome === 'function' ? keeper.txOutcome(id) : undefined;
}

/** The seed of client lane i: derived from the node seed, domain-separated. */
function laneSeed(seed: Uint8Array, i: number): Uint8Array {
  const label = new TextEncoder().encode(`hygeia/client-lane/${i}/v1`);
  const buf = new Uint8Array(label.length + seed.length);
  buf.set(label);
  buf.set(seed, label.length);
  return sha256(buf);
}

function chain<T>(a: (v: T) => void, b: (v: T) => void): (v: T) => void {
  return (v) => {
    a(v);
    b(v);
  };
}
function chainErr(a: (e: Error) => void, b: (e: Error) => void): (e: Error) => void {
  return (e) => {
    a(e);
    b(e);
  };
}
