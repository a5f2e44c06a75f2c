// One simulated consortium: n validators (wasm replicas driven by ConsensusNodes) over a SimNetwork on one
// virtual clock, closed-loop clients, and the checkers. Byzantine behaviour enters in two ways, both with
// the replicas' real keys: a key may run as two instances wired to different peers (Twins, equivocation),
// and rules on the network may rewrite and re-sign what a Byzantine instance sends.

import { Replica, ed25519Sign, encodeClientRequest, initCore, replicaQuorum } from '../../wasm/index.ts';
import {
  ConsensusNode,
  CHANNEL_PBFT,
  decodePbftPayload,
  replicaStartOptions,
  type Clock,
  type ConsensusEvent,
  type ReplicaStart,
  type TimerPolicy,
} from '../../web/src/core/consensus/index.ts';
import { blockHash, genesisHash, txHash } from '../../web/src/core/ledger/block.ts';
import { genesisEpoch } from '../../web/src/core/ledger/epoch.ts';
import { MemoryLedgerStore, type LedgerStore } from '../../web/src/core/ledger/store.ts';
import { Prng, toHex } from '../../web/src/core/util/index.ts';
import { SimNetwork, type LinkProfile } from '../../web/src/core/net/sim-network.ts';
import type { PeerId } from '../../web/src/core/net/transport.ts';
import { KvApp } from './kv-app.ts';
import { parseEnvelope, publicKeyOf, type Envelope } from './wire.ts';

/** Virtual time 0 is this wall-clock instant, so block times look like real ones. */
export const EPOCH = 1_767_225_600_000; // 2026-01-01T00:00:00Z

export interface ClusterConfig {
  readonly seed: number;
  readonly n: number;
  readonly checkpointInterval?: number;
  readonly watermarkWindow?: number;
  readonly maxBatch?: number;
  readonly link?: Partial<LinkProfile>;
  readonly trust?: number[];
  readonly trustFloor?: number;
  readonly timers?: Partial<TimerPolicy>;
}

export interface Instance {
  readonly name: string;
  readonly index: number;
  readonly netId: PeerId;
  readonly honest: boolean;
  node: ConsensusNode | null;
  app: KvApp;
  store: LedgerStore;
  readonly peerOf: ((i: number) => PeerId) | undefined;
  height: number;
  maxView: number;
  viewChanges: number;
  stateTransfers: number;
  restarts: number;
  primaries: number[];
}

/** A rule on the wire: returns the frames to deliver instead (possibly none), or undefined to pass it on. */
export type WireRule = (from: PeerId, to: PeerId, frame: Uint8Array) => Uint8Array[] | undefined;

export interface Violation {
  readonly kind: 'conflicting-commit' | 'out-of-order' | 'state-mismatch';
  readonly height: number;
  readonly detail: string;
}

interface PendingRequest {
  readonly bytes: Uint8Array;
  readonly hash: string;
  readonly submittedAt: number;
  committedAt: number | null;
  readonly committedBy: Set<string>;
}

export class Cluster {
  readonly rng: Prng;
  readonly net: SimNetwork;
  readonly n: number;
  readonly f: number;
  /** Votes that decide anything (the replica's own quorum for n). */
  readonly quorum: number;
  readonly K: number;
  readonly secrets: Uint8Array[];
  readonly keys: Uint8Array[];
  /** The id of epoch 0 of these validators: what every replica signature covers (rules that re-sign use it). */
  readonly epochId: Uint8Array;
  readonly instances: Instance[] = [];
  readonly rules: WireRule[] = [];
  readonly violations: Violation[] = [];
  readonly rejected = new Map<string, number>();
  readonly requests = new Map<string, PendingRequest>();
  private readonly canonical = new Map<number, string>();
  private readonly asyncActions: { at: number; seq: number; fn: () => Promise<void> }[] = [];
  private asyncSeq = 0;
  readonly clock: Clock;
  private readonly clients: { secret: Uint8Array; seq: number }[] = [];

  private constructor(readonly cfg: ClusterConfig) {
    this.rng = new Prng(cfg.seed);
    this.n = cfg.n;
    this.f = Math.floor((cfg.n - 1) / 3);
    this.quorum = replicaQuorum(cfg.n);
    this.K = cfg.checkpointInterval ?? 4;
    const keyRng = this.rng.fork('keys');
    this.secrets = Array.from({ length: cfg.n }, () => keyRng.bytes(32));
    this.keys = this.secrets.map(publicKeyOf);
    this.epochId = genesisEpoch(this.keys, genesisHash(this.keys)).id;
    this.net = new SimNetwork({ seed: this.rng.fork('net').nextU32(), link: { minDelay: 1, jitter: 2, ...cfg.link } });
    const vclock = this.net.clock;
    this.clock = { now: () => EPOCH + vclock.now(), schedule: (ms, fn) => vclock.schedule(ms, fn) };
    this.net.intercept((from, to, frame) => {
      for (const rule of this.rules) {
        const out = rule(from, to, frame);
        if (out) return out;
      }
      return [frame];
    });
  }

  static async create(cfg: ClusterConfig): Promise<Cluster> {
    await initCore();
    return new Cluster(cfg);
  }

  /** Every validator as one honest instance and `clients` clients, the nodes started. */
  static async running(cfg: ClusterConfig, clients = 4): Promise<Cluster> {
    const c = await Cluster.create(cfg);
    c.addAll();
    c.addClients(clients);
    await c.start();
    return c;
  }

  /** Virtual milliseconds since the start. */
  get now(): number {
    return this.net.clock.now();
  }

  hex(index: number): PeerId {
    return toHex(this.keys[index]!);
  }

  /** Adds a running instance of validator `index` (twins: call twice with different names and netIds). */
  add(index: number, opts: { name?: string; netId?: PeerId; honest?: boolean; peerOf?: (i: number) => PeerId; store?: LedgerStore } = {}): Instance {
    const inst: Instance = {
      name: opts.name ?? `r${index}`,
      index,
      netId: opts.netId ?? this.hex(index),
      honest: opts.honest ?? true,
      node: null,
      app: new KvApp(),
      store: opts.store ?? new MemoryLedgerStore(),
      peerOf: opts.peerOf,
      height: 0,
      maxView: 0,
      viewChanges: 0,
      stateTransfers: 0,
      restarts: 0,
      primaries: [],
    };
    this.instances.push(inst);
    this.boot(inst, this.net.join(inst.netId));
    return inst;
  }

  /** Adds every validator as one honest instance. */
  addAll(): void {
    for (let i = 0; i < this.n; i++) this.add(i);
  }

  instance(name: string): Instance {
    const i = this.instances.find((x) => x.name === name);
    if (!i) throw new Error(`no instance ${name}`);
    return i;
  }

  private boot(inst: Instance, transport: ReturnType<SimNetwork['join']>): void {
    const createReplica = (start: ReplicaStart): Replica =>
      new Replica({
        ...replicaStartOptions(start),
        secretKey: this.secrets[inst.index]!,
        checkpointInterval: this.K,
        watermarkWindow: this.cfg.watermarkWindow ?? this.K * 4,
        maxBatch: this.cfg.maxBatch ?? 4,
        ...(this.cfg.trust ? { trust: this.cfg.trust } : {}),
        ...(this.cfg.trustFloor !== undefined ? { trustFloor: this.cfg.trustFloor } : {}),
      });
    inst.app = new KvApp();
    inst.height = 0;
    inst.node = new ConsensusNode({
      validators: this.keys,
      key: this.keys[inst.index]!,
      createReplica,
      signAttestation: (m) => ed25519Sign(this.secrets[inst.index]!, m),
      transport,
      clock: this.clock,
      app: inst.app,
      store: inst.store,
      checkpointInterval: this.K,
      timers: { batchMs: 2, viewChangeBaseMs: 400, viewChangeMaxMs: 6_400, stateTransferMs: 500, ...this.cfg.timers },
      ...(inst.peerOf ? { peerOf: inst.peerOf } : {}),
      onEvent: (e) => this.onEvent(inst, e),
    });
  }

  async start(): Promise<void> {
    for (const i of this.instances) await i.node!.start();
  }

  /** Crashes an instance now: its network link goes, its memory is lost, its store keeps what was written. */
  async crash(name: string): Promise<void> {
    const inst = this.instance(name);
    if (!inst.node) return;
    this.net.crash(inst.netId);
    const node = inst.node;
    inst.node = null;
    await node.stop();
  }

  /** Restarts a crashed instance from its store (or from `store`: the same database reopened). */
  async restart(name: string, store?: LedgerStore): Promise<void> {
    const inst = this.instance(name);
    if (inst.node) return;
    if (store) inst.store = store;
    inst.restarts++;
    this.boot(inst, this.net.restart(inst.netId));
    await inst.node!.start();
  }

  /** Runs `fn` at virtual time `at` (ms): sync work on the clock. */
  at(at: number, fn: () => void): void {
    this.net.clock.schedule(Math.max(0, at - this.now), fn);
  }

  /** Runs async `fn` (crash, restart) at virtual time `at`, between clock events. */
  atAsync(at: number, fn: () => Promise<void>): void {
    this.asyncActions.push({ at, seq: this.asyncSeq++, fn });
    this.asyncActions.sort((a, b) => a.at - b.at || a.seq - b.seq);
  }

  /** Runs until `done()` or virtual time `deadline`; returns whether done() held. */
  async run(done: () => boolean, deadline: number): Promise<boolean> {
    for (;;) {
      const next = this.asyncActions[0];
      const until = next ? Math.min(next.at, deadline) : deadline;
      if (this.net.clock.runUntilCondition(done, until)) {
        // Pending async faults still apply: a run is over only when nothing else is scheduled before the end.
        if (!next || next.at > this.now) return true;
      }
      if (next && next.at <= until) {
        this.asyncActions.shift();
        await next.fn();
        continue;
      }
      return done();
    }
  }

  // ---- clients ----------------------------------------------------------------------------------------

  addClients(count: number): void {
    const r = this.rng.fork('clients');
    for (let i = 0; i < count; i++) this.clients.push({ secret: r.bytes(32), seq: 1 });
  }

  /** Client `c` signs its next request and gives it to every running instance; it retries until committed. */
  submit(c: number, payload: string, onCommitted?: () => void, to?: (inst: Instance) => boolean): void {
    const client = this.clients[c]!;
    const bytes = encodeClientRequest(client.secret, client.seq++, new TextEncoder().encode(payload));
    const hash = toHex(txHash(bytes));
    const req: PendingRequest = { bytes, hash, submittedAt: this.now, committedAt: null, committedBy: new Set() };
    this.requests.set(hash, req);
    const send = (): void => {
      if (req.committedAt !== null) return;
      for (const inst of this.instances) if (!to || to(inst)) inst.node?.submit(bytes);
      this.net.clock.schedule(1_000, send);
    };
    send();
    if (onCommitted) this.waiters.set(hash, onCommitted);
  }

  private readonly waiters = new Map<string, () => void>();

  // ---- observation and checking -----------------------------------------------------------------------

  private onEvent(inst: Instance, e: ConsensusEvent): void {
    switch (e.kind) {
      case 'committed': {
        if (e.block.header.height !== inst.height + 1) {
          this.violate(inst, 'out-of-order', e.block.header.height, `${inst.name} committed ${e.block.header.height} after ${inst.height}`);
        }
        inst.height = e.block.header.height;
        this.record(inst, e.block.header.height, toHex(e.hash));
        if (!inst.honest) break;
        for (const tx of e.block.txs) {
          const req = this.requests.get(toHex(txHash(tx)));
          if (!req) continue;
          req.committedBy.add(inst.name);
          if (req.committedAt === null && this.honestCommitters(req) >= this.f + 1) {
            req.committedAt = this.now;
            const w = this.waiters.get(req.hash);
            this.waiters.delete(req.hash);
            w?.();
          }
        }
        break;
      }
      case 'stateInstalled': {
        inst.stateTransfers++;
        inst.height = e.seq;
        for (let h = 1; h <= e.seq; h++) {
          const b = inst.node?.block(h);
          if (b) this.record(inst, h, toHex(blockHash(b.header)));
        }
        break;
      }
      case 'viewChanged':
        inst.viewChanges++;
        inst.maxView = Math.max(inst.maxView, e.view);
        inst.primaries.push(e.primary);
        break;
      case 'rejected':
        if (inst.honest) this.rejected.set(e.reason, (this.rejected.get(e.reason) ?? 0) + 1);
        break;
      case 'stateTransferRejected':
        if (e.reason === 'replica-refused') inst.height = inst.node?.height ?? inst.height;
        if (inst.honest) {
          const key = `state:${e.reason}${e.detail ? `:${e.detail.split(' at ')[0]}` : ''}`;
          this.rejected.set(key, (this.rejected.get(key) ?? 0) + 1);
        }
        break;
      case 'outOfOrder':
        if (inst.honest) this.violate(inst, 'out-of-order', e.seq, `${inst.name} executed ${e.seq} at height ${e.height}`);
        break;
      case 'storageError':
        if (inst.honest) this.violate(inst, 'out-of-order', inst.height, `${inst.name}: storage error ${e.message}`);
        break;
      default:
        break;
    }
  }

  private honestCommitters(req: PendingRequest): number {
    let k = 0;
    for (const name of req.committedBy) if (this.instance(name).honest) k++;
    return k;
  }

  private record(inst: Instance, height: number, hash: string): void {
    if (!inst.honest) return;
    const seen = this.canonical.get(height);
    if (seen === undefined) this.canonical.set(height, hash);
    else if (seen !== hash) this.violate(inst, 'conflicting-commit', height, `${inst.name} committed another block at ${height}`);
  }

  private violate(inst: Instance, kind: Violation['kind'], height: number, detail: string): void {
    if (this.violations.length < 20) this.violations.push({ kind, height, detail });
    void inst;
  }

  /** Requests committed by at least f+1 honest instances (what a client waits for). */
  committedCount(): number {
    let k = 0;
    for (const r of this.requests.values()) if (r.committedAt !== null) k++;
    return k;
  }

  honestUp(): Instance[] {
    return this.instances.filter((i) => i.honest && i.node);
  }

  /**
   * Every request committed, and every honest running replica caught up at least to the last checkpoint
   * boundary below the tallest one (PBFT lets a replica that missed a batch's messages lag until the next
   * stable checkpoint brings it forward by state transfer; it must not lag further).
   */
  converged(): boolean {
    const up = this.honestUp();
    if (up.length === 0) return false;
    for (const r of this.requests.values()) if (r.committedAt === null) return false;
    const max = Math.max(...up.map((i) => i.height));
    const floor = this.K * Math.floor(max / this.K);
    return up.every((i) => i.height >= floor);
  }

  // ---- wire helpers for Byzantine rules ---------------------------------------------------------------

  /** The PBFT envelope in a frame, or null for other channels or undecodable bytes. */
  static pbft(frame: Uint8Array): Envelope | null {
    if (frame[0] !== CHANNEL_PBFT) return null;
    const payload = decodePbftPayload(frame.subarray(1));
    return payload ? parseEnvelope(payload.message) : null;
  }

  /** The net id -> validator index map for honest wiring. */
  indexOfNetId(id: PeerId): number {
    const inst = this.instances.find((i) => i.netId === id);
    return inst ? inst.index : -1;
  }
}
