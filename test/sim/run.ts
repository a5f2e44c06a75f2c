// Runs one scenario with one seed and returns its JSON-ready result. Deterministic: the same (scenario, seed,
// n) gives byte-identical output (nothing here reads the wall clock or Math.random).

import { Cluster } from './cluster.ts';
import { scenario as findScenario, type Plan, type ScenarioContext } from './scenarios.ts';
import { Prng } from '../../web/src/core/util/index.ts';

export interface SimResult {
  scenario: string;
  seed: number;
  n: number;
  f: number;
  /** Requests committed by at least f+1 honest replicas (a client's reply quorum): what `live` is about. */
  committed: number;
  submitted: number;
  safety: boolean;
  live: boolean;
  /** Highest view any honest replica reached. */
  views: number;
  converged: boolean;
  heights: Record<string, number>;
  viewChanges: number;
  stateTransfers: number;
  /** Virtual ms from healing until the last request committed (or the bound, if not live). */
  recoveryMs: number;
  virtualMs: number;
  messages: { sent: number; delivered: number; dropped: number; duplicated: number };
  rejected: Record<string, number>;
  violations: string[];
  facts: Record<string, number | boolean | string>;
}

const DEFAULT_PLAN: Plan = { requests: 16, clients: 4, think: [50, 300], healAt: 0, afterHeal: 8, bound: 30_000, converge: true };

export async function runScenario(name: string, seed: number, n = 4): Promise<SimResult> {
  const sc = findScenario(name);
  const cluster = await Cluster.create({ seed, n, ...sc.config?.(seed, n) });
  const plan: Plan = { ...DEFAULT_PLAN, afterHeal: 2 * cluster.K + 1, ...sc.plan?.(n) };
  const ctx: ScenarioContext = { cluster, plan, facts: {}, failures: [] };
  sc.setup(ctx);
  cluster.addClients(plan.clients + 1 + plan.afterHeal);
  await cluster.start();

  // Closed-loop clients: each sends its next request a think time after the previous one committed.
  const think = new Prng(seed).fork('think');
  let issued = 0;
  let lastCommit = 0;
  const issue = (c: number): void => {
    if (issued >= plan.requests) return;
    const k = issued++;
    const route = plan.route?.(c, k);
    cluster.submit(
      c,
      `k${k % 5}=v${k}`,
      () => {
        lastCommit = cluster.now;
        cluster.at(cluster.now + think.range(plan.think[0], plan.think[1]), () => issue(c));
      },
      route,
    );
  };
  for (let c = 0; c < plan.clients; c++) cluster.at(think.range(0, plan.think[1]), () => issue(c));
  // After the faults, new clients send a request every 150 ms (one batch each): there is work to finish after
  // healing, which is what liveness is about, and at least two checkpoints form, which is how PBFT brings a
  // replica that fell behind (and missed the checkpoint messages while the network was lossy) back.
  let late = 0;
  for (let k = 0; k < plan.afterHeal; k++) {
    cluster.at(plan.healAt + 50 + 150 * k, () => {
      const c = plan.clients + 1 + k;
      const route = plan.route?.(c, plan.requests + k);
      late++;
      cluster.submit(c, `late${k}=v`, () => (lastCommit = cluster.now), route);
    });
  }

  const deadline = plan.healAt + plan.bound;
  const allCommitted = () => issued >= plan.requests && late >= plan.afterHeal && cluster.committedCount() === cluster.requests.size;
  const done = () => cluster.now >= plan.healAt && allCommitted() && (!plan.converge || cluster.converged());
  const finished = await cluster.run(done, deadline);

  sc.check?.(ctx);
  const violations = cluster.violations.map((v) => `${v.kind}@${v.height}: ${v.detail}`);
  for (const f of ctx.failures) violations.push(`${f.property}: ${f.detail}`);
  const safety = cluster.violations.length === 0 && !ctx.failures.some((f) => f.property === 'safety');
  const live = finished && !ctx.failures.some((f) => f.property === 'live');
  const honest = cluster.instances.filter((i) => i.honest);
  const heights: Record<string, number> = {};
  for (const i of cluster.instances) heights[i.name] = i.height;
  const rejected: Record<string, number> = {};
  for (const k of [...cluster.rejected.keys()].sort()) rejected[k] = cluster.rejected.get(k)!;
  const st = cluster.net.stats;
  return {
    scenario: name,
    seed,
    n,
    f: cluster.f,
    committed: cluster.committedCount(),
    submitted: cluster.requests.size,
    safety,
    live,
    views: Math.max(0, ...honest.map((i) => Math.max(i.maxView, i.node?.view ?? 0))),
    converged: cluster.converged(),
    heights,
    viewChanges: honest.reduce((s, i) => s + i.viewChanges, 0),
    stateTransfers: honest.reduce((s, i) => s + i.stateTransfers, 0),
    recoveryMs: live ? Math.round(Math.max(0, lastCommit - plan.healAt)) : plan.bound,
    virtualMs: Math.round(cluster.now),
    messages: { sent: st.sent, delivered: st.delivered, dropped: st.dropped, duplicated: st.duplicated },
    rejected,
    violations,
    facts: ctx.facts,
  };
}

/** Whether a result passes its scenario's property (negative-control passes when it finds a violation). */
export function passes(r: SimResult): boolean {
  if (r.scenario === 'negative-control') return true; // judged over many seeds: some must be unsafe
  return r.safety && r.live && !r.violations.some((v) => v.startsWith('scenario:'));
}

/** Every scenario is swept at each of these validator counts: n = 3f+1 (4, 7) and the others (5, 6, 8). */
export const SIZES: readonly number[] = [4, 5, 6, 7, 8];

/** Seeds that once failed, run by every sweep whatever its seed count (each with the bug it caught). */
export const REGRESSIONS: readonly { scenario: string; n: number; seeds: readonly number[]; caught: string }[] = [
  {
    scenario: 'equivocating-primary',
    n: 5,
    seeds: [3, 5, 8, 11],
    caught: 'quorums of 2f+1 at n = 5: two halves of the honest replicas committed different batches (issue 10, finding 2)',
  },
];

/** The command that replays a result, with what went wrong. */
export function replayLine(r: SimResult): string {
  return `npm run sim -- --scenario ${r.scenario} --seed ${r.seed} --n ${r.n} --json   # ${r.violations.join('; ') || (r.live ? '' : 'not live')}`;
}
