// An in-process network for n nodes: every send becomes an event on a clock, and seeded faults (delay, loss,
// duplication, reordering, partitions, crashes) decide its fate. On the VirtualClock (the default) nothing
// reads the real clock or Math.random, so one seed replays one run exactly; on the system clock
// (SystemScheduler) the same seeded delays play out in real time, for harnesses that run real nodes with real
// timers (the evaluation, the FL command). WAN_LINK models a wide-area link: 20-80 ms one way, seeded uniform
// jitter, in order per direction (as the ordered data channel is). It implements Transport, so the consensus
// adapter runs over it unchanged.

import { MinHeap, Prng, ReasonError, subscribe } from '../util/index.ts';
import type { MessageHandler, PeerHandler, PeerId, PeerState, Transport } from './transport.ts';

/** A handle on a scheduled callback; calling it cancels the callback if it has not run. */
export type Cancel = () => void;

/** Time in milliseconds and timers: what the network schedules deliveries on (the consensus Clock's shape). */
export interface Scheduler {
  now(): number;
  schedule(delayMs: number, fn: () => void): Cancel;
}

/**
 * The system clock: Date.now, and callbacks run in real time in the order of their due times (ties in the
 * order scheduled). One timer is armed for the earliest; setTimeout alone would not keep that order, since
 * Node dates a timer from its loop's cached time while the due time here is computed from Date.now.
 */
export class SystemScheduler implements Scheduler {
  private seq = 0;
  private readonly queue = new MinHeap<ClockEvent>((a, b) => a.at < b.at || (a.at === b.at && a.seq < b.seq));
  private timer: ReturnType<typeof setTimeout> | null = null;
  private armedFor = Infinity;

  now(): number {
    return Date.now();
  }

  schedule(delayMs: number, fn: () => void): Cancel {
    if (!(delayMs >= 0) || !Number.isFinite(delayMs)) throw new RangeError('delay must be a finite non-negative number');
    const ev: ClockEvent = { at: this.now() + delayMs, seq: this.seq++, fn, live: true };
    this.queue.push(ev);
    this.arm();
    return () => {
      ev.live = false;
    };
  }

  private arm(): void {
    while (this.queue.size > 0 && !this.queue.peek()!.live) this.queue.pop();
    const head = this.queue.peek();
    if (!head || head.at >= this.armedFor) return;
    if (this.timer) clearTimeout(this.timer);
    this.armedFor = head.at;
    this.timer = setTimeout(() => this.fire(), Math.max(0, head.at - this.now()));
  }

  private fire(): void {
    this.timer = null;
    this.armedFor = Infinity;
    const now = this.now();
    for (let ev = this.queue.peek(); ev && ev.at <= now; ev = this.queue.peek()) {
      this.queue.pop();
      if (ev.live) ev.fn();
    }
    this.arm();
  }
}

interface ClockEvent {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
  live: boolean;
}

/** Virtual time in milliseconds, and a deterministic queue of callbacks ordered by (time, insertion order). */
export class VirtualClock implements Scheduler {
  private time = 0;
  private seq = 0;
  private readonly heap = new MinHeap<ClockEvent>((a, b) => a.at < b.at || (a.at === b.at && a.seq < b.seq));

  now(): number {
    return this.time;
  }

  /** Runs `fn` after `delayMs` of virtual time (0 means later in this instant, after what is queued). */
  schedule(delayMs: number, fn: () => void): Cancel {
    if (!(delayMs >= 0) || !Number.isFinite(delayMs)) throw new RangeError('delay must be a finite non-negative number');
    const ev = { at: this.time + delayMs, seq: this.seq++, fn, live: true };
    this.heap.push(ev);
    return () => {
      ev.live = false;
    };
  }

  /** Number of queued callbacks (including cancelled ones not yet popped). */
  get pending(): number {
    return this.heap.size;
  }

  /** Time of the next live event, or undefined if none. */
  peekTime(): number | undefined {
    while (this.heap.size > 0 && !this.heap.peek()!.live) this.heap.pop();
    return this.heap.peek()?.at;
  }

  /** Runs the next live event; false if there was none. */
  step(): boolean {
    for (;;) {
      const ev = this.heap.pop();
      if (!ev) return false;
      if (!ev.live) continue;
      this.time = ev.at;
      ev.fn();
      return true;
    }
  }

  /** Runs events up to and including time `t`, then sets the clock to `t`. Returns the number run. */
  runUntil(t: number, maxEvents = Number.POSITIVE_INFINITY): number {
    let n = 0;
    for (;;) {
      const next = this.peekTime();
      if (next === undefined || next > t || n >= maxEvents) break;
      this.step();
      n++;
    }
    if (this.time < t && n < maxEvents) this.time = t;
    return n;
  }

  /** Runs for `ms` of virtual time from now. */
  advance(ms: number, maxEvents?: number): number {
    return this.runUntil(this.time + ms, maxEvents);
  }

  /** Runs until `done()` holds or virtual time passes `deadline`; returns whether `done()` held. */
  runUntilCondition(done: () => boolean, deadline: number, maxEvents = 50_000_000): boolean {
    let n = 0;
    while (!done()) {
      const next = this.peekTime();
      if (next === undefined || next > deadline || n++ >= maxEvents) {
        if (next === undefined || next > deadline) this.time = Math.max(this.time, deadline);
        return done();
      }
      this.step();
    }
    return true;
  }
}

/** How one directed link behaves. Delays are in milliseconds of the network's clock. */
export interface LinkProfile {
  /** Minimum one-way delay. */
  readonly minDelay: number;
  /** The jitter added to minDelay: the mean of an exponential, or the width of a uniform (0: fixed delay, FIFO). */
  readonly jitter: number;
  /** How jitter is drawn (default 'exponential'). */
  readonly jitterKind?: 'exponential' | 'uniform';
  /** Deliver in send order on this directed link, whatever the drawn delays (an ordered channel). */
  readonly fifo?: boolean;
  /** Probability that a message is dropped. */
  readonly loss: number;
  /** Probability that a message is delivered twice (the copy with its own delay). */
  readonly duplicate: number;
  /** Probability that a message is held back by an extra `reorderDelay`, so later ones overtake it. */
  readonly reorder: number;
  readonly reorderDelay: number;
}

export const DEFAULT_LINK: LinkProfile = { minDelay: 1, jitter: 1, loss: 0, duplicate: 0, reorder: 0, reorderDelay: 10 };

/** A wide-area link between clinics: 20 to 80 ms one way, uniform seeded jitter, in order per direction. */
export const WAN_LINK: LinkProfile = { minDelay: 20, jitter: 60, jitterKind: 'uniform', fifo: true, loss: 0, duplicate: 0, reorder: 0, reorderDelay: 0 };

/**
 * What the network does with one message just before it is scheduled: return the (possibly altered) copies to
 * deliver, or an empty array to drop it. Used by tests to model Byzantine links or record traffic.
 */
export type Interceptor = (from: PeerId, to: PeerId, bytes: Uint8Array) => Uint8Array[];

export interface SimNetworkOptions<C extends Scheduler = VirtualClock> {
  readonly seed: number;
  readonly link?: Partial<LinkProfile>;
  /**
   * The clock deliveries are scheduled on: one to share with the nodes' timers (a VirtualClock, or a
   * SystemScheduler for real time); a new VirtualClock otherwise.
   */
  readonly clock?: C;
}

export interface SimNetworkStats {
  sent: number;
  delivered: number;
  dropped: number;
  duplicated: number;
  bytes: number;
}

export class SimNetworkError extends ReasonError<'unknown-peer' | 'peer-exists' | 'peer-up' | 'bad-profile'> {
  override readonly name = 'SimNetworkError';
}

interface NodeSlot {
  id: PeerId;
  up: boolean;
  /** Bumped on every crash, so messages in flight to an earlier incarnation are not delivered to a later one. */
  incarnation: number;
  transport: SimTransport | null;
}

export class SimNetwork<C extends Scheduler = VirtualClock> {
  readonly clock: C;
  readonly stats: SimNetworkStats = { sent: 0, delivered: 0, dropped: 0, duplicated: 0, bytes: 0 };
  private readonly rng: Prng;
  private readonly nodes = new Map<PeerId, NodeSlot>();
  private readonly order: PeerId[] = [];
  private defaultProfile: LinkProfile;
  private readonly linkProfiles = new Map<string, LinkProfile>();
  /** Partition group per node; nodes talk only within a group. Empty map: fully connected. */
  private group = new Map<PeerId, number>();
  private interceptor: Interceptor | null = null;
  /** Per directed FIFO link: the time of its last scheduled delivery. */
  private readonly lastDelivery = new Map<string, number>();

  constructor(opts: SimNetworkOptions<C>) {
    this.rng = new Prng(opts.seed).fork('sim-network');
    this.clock = opts.clock ?? (new VirtualClock() as unknown as C);
    this.defaultProfile = checkProfile({ ...DEFAULT_LINK, ...opts.link });
  }

  /** Adds a node and returns its transport. Nodes already up see it connect. */
  join(id: PeerId): Transport {
    if (this.nodes.has(id)) throw new SimNetworkError('peer-exists', 'a node with this id already joined');
    const slot: NodeSlot = { id, up: true, incarnation: 0, transport: null };
    this.nodes.set(id, slot);
    this.order.push(id);
    slot.transport = new SimTransport(this, slot.id, 0);
    this.announce(id, 'connected');
    return slot.transport;
  }

  /** Every node id, in join order. */
  ids(): PeerId[] {
    return [...this.order];
  }

  isUp(id: PeerId): boolean {
    return this.slot(id).up;
  }

  /** Stops a node: its transport goes silent, messages in flight to it are lost, its peers see it leave. */
  crash(id: PeerId): void {
    const slot = this.slot(id);
    if (!slot.up) return;
    slot.up = false;
    slot.incarnation++;
    slot.transport?.detach();
    slot.transport = null;
    this.announce(id, 'disconnected');
  }

  /** Brings a crashed node back with a fresh transport (the node's software restarts from its storage). */
  restart(id: PeerId): Transport {
    const slot = this.slot(id);
    if (slot.up) throw new SimNetworkError('peer-up', 'restart of a node that is up');
    slot.up = true;
    slot.transport = new SimTransport(this, id, slot.incarnation);
    this.announce(id, 'connected');
    return slot.transport;
  }

  /** Sets the profile of the directed link a -> b (or both directions with `symmetric`). */
  setLink(a: PeerId, b: PeerId, profile: Partial<LinkProfile>, symmetric = true): void {
    this.slot(a);
    this.slot(b);
    const p = checkProfile({ ...this.defaultProfile, ...profile });
    this.linkProfiles.set(linkKey(a, b), p);
    if (symmetric) this.linkProfiles.set(linkKey(b, a), p);
  }

  /** Changes the profile of every link without an explicit one. */
  setDefaultLink(profile: Partial<LinkProfile>): void {
    this.defaultProfile = checkProfile({ ...this.defaultProfile, ...profile });
  }

  /** Splits the network: nodes talk only to nodes in their own group; nodes in no group are isolated. */
  partition(groups: readonly (readonly PeerId[])[]): void {
    const before = this.connectivitySnapshot();
    this.group = new Map();
    groups.forEach((g, i) => {
      for (const id of g) {
        this.slot(id);
        this.group.set(id, i);
      }
    });
    for (const id of this.order) if (!this.group.has(id)) this.group.set(id, -1 - this.order.indexOf(id));
    this.announceChanges(before);
  }

  /** Removes every partition. */
  heal(): void {
    const before = this.connectivitySnapshot();
    this.group = new Map();
    this.announceChanges(before);
  }

  /** Installs (or removes, with null) the interceptor every message passes through. */
  intercept(fn: Interceptor | null): void {
    this.interceptor = fn;
  }

  /** True if a and b are both up and not partitioned from each other. */
  connected(a: PeerId, b: PeerId): boolean {
    if (a === b) return false;
    const sa = this.nodes.get(a);
    const sb = this.nodes.get(b);
    if (!sa?.up || !sb?.up) return false;
    if (this.group.size === 0) return true;
    return this.group.get(a) === this.group.get(b);
  }

  /** The peers `id` is connected to now, in join order. */
  peersOf(id: PeerId): PeerId[] {
    return this.order.filter((p) => this.connected(id, p));
  }

  /** @internal called by SimTransport. */
  submit(from: PeerId, to: PeerId, bytes: Uint8Array): void {
    this.stats.sent++;
    this.stats.bytes += bytes.length;
    if (!this.connected(from, to)) {
      this.stats.dropped++;
      return;
    }
    const copies = this.interceptor ? this.interceptor(from, to, bytes.slice()) : [bytes.slice()];
    const p = this.linkProfiles.get(linkKey(from, to)) ?? this.defaultProfile;
    for (const copy of copies) {
      if (this.rng.chance(p.loss)) {
        this.stats.dropped++;
        continue;
      }
      this.schedule(from, to, copy, p);
      if (this.rng.chance(p.duplicate)) {
        this.stats.duplicated++;
        this.schedule(from, to, copy.slice(), p);
      }
    }
  }

  private schedule(from: PeerId, to: PeerId, bytes: Uint8Array, p: LinkProfile): void {
    const jitter = p.jitter <= 0 ? 0 : p.jitterKind === 'uniform' ? this.rng.float() * p.jitter : this.rng.exponential(p.jitter);
    let delay = p.minDelay + jitter;
    if (this.rng.chance(p.reorder)) delay += p.reorderDelay;
    if (p.fifo) {
      // An ordered channel: nothing overtakes what was sent before it on this direction.
      const key = linkKey(from, to);
      const now = this.clock.now();
      delay = Math.max(delay, (this.lastDelivery.get(key) ?? 0) - now);
      this.lastDelivery.set(key, now + delay);
    }
    const target = this.slot(to);
    const incarnation = target.incarnation;
    this.clock.schedule(delay, () => {
      // A partition or crash that happened while the message was in flight loses it.
      if (!target.up || target.incarnation !== incarnation || !this.connected(from, to)) {
        this.stats.dropped++;
        return;
      }
      this.stats.delivered++;
      target.transport?.deliver(from, bytes);
    });
  }

  private slot(id: PeerId): NodeSlot {
    const s = this.nodes.get(id);
    if (!s) throw new SimNetworkError('unknown-peer', 'no node with this id joined the network');
    return s;
  }

  private connectivitySnapshot(): Set<string> {
    const s = new Set<string>();
    for (const a of this.order) for (const b of this.order) if (this.connected(a, b)) s.add(linkKey(a, b));
    return s;
  }

  private announceChanges(before: Set<string>): void {
    const after = this.connectivitySnapshot();
    for (const a of this.order) {
      const t = this.nodes.get(a)?.transport;
      if (!t) continue;
      for (const b of this.order) {
        const k = linkKey(a, b);
        if (before.has(k) && !after.has(k)) t.notifyPeer(b, 'disconnected');
        if (!before.has(k) && after.has(k)) t.notifyPeer(b, 'connected');
      }
    }
  }

  private announce(id: PeerId, state: PeerState): void {
    for (const other of this.order) {
      if (other === id) continue;
      const t = this.nodes.get(other)?.transport;
      if (!t) continue;
      if (state === 'connected' && !this.connected(other, id)) continue;
      t.notifyPeer(id, state);
    }
  }
}

class SimTransport implements Transport {
  private readonly messageHandlers = new Set<MessageHandler>();
  private readonly peerHandlers = new Set<PeerHandler>();
  private attached = true;

  constructor(
    private readonly net: SimNetwork<Scheduler>,
    readonly self: PeerId,
    readonly incarnation: number,
  ) {}

  send(to: PeerId, bytes: Uint8Array): void {
    if (!this.attached || to === this.self) return;
    this.net.submit(this.self, to, bytes);
  }

  broadcast(bytes: Uint8Array): void {
    if (!this.attached) return;
    for (const p of this.net.peersOf(this.self)) this.net.submit(this.self, p, bytes);
  }

  onMessage(handler: MessageHandler): () => void {
    return subscribe(this.messageHandlers, handler);
  }

  onPeer(handler: PeerHandler): () => void {
    return subscribe(this.peerHandlers, handler);
  }

  peers(): PeerId[] {
    return this.attached ? this.net.peersOf(this.self) : [];
  }

  async close(): Promise<void> {
    if (this.attached && this.net.isUp(this.self)) this.net.crash(this.self);
    this.detach();
  }

  /** @internal */
  detach(): void {
    this.attached = false;
    this.messageHandlers.clear();
    this.peerHandlers.clear();
  }

  /** @internal */
  deliver(from: PeerId, bytes: Uint8Array): void {
    if (!this.attached) return;
    for (const h of [...this.messageHandlers]) h(from, bytes);
  }

  /** @internal */
  notifyPeer(peer: PeerId, state: PeerState): void {
    if (!this.attached) return;
    for (const h of [...this.peerHandlers]) h(peer, state);
  }
}

function linkKey(a: PeerId, b: PeerId): string {
  return `${a}>${b}`;
}

function checkProfile(p: LinkProfile): LinkProfile {
  const prob = (x: number) => x >= 0 && x <= 1;
  if (!(p.minDelay >= 0) || !(p.jitter >= 0) || !(p.reorderDelay >= 0) || !prob(p.loss) || !prob(p.duplicate) || !prob(p.reorder)) {
    throw new SimNetworkError('bad-profile', 'link profile: delays must be >= 0 and probabilities in [0, 1]');
  }
  return p;
}
