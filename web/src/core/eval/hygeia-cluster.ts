// The real Hygeia system for the evaluation: one ClinicNode per clinic (fake-indexeddb for its databases in
// Node), each with its wasm PBFT replica executing the contracts, over a SimNetwork whose links follow the
// WAN model (latency.ts) in real time. Every node's committed blocks are kept (from its consensus events),
// with the time each was committed there, for latency and for the auditor.
import { ed25519PublicKey, initCore } from '../../../../wasm/index.ts';
import type { ConsensusEvent } from '../consensus/index.ts';
import type { Block } from '../ledger/block.ts';
import type { ContractsGenesis } from '../ledger/contracts/index.ts';
import { MemoryLedgerStore } from '../ledger/store.ts';
import { SimNetwork, SystemScheduler, WAN_LINK } from '../net/sim-network.ts';
import { ClinicNode } from '../node/clinic-node.ts';
import { contractsGenesis, parseGenesis, type Genesis } from '../node/genesis.ts';
import { Prng, toHex } from '../util/index.ts';
import type { Workload } from './workload.ts';

export class ClusterError extends Error {
  override readonly name = 'ClusterError';
}

export interface NodeCluster {
  readonly genesis: Genesis;
  readonly contractsGenesis: ContractsGenesis;
  /** In the workload's clinic order. */
  readonly nodes: readonly ClinicNode[];
  /** Per node: its committed blocks, by height. */
  readonly blocks: readonly Map<number, Block>[];
  /** Per node: height -> when it committed there (performance.now()). */
  readonly committedAt: readonly Map<number, number>[];
  node(clinic: string): ClinicNode;
  until(pred: () => boolean, what: string, ms?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startCluster(w: Workload, dbPrefix: string): Promise<NodeCluster> {
  await initCore();
  const rng = new Prng(w.seed).fork('hygeia-cluster');
  const seeds = w.clinics.map(() => rng.bytes(32));
  const base = Date.now();
  const members = w.clinics.map((id, i) => ({ id, name: id, nodeKey: toHex(ed25519PublicKey(seeds[i]!)), validator: true }));
  const agreements = [];
  for (let i = 0; i < w.clinics.length; i++) {
    for (let j = i + 1; j < w.clinics.length; j++) {
      const [a, b] = [w.clinics[i]!, w.clinics[j]!];
      agreements.push({ agreementId: `agr-${a}-${b}`, orgA: a, orgB: b, purposes: ['TREAT', 'HRESCH'], start: base - 1000, end: base + 365 * 86_400_000 });
    }
  }
  const genesis = parseGenesis({
    version: 1,
    chainId: `hygeia-eval-${w.seed}`,
    createdAt: base,
    consensus: { checkpointInterval: 16, watermarkWindow: 64, maxBatch: 64 },
    clinics: members,
    agreements,
  });
  const net = new SimNetwork({ seed: w.seed, link: WAN_LINK, clock: new SystemScheduler() });
  const committedAt = w.clinics.map(() => new Map<number, number>());
  const blocks = w.clinics.map(() => new Map<number, Block>());
  const nodes = await Promise.all(
    seeds.map((seed, i) =>
      ClinicNode.start({
        genesis,
        seed,
        clinicKey: rng.bytes(32),
        transport: net.join(members[i]!.nodeKey),
        clock: net.clock,
        dbPrefix: `${dbPrefix}-node-${i}`,
        ledgerStore: new MemoryLedgerStore(),
        timers: { batchMs: 2 },
        onEvent: (e: ConsensusEvent) => {
          if (e.kind !== 'committed') return;
          committedAt[i]!.set(e.block.header.height, performance.now());
          blocks[i]!.set(e.block.header.height, e.block);
        },
      }),
    ),
  );
  const until = async (pred: () => boolean, what: string, ms = 60_000): Promise<void> => {
    const t0 = performance.now();
    while (!pred()) {
      if (performance.now() - t0 > ms) throw new ClusterError(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 2));
    }
  };
  await until(() => nodes.every((n) => nodes.every((m) => n.contracts.key(m.authors.clinician.publicKey) !== undefined)), 'staff keys');
  return {
    genesis,
    contractsGenesis: contractsGenesis(genesis),
    nodes,
    blocks,
    committedAt,
    node: (clinic) => {
      const k = w.clinics.indexOf(clinic);
      if (k < 0) throw new ClusterError('no such clinic');
      return nodes[k]!;
    },
    until,
    async stop() {
      for (const n of nodes) await n.stop();
    },
  };
}
