// A consortium of n clinics in one process, for the FL command and the tests until the clinic node composes
// the services itself: every clinic has a node key (its genesis admin key and, with PBFT, its validator key),
// a Transport on one SimNetwork, and a LedgerPort over either one shared MemoryLedger ('memory') or its own
// wasm PBFT replica under a ConsensusNode executing its own HygeiaContracts ('pbft'), all on the network's
// virtual clock. `run` pumps that clock while the caller's work is pending; it never lets virtual time jump
// ahead while a trainer works in real time, so deadlines measure protocol time, not the machine's speed.
// Seeded: one seed, one set of keys, one network schedule. Test keys only.
import { Ed25519Signer, Replica, encodeClientRequest } from '../../../../wasm/index.ts';
import { ConsensusNode, clientPayload, replicaStartOptions } from '../consensus/index.ts';
import type { ApplyResult } from '../ledger/app.ts';
import { HygeiaContracts, MemoryLedger, TxAuthor, txId, type ContractsGenesis } from '../ledger/contracts/index.ts';
import { MemoryLedgerStore } from '../ledger/store.ts';
import { SimNetwork, type LinkProfile } from '../net/sim-network.ts';
import type { Transport } from '../net/transport.ts';
import { Prng, equalBytes, toHex } from '../util/index.ts';
import { TRUST_RULE, trustVector } from '../security/index.ts';
import type { Schedule } from './blob-exchange.ts';
import { LedgerPortError, type CommittedBlock, type CommittedHead, type LedgerPort } from './ledger-port.ts';

export type LedgerKind = 'memory' | 'pbft';

export interface SimConsortiumOptions {
  readonly clinics: number;
  readonly ledger: LedgerKind;
  readonly seed: number;
  /** Block time of virtual time 0 (default 2026-01-05T08:00Z). */
  readonly t0?: number;
  readonly link?: Partial<LinkProfile>;
  /** PBFT checkpoint interval (default 16). */
  readonly checkpointInterval?: number;
  /** Order PBFT's leaders by the committed trust scores (default true), skipping at most f below the floor. */
  readonly leadersByTrust?: boolean;
}

export interface SimClinic {
  readonly id: string;
  /** The node key's public half (hex): the clinic's peer id and validator key. */
  readonly peer: string;
  readonly author: TxAuthor;
  readonly transport: Transport;
  readonly ledger: LedgerPort;
}

export class SimConsortiumError extends Error {
  override readonly name = 'SimConsortiumError';
}

/** Virtual time the pump runs ahead by while a trainer is busy (messages flow; long timers wait). */
const HORIZON_MS = 50;

export class SimConsortium {
  readonly net: SimNetwork;
  readonly clinics: SimClinic[];
  readonly genesis: ContractsGenesis;
  readonly schedule: Schedule;
  /** The PBFT hosts, one per clinic ('pbft' only), for tests that look at views and primaries. */
  readonly consensus: readonly ConsensusNode[];
  private readonly stops: (() => Promise<void>)[] = [];

  private constructor(net: SimNetwork, clinics: SimClinic[], genesis: ContractsGenesis, consensus: ConsensusNode[], stops: (() => Promise<void>)[]) {
    this.net = net;
    this.clinics = clinics;
    this.genesis = genesis;
    this.consensus = consensus;
    this.schedule = (ms, fn) => net.clock.schedule(ms, fn);
    this.stops = stops;
  }

  static async create(o: SimConsortiumOptions): Promise<SimConsortium> {
    if (!Number.isInteger(o.clinics) || o.clinics < 1 || o.clinics > 64) throw new SimConsortiumError('1 to 64 clinics');
    const prng = new Prng(o.seed).fork('sim-consortium');
    const seeds = Array.from({ length: o.clinics }, () => prng.bytes(32));
    const signers = seeds.map((s) => new Ed25519Signer(s));
    const ids = signers.map((_, i) => `clinic-${i + 1}`);
    const genesis: ContractsGenesis = {
      orgs: ids.map((id, i) => ({ id, name: id, adminKey: signers[i]!.publicKey, validator: true })),
      checkpointInterval: o.checkpointInterval ?? 16,
    };
    const net = new SimNetwork({ seed: o.seed, link: { minDelay: 1, jitter: 1, ...o.link } });
    const t0 = o.t0 ?? Date.UTC(2026, 0, 5, 8);
    const now = (): number => t0 + net.clock.now();
    const transports = signers.map((s) => net.join(toHex(s.publicKey)));
    const stops: (() => Promise<void>)[] = [];
    let ports: LedgerPort[];
    let consensus: ConsensusNode[] = [];
    if (o.ledger === 'memory') ports = memoryPorts(genesis, signers, net, now);
    else {
      const made = await pbftPorts(genesis, seeds, transports, net, now, prng.fork('clients'), o);
      ports = made.ports;
      consensus = made.nodes;
      stops.push(made.stop);
    }
    const clinics = ids.map((id, i) => ({ id, peer: toHex(signers[i]!.publicKey), author: new TxAuthor(signers[i]!, { now }), transport: transports[i]!, ledger: ports[i]! }));
    return new SimConsortium(net, clinics, genesis, consensus, stops);
  }

  /**
   * Runs the virtual clock until `work` settles: events within HORIZON_MS of now always, later ones only when
   * `busy()` says no real-time work (training) is in progress. Fails if nothing can happen any more.
   */
  async run<T>(work: Promise<T>, busy: () => boolean = () => false, maxVirtualMs = 7 * 86_400_000): Promise<T> {
    let settled = false;
    let result: { ok: true; value: T } | { ok: false; error: unknown } | null = null;
    work.then(
      (value) => ((settled = true), (result = { ok: true, value })),
      (error: unknown) => ((settled = true), (result = { ok: false, error })),
    );
    const clock = this.net.clock;
    let idleYields = 0;
    while (!settled) {
      const next = clock.peekTime();
      if (next !== undefined && next <= clock.now() + HORIZON_MS) {
        clock.runUntil(Math.min(next + HORIZON_MS, clock.now() + HORIZON_MS), 2000);
        idleYields = 0;
        await yieldToEventLoop();
        continue;
      }
      // Nothing due soon: let promises and workers progress before deciding to jump ahead.
      await yieldToEventLoop();
      if (settled) break;
      if (busy()) {
        await sleep(1);
        continue;
      }
      if (++idleYields < 3) continue;
      if (next === undefined) throw new SimConsortiumError('the consortium is idle and the work did not finish');
      if (next > maxVirtualMs) throw new SimConsortiumError('virtual time ran out before the work finished');
      clock.runUntil(next, 1);
      idleYields = 0;
    }
    const r = result as unknown as { ok: true; value: T } | { ok: false; error: unknown };
    if (!r.ok) throw r.error;
    return r.value;
  }

  async close(): Promise<void> {
    for (const s of this.stops) await s();
  }
}

const yieldToEventLoop = (): Promise<void> => new Promise((r) => setImmediate(r));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

type Listener = (b: CommittedBlock) => void;

/** One MemoryLedger for everyone: submissions commit together in a block 2 virtual ms later. */
function memoryPorts(genesis: ContractsGenesis, signers: readonly Ed25519Signer[], net: SimNetwork, now: () => number): LedgerPort[] {
  const ledger = new MemoryLedger(genesis, signers);
  const listeners: Listener[][] = genesis.orgs.map(() => []);
  let queue: { tx: Uint8Array; resolve: (r: ApplyResult) => void }[] = [];
  let head: CommittedHead = { height: 0, time: 0 };
  const commit = (): void => {
    const batch = queue;
    queue = [];
    const results = ledger.commit(
      batch.map((b) => b.tx),
      now(),
    );
    head = { height: ledger.height, time: ledger.time };
    const block: CommittedBlock = { ...head, txs: batch.map((b) => b.tx) };
    for (const list of listeners) for (const fn of [...list]) fn(block);
    batch.forEach((b, i) => b.resolve(results[i]!.result));
  };
  return genesis.orgs.map((_, i) => ({
    submit(tx) {
      return new Promise<ApplyResult>((resolve) => {
        if (queue.length === 0) net.clock.schedule(2, commit);
        queue.push({ tx, resolve });
      });
    },
    onCommitted(fn) {
      listeners[i]!.push(fn);
      return () => {
        listeners[i] = listeners[i]!.filter((x) => x !== fn);
      };
    },
    contracts: () => ledger.app,
    head: () => head,
    now,
  }));
}

/** A wasm PBFT replica per clinic under a ConsensusNode executing that clinic's own contracts. */
async function pbftPorts(
  genesis: ContractsGenesis,
  seeds: Uint8Array[],
  transports: Transport[],
  net: SimNetwork,
  now: () => number,
  prng: Prng,
  o: SimConsortiumOptions,
): Promise<{ ports: LedgerPort[]; nodes: ConsensusNode[]; stop: () => Promise<void> }> {
  const keys = genesis.orgs.map((g) => g.adminKey);
  const K = genesis.checkpointInterval;
  const clock = { now, schedule: (ms: number, fn: () => void) => net.clock.schedule(ms, fn) };
  const nodes: ConsensusNode[] = [];
  const ports: LedgerPort[] = [];
  let stopped = false;
  for (let i = 0; i < keys.length; i++) {
    const app = new HygeiaContracts(genesis);
    const listeners: Listener[] = [];
    let head: CommittedHead = { height: 0, time: 0 };
    // The committed trust of each validator as of block seq's time, handed to the replica when it changed.
    let lastTrust = '';
    const trustAfter = (seq: number): number[] | undefined => {
      const time = node.block(seq)?.header.time;
      if (time === undefined) return undefined;
      const v = trustVector(app, keys, time);
      if (v.join() === lastTrust) return undefined;
      lastTrust = v.join();
      return v;
    };
    const node: ConsensusNode = new ConsensusNode({
      validators: keys,
      key: keys[i]!,
      // The start names the epoch the replica signs under: the id the host checks certificates against when a
      // lagging clinic fetches blocks from its peers.
      createReplica: (start) =>
        new Replica({ ...replicaStartOptions(start), secretKey: seeds[i]!, checkpointInterval: K, watermarkWindow: 4 * K, maxBatch: 64, trustFloor: TRUST_RULE.trustFloor }),
      transport: transports[i]!,
      clock,
      app,
      store: new MemoryLedgerStore(),
      checkpointInterval: K,
      timers: { batchMs: 2, viewChangeBaseMs: 1_000, viewChangeMaxMs: 16_000, stateTransferMs: 1_000 },
      ...(o.leadersByTrust === false ? {} : { trustAfter }),
      onEvent: (e) => {
        if (e.kind === 'stateInstalled') return caughtUp(e.seq);
        if (e.kind !== 'committed') return;
        const skipped = new Set(e.block.header.skipped);
        const txs: Uint8Array[] = [];
        e.block.txs.forEach((req, index) => {
          if (skipped.has(index)) return;
          const payload = clientPayload(req);
          if (payload) txs.push(payload);
          if (inFlight && equalBytes(req, inFlight.request)) inFlight.settle(e.results[index]!);
        });
        head = { height: e.block.header.height, time: e.block.header.time };
        for (const fn of [...listeners]) fn({ ...head, txs });
      },
    });
    nodes.push(node);
    const client = prng.bytes(32);
    let clientSeq = 0;
    // The request this clinic waits on (one at a time: a replica refuses a client's request whose sequence
    // number is below one it already executed, so a clinic's transactions commit in the order it made them).
    let inFlight: { tx: Uint8Array; request: Uint8Array; settle: (r: ApplyResult) => void; send: () => void } | null = null;
    // State transfer installed the blocks up to `seq` without executing them here: tell the listeners what
    // they hold, and settle the request in flight from the outcome the contracts kept, or send it afresh.
    const caughtUp = (seq: number): void => {
      for (let h = head.height + 1; h <= seq; h++) {
        const b = node.block(h);
        if (!b) continue;
        const skipped = new Set(b.header.skipped);
        const txs = b.txs.flatMap((req, index) => (skipped.has(index) ? [] : (clientPayload(req) ?? [])));
        head = { height: h, time: b.header.time };
        for (const fn of [...listeners]) fn({ ...head, txs });
      }
      if (!inFlight) return;
      const o = app.txOutcome(txId(inFlight.tx));
      if (o) inFlight.settle(o.ok ? { ok: true } : { ok: false, reason: o.reason });
      else inFlight.send();
    };
    let chain: Promise<unknown> = Promise.resolve();
    ports.push({
      submit(tx) {
        const run = chain.then(
          () =>
            new Promise<ApplyResult>((resolve, reject) => {
              if (stopped) return reject(new LedgerPortError('stopped', 'the node stopped'));
              let cancel = (): void => {};
              let attempts = 0;
              const flight = {
                tx,
                request: encodeClientRequest(client, ++clientSeq, tx),
                settle: (r: ApplyResult): void => {
                  cancel();
                  inFlight = null;
                  resolve(r);
                },
                send: (): void => {
                  if (inFlight !== flight) return;
                  cancel();
                  if (stopped || attempts++ > 60) {
                    inFlight = null;
                    return reject(new LedgerPortError(stopped ? 'stopped' : 'timeout', 'the transaction was not committed'));
                  }
                  // A client sends its request to every validator (the backups then watch the primary).
                  for (const n of nodes) n.submit(flight.request);
                  cancel = net.clock.schedule(2_000, flight.send);
                },
              };
              inFlight = flight;
              flight.send();
            }),
        );
        chain = run.catch(() => undefined);
        return run;
      },
      onCommitted(fn) {
        listeners.push(fn);
        return () => {
          const k = listeners.indexOf(fn);
          if (k >= 0) listeners.splice(k, 1);
        };
      },
      contracts: () => app,
      head: () => head,
      now,
    });
  }
  for (const n of nodes) await n.start();
  return {
    ports,
    nodes,
    stop: async () => {
      stopped = true;
      for (const n of nodes) await n.stop();
    },
  };
}
