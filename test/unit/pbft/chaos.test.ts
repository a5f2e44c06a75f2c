// A seeded shake-up of the replica through its face: messages reordered, dropped and duplicated, timers
// fired at random, then the network heals. Safety is checked all along, liveness after the heal. The full
// fault simulator lives in test/sim; this one keeps the replica's own invariants honest.
import { describe, expect, it } from 'vitest';
import { Cluster, request, useClusters } from './cluster.ts';
import { Prng, toHex } from '../../../web/src/core/util/index.ts';

const cluster = useClusters();

/** No two replicas executed different batches at one seq. Returns how many executions it compared. */
function checkSafety(c: Cluster): number {
  const bySeq = new Map<number, string>();
  let compared = 0;
  for (let i = 0; i < c.n; i++) {
    for (const e of c.executed[i]!) {
      const d = toHex(e.batchDigest);
      const prior = bySeq.get(e.seq);
      if (prior === undefined) {
        bySeq.set(e.seq, d);
        continue;
      }
      expect(d, `seq ${e.seq} at replica ${i}`).toBe(prior);
      compared++;
    }
  }
  return compared;
}

function run(seed: number, n: number, maxRestarts: number): void {
  const prng = new Prng(seed);
  const rnd = () => prng.float();
  const c = cluster({ n, maxBatch: 2, checkpointInterval: 2, watermarkWindow: 6, maxClockSkew: 1e9 });
  const submitted: Uint8Array[] = [];
  let clientSeq = 0;
  let restarts = 0;
  // Chaos: reorder, drop 20%, duplicate 5%, random timers.
  for (let step = 0; step < 1500; step++) {
    c.now += 1;
    const x = rnd();
    if (x < 0.05 && submitted.length < 24) {
      // Distinct clients: one client's pipelined requests may overtake each other, and then the earlier
      // one is stale by design (de-duplication keeps only increasing client seqs).
      const r = request(++clientSeq, 1);
      submitted.push(r);
      c.submit(
        r,
        [...Array(n).keys()].filter(() => rnd() < 0.7),
      );
    } else if (x < 0.0815 && restarts < maxRestarts && step > 300 && rnd() < 0.1) {
      // A crash and restart without memory (counts as the one fault: at most f of them).
      restarts++;
      c.restart(Math.floor(rnd() * n));
    } else if (x < 0.08) {
      const i = Math.floor(rnd() * n);
      const timers = [...c.timers[i]!];
      if (timers.length > 0) c.fire(i, timers[Math.floor(rnd() * timers.length)]!);
    } else if (c.net.length > 0) {
      const k = Math.floor(rnd() * Math.min(c.net.length, 8));
      const d = c.net.splice(k, 1)[0]!;
      const y = rnd();
      if (y < 0.2) continue;
      if (y < 0.25) c.net.push(d);
      c.step(d.to, { kind: 'message', bytes: d.bytes, now: c.now, from: d.from });
    }
    if (step % 100 === 0) checkSafety(c);
  }
  checkSafety(c);
  expect(restarts).toBe(maxRestarts);
  // Heal: everything is delivered; replicas with work time out until everything committed everywhere.
  for (const r of submitted) c.submit(r);
  for (let round = 0; round < 60; round++) {
    c.settle();
    const done = c.replicas.every((r) => r.lastExecuted === c.replicas[0]!.lastExecuted && r.pendingRequests === 0);
    if (done && c.net.length === 0) break;
    for (let i = 0; i < n; i++) if (c.timers[i]!.has('viewChange')) c.fire(i, 'viewChange');
  }
  // After the heal every request executed at every in-view replica, so the batches were compared.
  expect(checkSafety(c)).toBeGreaterThanOrEqual(submitted.length);
  if (process.env.PBFT_DEBUG) {
    console.log(
      seed,
      n,
      submitted.length,
      c.replicas.map((r, i) => ({
        i,
        view: r.view,
        ch: r.changingView,
        last: r.lastExecuted,
        low: r.lowWatermark,
        pend: r.pendingRequests,
        log: r.logSize,
        t: [...c.timers[i]!],
        fetches: c.fetches[i]!.length,
        rej: [...new Set(c.reasons(i))].join(','),
      })),
    );
  }
  const executed = new Set<string>();
  for (let i = 0; i < n; i++) for (const e of c.executed[i]!) for (const r of e.requests) executed.add(toHex(r));
  for (const r of submitted) expect(executed.has(toHex(r)), 'every submitted request executed').toBe(true);
  // A replica that suspected the primary alone stays in its view change (Castro–Liskov: it may not go back)
  // until the others move too; it keeps up through checkpoints. Everyone else is in one view, caught up,
  // and they are a quorum.
  const inView = c.replicas.filter((r) => !r.changingView);
  expect(inView.length).toBeGreaterThanOrEqual(c.quorum);
  const last = Math.max(...c.replicas.map((r) => r.lastExecuted));
  for (const r of inView) {
    expect(r.view).toBe(inView[0]!.view);
    expect(r.lastExecuted).toBe(last);
    expect(r.pendingRequests).toBe(0);
  }
  for (const r of c.replicas) {
    if (!r.changingView) continue;
    expect(r.view).toBe(inView[0]!.view + 1);
    expect(r.lastExecuted).toBeGreaterThanOrEqual(inView[0]!.lowWatermark);
  }
  // Replicas at the same seq hold the same state (the host's digest, whether executed or installed). The
  // in-view replicas all stand at `last`, so at least inView.length - 1 of them are compared.
  const stateAt = new Map<number, string>();
  let compared = 0;
  for (let i = 0; i < n; i++) {
    const seq = c.replicas[i]!.lastExecuted;
    const d = toHex(c.stateDigest[i]!);
    const prior = stateAt.get(seq);
    if (prior === undefined) {
      stateAt.set(seq, d);
      continue;
    }
    expect(d, `state after seq ${seq} at replica ${i}`).toBe(prior);
    compared++;
  }
  expect(compared).toBeGreaterThanOrEqual(inView.length - 1);
  // And the system still takes new work.
  const fresh = request(999, 1);
  c.submit(fresh);
  c.settle();
  for (const r of inView) expect(r.lastExecuted).toBe(last + 1);
}

describe('seeded chaos', () => {
  const seeds = Array.from({ length: Number(process.env.PBFT_CHAOS_SEEDS ?? 8) }, (_, k) => k + 1);
  for (const n of [4, 7]) {
    for (const seed of seeds) {
      it(`n=${n} seed=${seed}: safe throughout, live after the heal`, () => run(seed * 7919 + n, n, 0));
      it(`n=${n} seed=${seed} with a crash-restart: safe throughout, live after the heal`, () => run(seed * 7919 + n + 1, n, 1));
    }
  }
});
