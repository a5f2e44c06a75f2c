// Hygeia's update latency on the real system: one ClinicNode per clinic (fake-indexeddb for its databases in
// Node), each with its wasm PBFT replica executing the contracts, over a SimNetwork whose links follow the
// WAN model in real time (latency.ts). An update is a wearable heart-rate reading stored at the patient's
// clinic and anchored on the ledger (ClinicNode.recordHeartRate, which returns once the anchor committed);
// it is visible to another clinic once that clinic's replica has committed the block holding the anchor.
import { ed25519PublicKey, initCore } from '../../../../wasm/index.ts';
import type { ConsensusEvent } from '../consensus/index.ts';
import { MemoryLedgerStore } from '../ledger/store.ts';
import { SimNetwork, SystemScheduler, WAN_LINK } from '../net/sim-network.ts';
import { ClinicNode } from '../node/clinic-node.ts';
import { parseGenesis, treatmentAgreements } from '../node/genesis.ts';
import { Prng, toHex } from '../util/index.ts';
import type { RunContext } from './architecture.ts';
import type { Workload } from './workload.ts';

export class LatencyError extends Error {
  override readonly name = 'LatencyError';
}

const WAIT_MS = 60_000;

export async function hygeiaLatency(w: Workload, ctx: RunContext): Promise<number[]> {
  await initCore();
  const rng = new Prng(w.seed).fork('hygeia-latency');
  const seeds = w.clinics.map(() => rng.bytes(32));
  const base = Date.now();
  const members = w.clinics.map((id, i) => ({ id, name: id, nodeKey: toHex(ed25519PublicKey(seeds[i]!)), validator: true }));
  const genesis = parseGenesis({
    version: 1,
    chainId: `hygeia-eval-${w.seed}`,
    createdAt: base,
    consensus: { checkpointInterval: 16, watermarkWindow: 64, maxBatch: 64 },
    clinics: members,
    agreements: treatmentAgreements(w.clinics, base - 1000),
  });
  const net = new SimNetwork({ seed: w.seed, link: WAN_LINK, clock: new SystemScheduler() });
  // committedAt[i]: height -> when node i committed it (performance.now()).
  const committedAt = w.clinics.map(() => new Map<number, number>());
  const nodes = await Promise.all(
    seeds.map((seed, i) =>
      ClinicNode.start({
        genesis,
        seed,
        clinicKey: rng.bytes(32),
        transport: net.join(members[i]!.nodeKey),
        clock: net.clock,
        dbPrefix: `${ctx.dbPrefix}-latency-${i}`,
        ledgerStore: new MemoryLedgerStore(),
        timers: { batchMs: 2 },
        onEvent: (e: ConsensusEvent) => {
          if (e.kind === 'committed') committedAt[i]!.set(e.block.header.height, performance.now());
        },
      }),
    ),
  );
  try {
    const until = async (pred: () => boolean, what: string): Promise<void> => {
      const t0 = performance.now();
      while (!pred()) {
        if (performance.now() - t0 > WAIT_MS) throw new LatencyError(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 2));
      }
    };
    // Each clinic imports the patients the updates write to (every resource anchored), then waits for its staff keys.
    const writers = [...new Set(w.updates.map((u) => u.patient))];
    for (const k of writers) {
      const p = w.patients[k]!;
      await nodes[w.clinics.indexOf(p.clinic)]!.importBundle(p.bundle);
    }
    await until(() => nodes.every((n) => nodes.every((m) => n.contracts.key(m.authors.clinician.publicKey) !== undefined)), 'staff keys');
    ctx.progress(`hygeia: ${nodes.length} ClinicNodes up, ${writers.length} patients imported and anchored`);
    const out: number[] = [];
    for (const u of w.updates) {
      const p = w.patients[u.patient]!;
      const wi = w.clinics.indexOf(p.clinic);
      const t0 = performance.now();
      const r = await nodes[wi]!.recordHeartRate(p.patientId, [{ bpm: u.bpm, time: u.time }]);
      const returned = performance.now();
      if (r.stored !== 1) throw new LatencyError('the update was not stored');
      // The writer's newest committed block holds the anchor (updates run one at a time, nothing else is submitted).
      const height = Math.max(...committedAt[wi]!.keys());
      await until(() => committedAt.every((m) => m.has(height)), 'the update at every clinic');
      out.push(Math.max(returned, ...committedAt.map((m) => m.get(height)!)) - t0);
    }
    return out;
  } finally {
    for (const n of nodes) await n.stop();
  }
}
