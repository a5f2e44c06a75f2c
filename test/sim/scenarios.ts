// The simulator's scenarios: each sets up faults on a fresh cluster and says when the faults are over
// (liveness is measured from then). Byzantine replicas act through their real keys: split into twins, or
// through rules that rewrite and re-sign what they send. Virtual times are in milliseconds.

import { faultsTolerated, readCommitCertificate } from '../../web/src/core/ledger/index.ts';
import { leaderOrder, primaryForView } from '../../web/src/core/security/index.ts';
import { CHANNEL_PBFT, pbftFrame as pbftFrameOf } from '../../web/src/core/consensus/index.ts';
import { Cluster, type ClusterConfig, type Instance } from './cluster.ts';
import {
  MsgType,
  batchDigest,
  encodeEnvelope,
  readBatch,
  readNewView,
  readPrePrepare,
  readVote,
  resign,
  writeBatch,
  writeNewView,
  writePrePrepare,
  writeVote,
  type Envelope,
} from './wire.ts';
import { toHex, type Prng } from '../../web/src/core/util/index.ts';

export interface Plan {
  /** Client requests in the run (closed loop, spread over the clients). */
  requests: number;
  clients: number;
  /** Think time between a client's commit and its next request: [min, max] ms. */
  think: [number, number];
  /** When every fault is over: the liveness bound runs from here. */
  healAt: number;
  /** Requests sent (one every 40 ms, by fresh clients) after healAt. */
  afterHeal: number;
  /** Virtual ms after healAt by which every request must commit. */
  bound: number;
  /** Also require every honest running replica to catch up (to the last checkpoint below the tallest). */
  converge: boolean;
  /** Where a request goes (default: every running instance). */
  route?: (c: number, k: number) => ((inst: Instance) => boolean) | undefined;
}

export interface ScenarioContext {
  readonly cluster: Cluster;
  readonly plan: Plan;
  /** Extra facts for the JSON output. */
  readonly facts: Record<string, number | boolean | string>;
  /** Scenario-specific property failures (they make `safety` or `live` false as marked). */
  readonly failures: { property: 'safety' | 'live' | 'scenario'; detail: string }[];
}

export interface Scenario {
  readonly name: string;
  readonly summary: string;
  config?(seed: number, n: number): Partial<ClusterConfig>;
  plan?(n: number): Partial<Plan>;
  /** Adds instances (default: all honest) and installs faults. */
  setup(ctx: ScenarioContext): void;
  /** Checks after the run. */
  check?(ctx: ScenarioContext): void;
}

function primaryOf(c: Cluster, view: number): number {
  // The replica's defaults: trust 0 for all, no floor (wasm/face/replica.ts).
  const order = leaderOrder(c.keys, c.cfg.trust ?? c.keys.map(() => 0), c.cfg.trustFloor ?? -(2 ** 53), faultsTolerated(c.keys.length));
  return primaryForView(view, order);
}

const pbftFrame = (e: Envelope): Uint8Array => pbftFrameOf(0, encodeEnvelope(e));

function isolate(c: Cluster, who: number[]): void {
  const rest = c.instances.filter((i) => !who.includes(i.index)).map((i) => i.netId);
  const groups: string[][] = [rest];
  for (const w of who) groups.push(c.instances.filter((i) => i.index === w).map((i) => i.netId));
  c.net.partition(groups);
}

/**
 * Splits validator `index` into two Byzantine instances, a and b; `sideOf(honestIndex)` says which one each
 * honest replica talks to. `twinned` lists every split key, so twins address each other's side.
 */
function twin(c: Cluster, index: number, sideOf: (i: number) => 'a' | 'b', twinned: number[] = [index]): void {
  const idOf = (j: number, side: 'a' | 'b') => (twinned.includes(j) ? `${c.hex(j)}:${side}` : c.hex(j));
  for (const side of ['a', 'b'] as const) {
    c.add(index, { name: `r${index}${side}`, netId: idOf(index, side), honest: false, peerOf: (j) => idOf(j, side) });
  }
  const sideOfInstance = (x: Instance): 'a' | 'b' | null => (x.index === index ? (x.netId.endsWith(':a') ? 'a' : 'b') : null);
  c.rules.push((from, to) => {
    const fi = c.instances.find((x) => x.netId === from);
    const ti = c.instances.find((x) => x.netId === to);
    if (!fi || !ti) return undefined;
    const fs = sideOfInstance(fi);
    const ts = sideOfInstance(ti);
    if (fs && ti.honest && sideOf(ti.index) !== fs) return [];
    if (ts && fi.honest && sideOf(fi.index) !== ts) return [];
    return undefined;
  });
}

function honestPeerMap(c: Cluster, twinIndex: number, sideOf: (i: number) => 'a' | 'b') {
  return (self: number) => (i: number) => (i === twinIndex ? `${c.hex(twinIndex)}:${sideOf(self)}` : c.hex(i));
}

/** Which side of a twinned network each honest replica is on: `side(k)` for the k-th of `honest`; 'a' for any other. */
function sides(honest: number[], side: (k: number) => 'a' | 'b'): (i: number) => 'a' | 'b' {
  const of = new Map<number, 'a' | 'b'>();
  honest.forEach((i, k) => of.set(i, side(k)));
  return (i) => of.get(i) ?? 'a';
}

/** Every replica honest; the primary of view 0. */
function allHonest(ctx: ScenarioContext): [Cluster, number] {
  const c = ctx.cluster;
  c.addAll();
  return [c, primaryOf(c, 0)];
}

/** A replica other than `p`, drawn from the stream `label`. */
const otherThan = (c: Cluster, p: number, label: string): number => (p + 1 + c.rng.fork(label).int(c.n - 1)) % c.n;

/**
 * Validator `b` as the one Byzantine replica, the others honest: `rewrite` sees each PBFT envelope it sends
 * (with the frame and the stream `label`) and returns the frames to deliver instead, or undefined to pass the
 * frame on. `signed` re-signs a changed envelope with b's key, as b can.
 */
function byzantine(
  c: Cluster,
  b: number,
  label: string,
  rewrite: (e: Envelope, frame: Uint8Array, r: Prng, signed: (e: Envelope) => Uint8Array) => Uint8Array[] | undefined,
): void {
  for (let i = 0; i < c.n; i++) c.add(i, { honest: i !== b });
  const r = c.rng.fork(label);
  const signed = (e: Envelope): Uint8Array => pbftFrame(resign(e, c.secrets[b]!, c.epochId));
  c.rules.push((from, _to, frame) => {
    if (from !== c.hex(b)) return undefined;
    const e = Cluster.pbft(frame);
    return e ? rewrite(e, frame, r, signed) : undefined;
  });
}

/** A safety failure unless the replicas rejected at least one message for `reason`. */
function expectRejected(ctx: ScenarioContext, reason: string, detail: string): void {
  if (!(ctx.cluster.rejected.get(reason) ?? 0)) ctx.failures.push({ property: 'safety', detail });
}

export const SCENARIOS: Scenario[] = [
  {
    name: 'normal',
    summary: 'no faults beyond jitter, a few duplicated and reordered messages',
    config: () => ({ link: { jitter: 3, duplicate: 0.05, reorder: 0.05, reorderDelay: 15 } }),
    setup(ctx) {
      ctx.cluster.addAll();
    },
  },
  {
    name: 'leader-crash',
    summary: 'the primary of view 0 crashes for good; the others change view and go on',
    plan: () => ({ healAt: 600 }),
    setup(ctx) {
      const [c, p] = allHonest(ctx);
      ctx.facts['crashed'] = p;
      c.atAsync(600, () => c.crash(`r${p}`));
    },
    check(ctx) {
      if (ctx.cluster.honestUp().every((i) => i.maxView === 0)) ctx.failures.push({ property: 'scenario', detail: 'no view change after the leader crashed' });
    },
  },
  {
    name: 'equivocating-primary',
    summary: 'the Byzantine primary signs different batches for different backups',
    setup(ctx) {
      const c = ctx.cluster;
      let equivocations = 0;
      byzantine(c, primaryOf(c, 0), 'equivocate', (e, _frame, r, signed) => {
        if (e.type !== MsgType.PrePrepare || !r.chance(0.5)) return undefined;
        const pp = readPrePrepare(e.body);
        const batch = readBatch(e.tail);
        if (!pp || !batch) return undefined;
        // Another batch for the same (view, seq): drop or reorder requests, or propose nothing.
        const alt = batch.length > 1 ? (r.chance(0.5) ? [...batch].reverse() : batch.slice(1)) : [];
        if (alt.length === batch.length && alt.every((q, k) => q === batch[k])) return undefined;
        const body = writePrePrepare({ ...pp, digest: batchDigest(pp.time, alt) });
        equivocations++;
        ctx.facts['equivocations'] = equivocations;
        return [signed({ ...e, body, tail: writeBatch(alt) })];
      });
    },
    check(ctx) {
      if (!ctx.facts['equivocations']) ctx.failures.push({ property: 'scenario', detail: 'the primary never equivocated' });
    },
  },
  {
    name: 'view-change-prepared',
    summary: 'requests prepared but not committed when the primary crashes survive the view change at their seq',
    plan: () => ({ healAt: 1_200 }),
    setup(ctx) {
      const [c, p] = allHonest(ctx);
      let dropCommits = false;
      // (seq, digest) -> distinct senders of prepares in view 0, and the requests of each view-0 proposal.
      const prepares = new Map<string, Set<number>>();
      const proposals = new Map<string, { seq: number; digest: string }>();
      c.rules.push((from, _to, frame) => {
        const e = Cluster.pbft(frame);
        if (!e) return undefined;
        if (e.type === MsgType.Prepare) {
          const v = readVote(e.body);
          if (v && v.view === 0 && from === c.hex(v.sender)) {
            const k = `${v.seq}/${toHex(v.digest)}`;
            if (!prepares.has(k)) prepares.set(k, new Set());
            prepares.get(k)!.add(v.sender);
          }
        }
        if (e.type === MsgType.PrePrepare) {
          const pp = readPrePrepare(e.body);
          if (pp && pp.view === 0) proposals.set(`${pp.seq}/${toHex(pp.digest)}`, { seq: pp.seq, digest: toHex(pp.digest) });
        }
        if (dropCommits && e.type === MsgType.Commit) return [];
        return undefined;
      });
      c.at(500, () => {
        dropCommits = true;
        // A burst of requests that will prepare but cannot commit in view 0.
        for (let k = 0; k < 3; k++) c.submit(ctx.plan.clients, `burst${k}=x`);
      });
      c.atAsync(650, () => c.crash(`r${p}`));
      c.at(1_200, () => {
        dropCommits = false;
      });
      (ctx as { prepared?: () => { seq: number; digest: string }[] }).prepared = () =>
        [...prepares.entries()]
          // Prepared as the replica defines it: the pre-prepare and q - 1 prepares (2f only when n = 3f + 1).
          .filter(([, s]) => s.size >= c.quorum - 1)
          .map(([k]) => proposals.get(k)!)
          .filter(Boolean);
    },
    check(ctx) {
      const c = ctx.cluster;
      const prepared = (ctx as { prepared?: () => { seq: number; digest: string }[] }).prepared!();
      ctx.facts['preparedInView0'] = prepared.length;
      let survived = 0;
      for (const { seq, digest } of prepared) {
        const holder = c.honestUp().find((i) => i.node?.block(seq));
        const block = holder?.node?.block(seq);
        if (!block) continue;
        if (toHex(block.header.batchDigest) === digest) survived++;
        else ctx.failures.push({ property: 'safety', detail: `a batch prepared at seq ${seq} in view 0 was replaced after the view change` });
      }
      ctx.facts['preparedSurvived'] = survived;
      if (c.honestUp().every((i) => i.maxView === 0)) ctx.failures.push({ property: 'scenario', detail: 'no view change happened' });
    },
  },
  {
    name: 'bad-new-view',
    summary: 'the Byzantine primary of view 1 sends a new-view that its view changes do not justify',
    plan: () => ({ healAt: 5_000 }),
    setup(ctx) {
      const c = ctx.cluster;
      const p0 = primaryOf(c, 0);
      let doctored = 0;
      byzantine(c, primaryOf(c, 1), 'bad-new-view', (e, _frame, r, signed) => {
        if (e.type !== MsgType.NewView) return undefined;
        const nv = readNewView(e.body);
        if (!nv) return undefined;
        // Either leave out a view change (fewer than 2f+1, or not the ones that justify O) or drop a
        // proposal the view changes imply.
        const bad = nv.prePrepares.length > 0 && r.chance(0.5) ? { ...nv, prePrepares: nv.prePrepares.slice(1) } : { ...nv, viewChanges: nv.viewChanges.slice(1) };
        doctored++;
        ctx.facts['doctoredNewViews'] = doctored;
        return [signed({ ...e, body: writeNewView(bad) })];
      });
      // Cut the view-0 primary off for a while so the others must change view (to p1's view).
      c.at(500, () => isolate(c, [p0]));
      c.at(5_000, () => c.net.heal());
    },
    check(ctx) {
      if (!ctx.facts['doctoredNewViews']) ctx.failures.push({ property: 'scenario', detail: 'the Byzantine primary never sent a new-view' });
      else expectRejected(ctx, 'badNewView', 'a doctored new-view was not rejected');
    },
  },
  {
    name: 'forged-signatures',
    summary: 'a Byzantine replica sends messages under other senders and with broken signatures',
    setup(ctx) {
      const c = ctx.cluster;
      let forged = 0;
      byzantine(c, (primaryOf(c, 0) + 1) % c.n, 'forge', (e, frame, r, signed) => {
        if (e.type === MsgType.Request) return undefined;
        const out = [frame];
        const v = e.type === MsgType.Prepare || e.type === MsgType.Commit ? readVote(e.body) : null;
        const mode = r.int(3);
        if (mode === 0 && v) {
          // Claims another sender, keeps its own signature.
          out.push(pbftFrame({ ...e, body: writeVote({ ...v, sender: (v.sender + 1 + r.int(c.n - 1)) % c.n }) }));
        } else if (mode === 1 && v) {
          // A vote for a digest nobody proposed, "from" another replica, signed with b's key.
          out.push(signed({ ...e, body: writeVote({ ...v, sender: (v.sender + 1) % c.n, digest: r.bytes(32) }) }));
        } else {
          const sig = e.sig.slice();
          sig[r.int(64)]! ^= 1 << r.int(8);
          out.push(pbftFrame({ ...e, sig }));
        }
        forged++;
        ctx.facts['forged'] = forged;
        return out;
      });
    },
    check(ctx) {
      expectRejected(ctx, 'badSignature', 'no forged message was rejected for its signature');
    },
  },
  {
    name: 'replay',
    summary: 'an adversary on the network replays old protocol messages to random replicas',
    setup(ctx) {
      const c = ctx.cluster;
      c.addAll();
      const r = c.rng.fork('replay');
      const recorded: Uint8Array[] = [];
      let replayed = 0;
      c.rules.push((_from, _to, frame) => {
        if (frame[0] !== CHANNEL_PBFT) return undefined;
        if (recorded.length < 2_000) recorded.push(frame);
        if (recorded.length > 10 && r.chance(0.3)) {
          replayed++;
          ctx.facts['replayed'] = replayed;
          return [frame, recorded[r.int(recorded.length)]!];
        }
        return undefined;
      });
    },
    check(ctx) {
      const rj = ctx.cluster.rejected;
      const caught = (rj.get('duplicate') ?? 0) + (rj.get('oldView') ?? 0) + (rj.get('outOfWatermark') ?? 0);
      if (ctx.facts['replayed'] && caught === 0) ctx.failures.push({ property: 'safety', detail: 'replayed messages were not recognised' });
    },
  },
  {
    name: 'out-of-watermark',
    summary: 'the Byzantine primary also proposes and votes at sequence numbers outside the watermarks',
    setup(ctx) {
      const c = ctx.cluster;
      const window = c.cfg.watermarkWindow ?? c.K * 4;
      byzantine(c, primaryOf(c, 0), 'watermark', (e, frame, r, signed) => {
        const shift = window + 1 + r.int(1000);
        if (e.type === MsgType.PrePrepare) {
          const pp = readPrePrepare(e.body);
          if (!pp) return undefined;
          return [frame, signed({ ...e, body: writePrePrepare({ ...pp, seq: pp.seq + shift }) })];
        }
        if (e.type === MsgType.Prepare || e.type === MsgType.Commit) {
          const v = readVote(e.body);
          if (!v) return undefined;
          return [frame, signed({ ...e, body: writeVote({ ...v, seq: v.seq + shift }) })];
        }
        return undefined;
      });
    },
    check(ctx) {
      expectRejected(ctx, 'outOfWatermark', 'no out-of-watermark message was rejected');
    },
  },
  {
    name: 'partition-2-2',
    summary: 'the network splits in two halves (no quorum anywhere), then heals',
    plan: () => ({ healAt: 3_500 }),
    setup(ctx) {
      const c = ctx.cluster;
      c.addAll();
      const ids = c.instances.map((i) => i.netId);
      const half = Math.floor(ids.length / 2);
      c.at(500, () => c.net.partition([ids.slice(0, half), ids.slice(half)]));
      c.at(3_500, () => c.net.heal());
    },
  },
  {
    name: 'lossy-30',
    summary: '30% of messages are lost on every link until the network heals',
    config: () => ({ link: { loss: 0.3, jitter: 3 } }),
    plan: () => ({ healAt: 8_000, bound: 60_000 }),
    setup(ctx) {
      const c = ctx.cluster;
      c.addAll();
      c.at(8_000, () => c.net.setDefaultLink({ loss: 0 }));
    },
  },
  {
    name: 'restart-mid-view-change',
    summary: 'the primary crashes; during the view change another replica crashes and restarts from its store',
    plan: () => ({ healAt: 6_000 }),
    setup(ctx) {
      const [c, p] = allHonest(ctx);
      const other = otherThan(c, p, 'restart');
      ctx.facts['restarted'] = other;
      c.atAsync(500, () => c.crash(`r${p}`));
      c.atAsync(1_100, () => c.crash(`r${other}`));
      c.atAsync(2_000, () => c.restart(`r${other}`));
      c.atAsync(6_000, () => c.restart(`r${p}`));
    },
  },
  {
    name: 'state-transfer',
    summary: 'a replica cut off while the others move past several checkpoints returns and catches up (state transfer or the attested chain)',
    plan: () => ({ requests: 48, think: [5, 20], healAt: 6_000 }),
    setup(ctx) {
      const [c, p] = allHonest(ctx);
      const lag = otherThan(c, p, 'lag');
      ctx.facts['lagging'] = lag;
      c.at(200, () => isolate(c, [lag]));
      c.at(6_000, () => c.net.heal());
    },
    check(ctx) {
      const lag = ctx.cluster.instance(`r${ctx.facts['lagging']}`);
      ctx.facts['lagStateTransfers'] = lag.stateTransfers;
      // It catches up by a certified checkpoint (state transfer) or, when its peers attest blocks it lacks, by
      // following the attested chain; either way the run's convergence check holds it to the same head.
      const followed = lag.node?.counters.followed ?? 0;
      ctx.facts['lagFollowed'] = followed;
      if (lag.stateTransfers === 0 && followed === 0)
        ctx.failures.push({ property: 'scenario', detail: 'the lagging replica did not catch up (no state transfer, no followed blocks)' });
    },
  },
  {
    name: 'twins',
    summary: 'two replicas share one key, each seen by a different part of the network',
    // A Byzantine twin can leave the honest replica on its side short of a quorum; PBFT promises clients
    // progress (f+1 honest replies), not that every honest replica keeps up, so convergence is not required.
    plan: () => ({ converge: false }),
    setup(ctx) {
      const c = ctx.cluster;
      const t = primaryOf(c, 0);
      const r = c.rng.fork('twins');
      const honest = [...Array(c.n).keys()].filter((i) => i !== t);
      const sideOf = sides(honest, (k) => (k === 0 ? 'a' : k === 1 ? 'b' : r.chance(0.5) ? 'a' : 'b'));
      const map = honestPeerMap(c, t, sideOf);
      for (const i of honest) c.add(i, { peerOf: map(i) });
      twin(c, t, sideOf);
    },
  },
  {
    name: 'low-trust-leader',
    summary: 'the lowest-trust validator (below the floor) is never primary, across several view changes',
    config: (seed, n) => {
      const low = seed % n;
      return { trust: Array.from({ length: n }, (_, i) => (i === low ? 1 : 10 + i)), trustFloor: 5 };
    },
    plan: () => ({ healAt: 8_000, requests: 16 }),
    setup(ctx) {
      const c = ctx.cluster;
      c.addAll();
      const low = c.cfg.trust!.indexOf(1);
      ctx.facts['lowTrust'] = low;
      // Force view changes by cutting off whoever leads, three times.
      for (const t of [500, 3_000, 5_500]) {
        c.at(t, () => {
          const lead = c.honestUp().reduce((a, b) => ((b.node?.view ?? 0) > (a.node?.view ?? 0) ? b : a));
          isolate(c, [lead.node!.primary]);
        });
        c.at(t + 2_000, () => c.net.heal());
      }
    },
    check(ctx) {
      const c = ctx.cluster;
      const low = ctx.facts['lowTrust'] as number;
      const led = c.instances.some((i) => i.primaries.includes(low)) || primaryOf(c, 0) === low;
      ctx.facts['lowTrustLed'] = led;
      ctx.facts['maxView'] = Math.max(...c.instances.map((i) => i.maxView));
      if (led) ctx.failures.push({ property: 'scenario', detail: 'the low-trust validator became primary' });
      // Trust decides who leads, never who counts: the low-trust validator's commits still count.
      let counted = false;
      for (const i of c.honestUp()) {
        for (let h = 1; h <= i.height && !counted; h++) {
          const votes = readCommitCertificate(i.node?.block(h)?.certificate ?? new Uint8Array(0));
          if (votes?.some((v) => v.sender === low)) counted = true;
        }
      }
      ctx.facts['lowTrustCounted'] = counted;
    },
  },
  {
    name: 'negative-control',
    summary: 'more Byzantine replicas than the quorums tolerate (each run as twins) split the honest ones: the checker must see the violation',
    plan: () => ({ requests: 8, bound: 5_000, converge: false }),
    setup(ctx) {
      const c = ctx.cluster;
      const b0 = primaryOf(c, 0);
      // Two quorums share 2q - n replicas (f + 1, or f + 2 when n + f + 1 is odd, as at n = 5 and 8): that many
      // Byzantine replicas can sit in both halves, each half being n - q honest replicas and them: a quorum.
      const byz = Array.from({ length: 2 * c.quorum - c.n }, (_, k) => (b0 + k) % c.n);
      ctx.facts['byzantine'] = byz.length;
      const honest = [...Array(c.n).keys()].filter((i) => !byz.includes(i));
      const sideOf = sides(honest, (k) => (k % 2 === 0 ? 'a' : 'b'));
      for (const i of honest) {
        c.add(i, { peerOf: (j) => (byz.includes(j) ? `${c.hex(j)}:${sideOf(i)}` : c.hex(j)) });
      }
      for (const b of byz) twin(c, b, sideOf, byz);
      // Each side's Byzantine twins and honest replicas see different client requests.
      ctx.plan.route = (_client, k) => (inst) => {
        const side = inst.honest ? sideOf(inst.index) : inst.netId.endsWith(':a') ? 'a' : 'b';
        return side === (k % 2 === 0 ? 'a' : 'b');
      };
    },
  },
];

export function scenario(name: string): Scenario {
  const s = SCENARIOS.find((x) => x.name === name);
  if (!s) throw new RangeError(`unknown scenario ${name}; known: ${SCENARIOS.map((x) => x.name).join(', ')}`);
  return s;
}
