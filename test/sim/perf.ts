// A consortium for the consensus benches: n wasm replicas, each under a ConsensusNode with a null application,
// over a SimNetwork. Two ways to account for time:
// - `cpu: false`: the virtual clock only moves with the network; the wall clock measures all replicas' work
//   on one core (throughput and latency in one process).
// - `cpu: true`: each node is its own processor. Its work (a message, a timer, a submission) starts when the
//   node is free, takes the wall time it really takes, and what it sends leaves when it is done; the virtual
//   clock then shows what a deployment with one core per node would see (network delays plus each node's
//   own cost, queueing included).

import { Replica, encodeClientRequest, initCore, type ReplicaAction, type ReplicaEvent } from '../../wasm/index.ts';
import { ConsensusNode, replicaStartOptions, type Clock, type ReplicaLike, type ReplicaStart } from '../../web/src/core/consensus/index.ts';
import type { LedgerApp } from '../../web/src/core/ledger/app.ts';
import { txHash } from '../../web/src/core/ledger/block.ts';
import { MemoryLedgerStore } from '../../web/src/core/ledger/store.ts';
import { Prng, toHex } from '../../web/src/core/util/index.ts';
import { SimNetwork, type VirtualClock } from '../../web/src/core/net/sim-network.ts';
import type { MessageHandler, PeerId, Transport } from '../../web/src/core/net/transport.ts';
import { publicKeyOf } from './wire.ts';

/** The null operation: consensus cost only. */
class NullApp implements LedgerApp {
  private readonly root = new Uint8Array(32);
  apply() {
    return { ok: true } as const;
  }
  stateRoot() {
    return this.root;
  }
  snapshot() {
    return new Uint8Array(0);
  }
  restore() {}
}

/**
 * One node's processor: work runs one item at a time, for the wall time it takes, on the virtual clock. Work
 * that arrives while the node is busy waits in a FIFO queue and starts when the node is free; one clock event
 * per queued item (re-arming every waiting item whenever the node freed up made the events grow with the
 * square of the queue: 3 million events for 512 requests at n = 7).
 */
class Processor {
  private busyUntil = 0;
  private startedAt = -1;
  private startedWall = 0;
  private outbox: (() => void)[] = [];
  private readonly queue: (() => void)[] = [];
  private head = 0;
  private armed = false;
  /** Wall ms this node spent working. */
  busyMs = 0;

  constructor(private readonly clock: VirtualClock) {}

  run(work: () => void): void {
    if (this.clock.now() < this.busyUntil || this.startedAt >= 0 || this.head < this.queue.length) {
      this.queue.push(work);
      this.arm();
      return;
    }
    this.execute(work);
  }

  /** One clock event at the time the node is next free, which starts the oldest waiting item. */
  private arm(): void {
    if (this.armed) return;
    this.armed = true;
    this.clock.schedule(Math.max(0, this.busyUntil - this.clock.now()), () => {
      this.armed = false;
      if (this.clock.now() < this.busyUntil || this.startedAt >= 0) {
        this.arm();
        return;
      }
      const work = this.queue[this.head++]!;
      if (this.head === this.queue.length) {
        this.queue.length = 0;
        this.head = 0;
      }
      this.execute(work);
      if (this.head < this.queue.length) this.arm();
    });
  }

  private execute(work: () => void): void {
    const now = this.clock.now();
    this.startedAt = now;
    this.startedWall = performance.now();
    try {
      work();
    } finally {
      const took = performance.now() - this.startedWall;
      this.busyMs += took;
      this.busyUntil = now + took;
      this.startedAt = -1;
      const sends = this.outbox;
      this.outbox = [];
      for (const s of sends) this.clock.schedule(took, s);
    }
  }

  /** Sends made while working leave when the work is done. */
  send(fn: () => void): void {
    if (this.startedAt >= 0) this.outbox.push(fn);
    else fn();
  }

  /** The virtual time now, counting the work in progress. */
  time(): number {
    return this.startedAt >= 0 ? this.startedAt + (performance.now() - this.startedWall) : this.clock.now();
  }
}

function onProcessor(inner: Transport, cpu: Processor): Transport {
  return {
    ...inner,
    peers: () => inner.peers(),
    onPeer: (h) => inner.onPeer(h),
    close: () => inner.close(),
    send: (to: PeerId, bytes: Uint8Array) => cpu.send(() => inner.send(to, bytes)),
    broadcast: (bytes: Uint8Array) => cpu.send(() => inner.broadcast(bytes)),
    onMessage: (h: MessageHandler) => inner.onMessage((from, bytes) => cpu.run(() => h(from, bytes))),
  };
}

/** A replica whose step() time is added up (the wasm core and its face, apart from the host adapter). */
class TimedReplica implements ReplicaLike {
  ms = 0;
  steps = 0;
  constructor(private readonly inner: Replica) {}
  step(event: ReplicaEvent): ReplicaAction[] {
    const t = performance.now();
    const out = this.inner.step(event);
    this.ms += performance.now() - t;
    this.steps++;
    return out;
  }
  get view() {
    return this.inner.view;
  }
  get primary() {
    return this.inner.primary;
  }
  get lastExecuted() {
    return this.inner.lastExecuted;
  }
  dispose() {
    this.inner.dispose();
  }
}

export interface PerfClusterOptions {
  readonly n: number;
  readonly seed: number;
  readonly maxBatch: number;
  readonly checkpointInterval?: number;
  /** One-way delays: [min, max] ms drawn per link (seeded), plus exponential jitter of this mean. Default: 0. */
  readonly wan?: { readonly minMs: number; readonly maxMs: number; readonly jitterMs: number };
  /** Each node its own processor on the virtual clock (see the header). */
  readonly cpu?: boolean;
}

export class PerfCluster {
  readonly n: number;
  readonly f: number;
  readonly net: SimNetwork;
  readonly nodes: ConsensusNode[] = [];
  readonly replicas: TimedReplica[] = [];
  readonly processors: Processor[] = [];
  /** request hash -> replicas that executed it. */
  readonly executed = new Map<string, number>();
  /** request hash -> virtual time when f+1 replicas had executed it (what a client waits for). */
  readonly committedAt = new Map<string, number>();
  readonly onCommitted = new Map<string, () => void>();

  private constructor(readonly opts: PerfClusterOptions) {
    this.n = opts.n;
    this.f = Math.floor((opts.n - 1) / 3);
    this.net = new SimNetwork({ seed: opts.seed, link: { minDelay: 0, jitter: 0 } });
  }

  static async create(opts: PerfClusterOptions): Promise<PerfCluster> {
    await initCore();
    const c = new PerfCluster(opts);
    await c.build();
    return c;
  }

  get clock(): VirtualClock {
    return this.net.clock;
  }

  private async build(): Promise<void> {
    const { n, seed, maxBatch } = this.opts;
    const K = this.opts.checkpointInterval ?? 128;
    const rng = new Prng(seed);
    const secrets = Array.from({ length: n }, () => rng.bytes(32));
    const keys = secrets.map(publicKeyOf);
    const ids = keys.map((k) => toHex(k));
    const vclock = this.net.clock;
    const transports = ids.map((id) => this.net.join(id));
    const wan = this.opts.wan;
    if (wan) {
      const links = rng.fork('links');
      for (let a = 0; a < n; a++) {
        for (let b = a + 1; b < n; b++) {
          const base = wan.minMs + links.float() * (wan.maxMs - wan.minMs - wan.jitterMs);
          this.net.setLink(ids[a]!, ids[b]!, { minDelay: base, jitter: wan.jitterMs });
        }
      }
    }
    for (let i = 0; i < n; i++) {
      const cpu = new Processor(vclock);
      this.processors.push(cpu);
      const createReplica = (start: ReplicaStart): TimedReplica => {
        const replica = new TimedReplica(new Replica({ ...replicaStartOptions(start), secretKey: secrets[i]!, checkpointInterval: K, watermarkWindow: 8 * K, maxBatch }));
        this.replicas.push(replica);
        return replica;
      };
      const clock: Clock = this.opts.cpu ? { now: () => cpu.time(), schedule: (ms, fn) => vclock.schedule(ms, () => cpu.run(fn)) } : vclock;
      const node = new ConsensusNode({
        validators: keys,
        key: keys[i]!,
        createReplica,
        transport: this.opts.cpu ? onProcessor(transports[i]!, cpu) : transports[i]!,
        clock,
        app: new NullApp(),
        store: new MemoryLedgerStore(),
        checkpointInterval: K,
        retainBlocks: 512,
        timers: { batchMs: 1 },
        payloadOf: (r) => r,
        onEvent: (e) => {
          if (e.kind !== 'committed') return;
          for (const tx of e.block.txs) {
            const h = toHex(txHash(tx));
            const k = (this.executed.get(h) ?? 0) + 1;
            this.executed.set(h, k);
            if (k === this.f + 1) {
              this.committedAt.set(h, this.opts.cpu ? cpu.time() : vclock.now());
              this.onCommitted.get(h)?.();
            }
          }
        },
      });
      await node.start();
      this.nodes.push(node);
    }
  }

  /** A client gives the request to every replica (as the simulator's clients do). */
  submit(req: Uint8Array): void {
    for (let i = 0; i < this.n; i++) {
      const node = this.nodes[i]!;
      if (this.opts.cpu) this.processors[i]!.run(() => node.submit(req));
      else node.submit(req);
    }
  }

  committed(hash: string): boolean {
    return (this.executed.get(hash) ?? 0) >= this.f + 1;
  }

  /** Wall ms spent inside the replicas (wasm core and its face), over all nodes. */
  replicaMs(): number {
    return this.replicas.reduce((s, r) => s + r.ms, 0);
  }

  async stop(): Promise<void> {
    for (const node of this.nodes) await node.stop();
  }
}

/** Signed client requests with random payloads, from 64 clients in turn. */
export function makeRequests(seed: number, count: number, payloadBytes: number): Uint8Array[] {
  const rng = new Prng(seed);
  const clients = Array.from({ length: 64 }, () => rng.bytes(32));
  const seqs = new Array<number>(clients.length).fill(1);
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const c = i % clients.length;
    out.push(encodeClientRequest(clients[c]!, seqs[c]!++, rng.bytes(payloadBytes)));
  }
  return out;
}

export const requestHash = (r: Uint8Array): string => toHex(txHash(r));
