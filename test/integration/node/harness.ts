// A consortium of real ClinicNodes in one Node process: fake-indexeddb for their databases, SimNetwork
// between them, its virtual clock pumped at wall-clock pace (the nodes' storage and WebCrypto work is real
// and asynchronous, so virtual time must not outrun it).
import 'fake-indexeddb/auto';
import { afterAll, beforeAll } from 'vitest';
import { ed25519PublicKey, initCore } from '../../../wasm/index.ts';
import { MemoryLedgerStore } from '../../../web/src/core/ledger/store.ts';
import { SimNetwork } from '../../../web/src/core/net/sim-network.ts';
import { ClinicNode } from '../../../web/src/core/node/clinic-node.ts';
import { PatientClient } from '../../../web/src/core/node/patient-client.ts';
import { verifierFor } from '../../../web/src/core/node/boot.ts';
import type { Trainer } from '../../../web/src/core/fl/index.ts';
import { parseGenesis, treatmentAgreements, type Genesis } from '../../../web/src/core/node/genesis.ts';
import { Prng, toHex } from '../../../web/src/core/util/index.ts';

export { syntheaBundle } from '../../unit/records/synthea.ts';

export interface TestConsortium {
  readonly genesis: Genesis;
  readonly nodes: ClinicNode[];
  readonly net: SimNetwork;
  readonly seeds: Uint8Array[];
  /** Starts a tablet that is not in the genesis (a clinic to be admitted) on the same network. */
  join(seed: Uint8Array): Promise<ClinicNode>;
  /** A phone on the same network (its enrolment rooms are the same network in this harness). */
  phone(seed: Uint8Array): Promise<PatientClient>;
  /** Resolves when `pred` holds (checked every few ms), or rejects after `ms`. */
  until(pred: () => boolean, ms?: number, what?: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts a consortium before the enclosing describe's tests and stops it after them. The answer stands for it:
 * read its fields and call its methods inside tests (before the start they throw).
 */
export function useConsortium(opts: ConsortiumOptions): TestConsortium {
  let started: TestConsortium | undefined;
  beforeAll(async () => {
    started = await startConsortium(opts);
  });
  afterAll(async () => {
    await started?.stop();
  });
  return new Proxy({} as TestConsortium, {
    get(_, key) {
      if (!started) throw new Error('the consortium is not started (use it inside a test)');
      const v: unknown = Reflect.get(started, key);
      return typeof v === 'function' ? v.bind(started) : v;
    },
  });
}

let dbCounter = 0;

export interface ConsortiumOptions {
  readonly clinics?: number;
  readonly seed?: number;
  readonly checkpointInterval?: number;
  readonly trainer?: () => Promise<Trainer>;
  /** The nodes' re-send timeout for transactions not yet committed (default theirs, 3 s). */
  readonly resendMs?: number;
}

export async function startConsortium(opts: ConsortiumOptions = {}): Promise<TestConsortium> {
  await initCore();
  const n = opts.clinics ?? 4;
  const rng = new Prng(opts.seed ?? 1);
  const seeds = Array.from({ length: n }, () => rng.bytes(32));
  const base = Date.now();
  const clinics = seeds.map((s, i) => ({ id: `clinic-${i + 1}`, name: `clinic-${i + 1}`, nodeKey: toHex(ed25519PublicKey(s)), validator: true }));
  const K = opts.checkpointInterval ?? 8;
  const genesis = parseGenesis({
    version: 1,
    chainId: 'hygeia-test',
    createdAt: base,
    consensus: { checkpointInterval: K, watermarkWindow: 4 * K, maxBatch: 64 },
    clinics,
    agreements: treatmentAgreements(
      clinics.map((c) => c.id),
      base - 1000,
    ),
  });
  const net = new SimNetwork({ seed: opts.seed ?? 1, link: { minDelay: 1, jitter: 2 } });
  const clock = { now: () => base + Math.floor(net.clock.now()), schedule: (ms: number, fn: () => void) => net.clock.schedule(ms, fn) };
  const started = performance.now();
  const pump = setInterval(() => net.clock.runUntil(Math.floor(performance.now() - started)), 1);
  const prefix = `tc${++dbCounter}`;
  const startNode = (seed: Uint8Array, name: string): Promise<ClinicNode> =>
    ClinicNode.start({
      genesis,
      seed,
      clinicKey: rng.bytes(32),
      transport: net.join(toHex(ed25519PublicKey(seed))),
      clock,
      dbPrefix: `${prefix}-${name}`,
      ledgerStore: new MemoryLedgerStore(),
      timers: { batchMs: 2, viewChangeBaseMs: 1500, viewChangeMaxMs: 8000, stateTransferMs: 800 },
      ...(opts.trainer ? { trainer: opts.trainer } : {}),
      ...(opts.resendMs ? { resendMs: opts.resendMs } : {}),
    });
  const nodes = await Promise.all(seeds.map((seed, i) => startNode(seed, String(i))));
  const phones: PatientClient[] = [];
  return {
    genesis,
    nodes,
    net,
    seeds,
    async join(seed) {
      const node = await startNode(seed, `joined-${nodes.length}`);
      nodes.push(node);
      return node;
    },
    async phone(seed) {
      const main = net.join(toHex(ed25519PublicKey(seed)));
      const p = await PatientClient.start({
        genesis,
        seed,
        network: { main, enrolment: async () => ({ transport: main, close: async () => {} }) },
        dbName: `${prefix}-phone-${phones.length}`,
        now: clock.now,
        verify: verifierFor(genesis),
      });
      phones.push(p);
      return p;
    },
    async until(pred, ms = 30_000, what = 'condition') {
      const t0 = performance.now();
      while (!pred()) {
        if (performance.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    async stop() {
      for (const p of phones) await p.stop();
      for (const x of nodes) await x.stop();
      clearInterval(pump);
    },
  };
}
