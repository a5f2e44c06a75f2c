// Hygeia's update latency on the real system (hygeia-cluster.ts): an update is a wearable heart-rate reading
// stored at the patient's clinic and anchored on the ledger (ClinicNode.recordHeartRate, which returns once
// the anchor committed); it is visible to another clinic once that clinic's replica has committed the block
// holding the anchor. Updates run one at a time, so the writer's newest block is the update's.
import type { NodeCluster } from './hygeia-cluster.ts';
import type { Workload } from './workload.ts';

export class LatencyError extends Error {
  override readonly name = 'LatencyError';
}

/** The patients the updates write to must be imported at their clinics already. */
export async function hygeiaLatency(w: Workload, cluster: NodeCluster): Promise<number[]> {
  const out: number[] = [];
  for (const u of w.updates) {
    const p = w.patients[u.patient]!;
    const wi = w.clinics.indexOf(p.clinic);
    const t0 = performance.now();
    const r = await cluster.nodes[wi]!.recordHeartRate(p.patientId, [{ bpm: u.bpm, time: u.time }]);
    const returned = performance.now();
    if (r.stored !== 1) throw new LatencyError('the update was not stored');
    const height = Math.max(...cluster.committedAt[wi]!.keys());
    await cluster.until(() => cluster.committedAt.every((m) => m.has(height)), 'the update at every clinic');
    out.push(Math.max(returned, ...cluster.committedAt.map((m) => m.get(height)!)) - t0);
  }
  return out;
}
