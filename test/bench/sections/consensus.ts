// Consensus throughput and latency: n = 4 wasm replicas in one process, each driven by a ConsensusNode over
// an in-memory transport (SimNetwork with zero delay, so the wall clock measures only our work: every message
// signed and verified by the wasm core, blocks built and hashed), 256-byte client requests, a null-operation
// application. The PBFT paper's null-operation latency (Castro & Liskov, OSDI 1999: 3.35 ms for n = 4 with
// MACs on 1999 hardware) is quoted beside ours; ours uses Ed25519 signatures on every message.

import { Replica, encodeClientRequest, initCore } from '../../../wasm/index.ts';
import { ConsensusNode, replicaStartOptions } from '../../../web/src/core/consensus/index.ts';
import type { LedgerApp } from '../../../web/src/core/ledger/app.ts';
import { txHash } from '../../../web/src/core/ledger/block.ts';
import { MemoryLedgerStore } from '../../../web/src/core/ledger/store.ts';
import { Prng, toHex } from '../../../web/src/core/util/index.ts';
import { SimNetwork } from '../../../web/src/core/net/sim-network.ts';
import { publicKeyOf } from '../../sim/wire.ts';
import { quantile, type BenchSection, type Row } from '../harness.ts';

const N = 4;
const F = 1;
const PAYLOAD_BYTES = 256;
const PBFT_PAPER_NULL_OP_MS = 3.35;

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

interface Cluster {
  net: SimNetwork;
  nodes: ConsensusNode[];
  /** request hash -> number of replicas that executed it */
  executed: Map<string, number>;
  onQuorum: Map<string, () => void>;
}

async function makeCluster(seed: number, maxBatch: number): Promise<Cluster> {
  const rng = new Prng(seed);
  const secrets = Array.from({ length: N }, () => rng.bytes(32));
  const keys = secrets.map(publicKeyOf);
  const net = new SimNetwork({ seed, link: { minDelay: 0, jitter: 0 } });
  const executed = new Map<string, number>();
  const onQuorum = new Map<string, () => void>();
  const nodes: ConsensusNode[] = [];
  for (let i = 0; i < N; i++) {
    const node = new ConsensusNode({
      validators: keys,
      key: keys[i]!,
      createReplica: (s) => new Replica({ ...replicaStartOptions(s), secretKey: secrets[i]!, checkpointInterval: 128, watermarkWindow: 1024, maxBatch }),
      transport: net.join(toHex(keys[i]!)),
      clock: net.clock,
      app: new NullApp(),
      store: new MemoryLedgerStore(),
      checkpointInterval: 128,
      retainBlocks: 512,
      timers: { batchMs: 1 },
      payloadOf: (r) => r,
      onEvent: (e) => {
        if (e.kind !== 'committed') return;
        for (const tx of e.block.txs) {
          const h = toHex(txHash(tx));
          const k = (executed.get(h) ?? 0) + 1;
          executed.set(h, k);
          if (k === F + 1) onQuorum.get(h)?.();
        }
      },
    });
    await node.start();
    nodes.push(node);
  }
  return { net, nodes, executed, onQuorum };
}

function makeRequests(seed: number, count: number): Uint8Array[] {
  const rng = new Prng(seed);
  const clients = Array.from({ length: 64 }, () => rng.bytes(32));
  const seqs = new Array<number>(clients.length).fill(1);
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const c = i % clients.length;
    out.push(encodeClientRequest(clients[c]!, seqs[c]!++, rng.bytes(PAYLOAD_BYTES)));
  }
  return out;
}

/** Submits all requests at once and runs until each is executed by f+1 replicas; returns requests/s. */
async function throughput(batch: number, count: number): Promise<{ rps: number; ms: number; count: number }> {
  const cl = await makeCluster(1000 + batch, batch);
  const reqs = makeRequests(batch, count);
  const hashes = reqs.map((r) => toHex(txHash(r)));
  const start = performance.now();
  for (const r of reqs) for (const n of cl.nodes) n.submit(r);
  cl.net.clock.runUntilCondition(() => hashes.every((h) => (cl.executed.get(h) ?? 0) >= F + 1), Number.MAX_SAFE_INTEGER);
  const ms = performance.now() - start;
  if (!hashes.every((h) => (cl.executed.get(h) ?? 0) >= F + 1)) throw new Error(`batch ${batch}: not every request committed`);
  for (const n of cl.nodes) await n.stop();
  return { rps: (count * 1000) / ms, ms, count };
}

/** One request at a time, batch size 1: wall time from submission to execution at f+1 replicas. */
async function latency(count: number): Promise<number[]> {
  const cl = await makeCluster(7, 1);
  const reqs = makeRequests(7, count);
  const samples: number[] = [];
  for (const r of reqs) {
    const h = toHex(txHash(r));
    let done = false;
    cl.onQuorum.set(h, () => (done = true));
    const start = performance.now();
    for (const n of cl.nodes) n.submit(r);
    cl.net.clock.runUntilCondition(() => done, Number.MAX_SAFE_INTEGER);
    samples.push(performance.now() - start);
    if (!done) throw new Error('a request did not commit');
  }
  for (const n of cl.nodes) await n.stop();
  return samples.slice(Math.min(20, Math.floor(samples.length / 10))); // drop the warm-up
}

const section: BenchSection = {
  name: 'consensus',
  async run(ctx) {
    await initCore();
    const rows: Row[] = [];
    const data: Record<string, unknown> = { n: N, payloadBytes: PAYLOAD_BYTES, transport: 'in-memory (SimNetwork, zero delay)' };
    const sizes = [1, 16, 128];
    const counts: Record<number, number> = ctx.quick ? { 1: 100, 16: 400, 128: 1024 } : { 1: 400, 16: 2000, 128: 6144 };
    for (const b of sizes) {
      await throughput(b, Math.min(128, counts[b]!)); // warm-up
      const r = await throughput(b, counts[b]!);
      ctx.log(`batch ${b}: ${r.rps.toFixed(0)} requests/s`);
      rows.push({ measure: `committed requests/s, batch ${b}`, value: Math.round(r.rps) });
      data[`throughputBatch${b}`] = { requestsPerSec: Math.round(r.rps), requests: r.count, ms: Math.round(r.ms) };
    }
    const samples = await latency(ctx.quick ? 100 : 500);
    const median = quantile(samples, 0.5);
    const p99 = quantile(samples, 0.99);
    rows.push({ measure: 'latency median, batch 1 (ms)', value: Number(median.toFixed(3)) });
    rows.push({ measure: 'latency p99, batch 1 (ms)', value: Number(p99.toFixed(3)) });
    rows.push({ measure: 'PBFT paper null op, n=4, MACs, 1999 (ms)', value: PBFT_PAPER_NULL_OP_MS });
    data['latencyBatch1'] = { medianMs: median, p99Ms: p99, samples: samples.length };
    data['pbftPaperNullOpMs'] = PBFT_PAPER_NULL_OP_MS;
    data['targets'] = { throughputBatch128: 2500, medianLatencyMs: 5 };
    return { rows, data };
  },
};

export default section;
