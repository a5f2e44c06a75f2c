// A tiny deterministic host for unit tests: n replicas, a FIFO network the test can filter, explicit timer
// firing, and a host state that chains batch digests. No clock, no randomness: the test decides everything.
import { createHash } from 'node:crypto';
import { afterEach, beforeAll } from 'vitest';
import { initCore } from '../../../wasm/face/instance.ts';
import {
  Replica,
  replicaPublicKey,
  replicaQuorum,
  encodeClientRequest,
  type ReplicaAction,
  type ReplicaEvent,
  type ReplicaOptions,
  type TimerKind,
} from '../../../wasm/face/replica.ts';

export interface Delivery {
  from: number;
  to: number;
  bytes: Uint8Array;
}
export type Executed = Omit<Extract<ReplicaAction, { kind: 'execute' }>, 'kind'>;
export interface StableRecord {
  seq: number;
  stateDigest: Uint8Array;
  replicaState: Uint8Array;
  certificate: Uint8Array;
}

export function seedOf(i: number, salt = 0): Uint8Array {
  // Hash-derived, so a seed's bytes never occur in memory by coincidence (the wipe test searches for them).
  return new Uint8Array(createHash('sha256').update(`hygeia-test-seed/${salt}/${i}`).digest());
}

const sha256 = (...parts: Uint8Array[]): Uint8Array => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};

export type ClusterOptions = Partial<Omit<ReplicaOptions, 'validators' | 'self' | 'secretKey'>> & { n: number };

export class Cluster {
  readonly n: number;
  readonly f: number;
  readonly quorum: number;
  readonly seeds: Uint8Array[];
  readonly keys: Uint8Array[];
  readonly replicas: Replica[];
  readonly opts: ClusterOptions;
  net: Delivery[] = [];
  /** Return false to drop a delivery. */
  filter: (d: Delivery) => boolean = () => true;
  now = 1_000_000;
  readonly executed: Executed[][];
  readonly rejected: { reason: string; from: number }[][];
  readonly stable: StableRecord[][];
  readonly viewChanges: { view: number; primary: number }[][];
  readonly fetches: { seq: number; stateDigest: Uint8Array; peers: number[] }[][];
  readonly timers: Set<TimerKind>[];
  /** Per replica, the attempts its view-change timer was set with, in order (how far it backed off). */
  readonly viewChangeAttempts: number[][];
  readonly stateDigest: Uint8Array[];
  /** Host state per replica: the state digest after each executed seq (for state transfer). */
  readonly history: Map<number, Uint8Array>[];
  trustUpdates: Map<number, number[]> = new Map();
  /** Per replica, a state fetch no peer could serve when asked (the host retries it; see checkpointStable). */
  readonly unserved = new Map<number, { seq: number; peers: number[] }>();
  autoStateTransfer = true;

  constructor(opts: ClusterOptions, keysOverride?: { seeds?: Uint8Array[] }) {
    this.opts = opts;
    this.n = opts.n;
    this.f = Math.floor((opts.n - 1) / 3);
    this.quorum = replicaQuorum(opts.n);
    // Validators are numbered in public-key order, so with equal trust the primary of view v is replica v mod n.
    const pairs = (keysOverride?.seeds ?? Array.from({ length: opts.n }, (_, i) => seedOf(i))).map((seed) => ({
      seed,
      key: replicaPublicKey(seed),
    }));
    pairs.sort((a, b) => Buffer.compare(a.key, b.key));
    this.seeds = pairs.map((p) => p.seed);
    this.keys = pairs.map((p) => p.key);
    this.replicas = this.seeds.map((secretKey, self) => this.make(self, secretKey));
    const per = <T>(): T[][] => Array.from({ length: opts.n }, () => []);
    this.executed = per();
    this.rejected = per();
    this.stable = per();
    this.viewChanges = per();
    this.fetches = per();
    this.timers = Array.from({ length: opts.n }, () => new Set<TimerKind>());
    this.viewChangeAttempts = Array.from({ length: opts.n }, () => []);
    this.stateDigest = Array.from({ length: opts.n }, () => new Uint8Array(32));
    this.history = Array.from({ length: opts.n }, () => new Map());
  }

  make(self: number, secretKey: Uint8Array, extra: Partial<ReplicaOptions> = {}): Replica {
    return new Replica({
      checkpointInterval: 4,
      watermarkWindow: 8,
      maxBatch: 4,
      ...this.opts,
      ...extra,
      validators: this.keys,
      self,
      secretKey,
    });
  }

  /** A crash and restart without memory: a fresh replica and a fresh host state (genesis). */
  restart(i: number): void {
    this.replicas[i]!.dispose();
    this.replicas[i] = this.make(i, this.seeds[i]!);
    this.stateDigest[i] = new Uint8Array(32);
    this.history[i]!.clear();
    this.timers[i]!.clear();
    this.unserved.delete(i);
    this.executed[i]!.length = 0;
  }

  dispose(): void {
    for (const r of this.replicas) r.dispose();
  }

  step(i: number, ev: ReplicaEvent): ReplicaAction[] {
    const actions = this.replicas[i]!.step(ev);
    for (const a of actions) this.handle(i, a);
    return actions;
  }

  handle(i: number, a: ReplicaAction): void {
    switch (a.kind) {
      case 'send':
        this.net.push({ from: i, to: a.to, bytes: a.bytes });
        break;
      case 'broadcast':
        for (let j = 0; j < this.n; j++) if (j !== i) this.net.push({ from: i, to: j, bytes: a.bytes });
        break;
      case 'setTimer':
        this.timers[i]!.add(a.timer);
        if (a.timer === 'viewChange') this.viewChangeAttempts[i]!.push(a.attempt);
        break;
      case 'cancelTimer':
        this.timers[i]!.delete(a.timer);
        break;
      case 'execute': {
        this.executed[i]!.push({ ...a });
        const d = sha256(this.stateDigest[i]!, a.batchDigest);
        this.stateDigest[i] = d;
        this.history[i]!.set(a.seq, d);
        const trust = this.trustUpdates.get(a.seq);
        this.step(i, { kind: 'executed', seq: a.seq, stateDigest: d, ...(trust ? { trust } : {}) });
        break;
      }
      case 'checkpointStable':
        this.stable[i]!.push({ seq: a.seq, stateDigest: a.stateDigest, replicaState: a.replicaState, certificate: a.certificate });
        // A host whose fetch no peer could serve yet asks again: served here once a peer it asked has the state.
        for (const [j, want] of [...this.unserved]) {
          if (want.seq === a.seq && want.peers.includes(i)) {
            this.unserved.delete(j);
            this.transferState(j, want.seq, [i]);
          }
        }
        break;
      case 'viewChanged':
        this.viewChanges[i]!.push({ view: a.view, primary: a.primary });
        break;
      case 'fetchState':
        this.fetches[i]!.push({ seq: a.seq, stateDigest: a.stateDigest, peers: a.peers });
        if (this.autoStateTransfer && !this.transferState(i, a.seq, a.peers)) this.unserved.set(i, { seq: a.seq, peers: a.peers });
        break;
      case 'rejected':
        this.rejected[i]!.push({ reason: a.reason, from: a.from });
        break;
    }
  }

  /** What a host does on fetchState: take a peer's stable snapshot at seq and install it (false: none has it yet). */
  transferState(i: number, seq: number, peers: number[]): boolean {
    for (const p of peers) {
      const s = this.stable[p]!.find((r) => r.seq === seq);
      if (!s) continue;
      this.stateDigest[i] = s.stateDigest;
      this.step(i, { kind: 'stateInstalled', seq, stateDigest: s.stateDigest, replicaState: s.replicaState });
      return true;
    }
    return false;
  }

  /** Delivers queued messages (FIFO) until the network is quiet. */
  deliver(maxSteps = 200_000): number {
    let steps = 0;
    while (this.net.length > 0 && steps < maxSteps) {
      const d = this.net.shift()!;
      if (!this.filter(d)) continue;
      this.step(d.to, { kind: 'message', bytes: d.bytes, now: this.now, from: d.from });
      steps++;
    }
    return steps;
  }

  submit(req: Uint8Array, to: number[] = [...Array(this.n).keys()]): void {
    for (const i of to) this.step(i, { kind: 'request', bytes: req, now: this.now });
  }

  fire(i: number, timer: TimerKind): void {
    this.timers[i]!.delete(timer);
    this.step(i, { kind: 'timer', timer, now: this.now });
  }

  /** Fires every replica's pending batch timers until none is left and the network is quiet. */
  settle(): void {
    for (let round = 0; round < 100; round++) {
      this.deliver();
      let fired = false;
      for (let i = 0; i < this.n; i++) {
        if (this.timers[i]!.has('batch')) {
          this.fire(i, 'batch');
          fired = true;
        }
      }
      if (!fired && this.net.length === 0) return;
    }
  }

  reasons(i: number): string[] {
    return this.rejected[i]!.map((r) => r.reason);
  }
}

export const clientSeed = (c: number): Uint8Array => seedOf(200 + c, 9);

export function request(client: number, seq: number, payload = `op-${client}-${seq}`): Uint8Array {
  return encodeClientRequest(clientSeed(client), seq, new TextEncoder().encode(payload));
}

/**
 * The set-up every replica test file shares: the wasm core loaded once, and every cluster a test makes
 * disposed after it. Returns the function tests make clusters with.
 */
export function useClusters(): (opts: ClusterOptions, keys?: { seeds?: Uint8Array[] }) => Cluster {
  const made: Cluster[] = [];
  beforeAll(() => initCore());
  afterEach(() => {
    for (const c of made.splice(0)) c.dispose();
  });
  return (opts, keys) => {
    const c = new Cluster(opts, keys);
    made.push(c);
    return c;
  };
}
