// A replica alone in a later view. A replica whose timer fires only suspects the primary until f+1 do
// (wasm/assembly/pbft/suspect.ts), so one that was merely slow no longer leaves the others; but a Byzantine
// replica can still push one honest replica ahead alone: its suspicion, sent to that replica only, makes f+1
// with the honest replica's own, and no quorum follows (f+1 must ask for a view before the others join). The
// replica cannot vote in the view the others run, so its node follows their chain: it fetches each block once
// it holds a quorum of the validators' votes for it, and those votes make the block's certificate when the
// peer it asks has not gathered its own yet. The clinics' tablets met this at start-up, before suspicions: one
// tablet in a view of its own saw every record update about a second late (a back-off step per block).
import { describe, expect, it } from 'vitest';
import { pbftFrame } from '../../../web/src/core/consensus/index.ts';
import { Cluster } from '../../sim/cluster.ts';
import { forge, MsgType, writeSuspect } from '../../sim/wire.ts';

describe('a replica alone in a later view', () => {
  it('gets every committed block within a few network delays of the quorum', async () => {
    const c = await Cluster.running({ seed: 77, n: 4, checkpointInterval: 16, watermarkWindow: 64 }, 2);
    const lone = c.instance('r3');
    const byzantine = c.instance('r0');
    const others = c.instances.filter((i) => i !== lone);
    // A request only r3 holds, its forwarding to the primary lost: r3's timer fires, and r0 has told r3 alone
    // that it suspects the primary too.
    c.rules.push((from, _to, frame) => (from === lone.netId && Cluster.pbft(frame)?.type === MsgType.Request ? [] : undefined));
    const suspicion = forge(MsgType.Suspect, writeSuspect({ sender: byzantine.index, view: 0 }), c.secrets[byzantine.index]!, undefined, c.epochId);
    c.net.submit(byzantine.netId, lone.netId, pbftFrame(0, suspicion));
    c.submit(1, 'stranded', undefined, (i) => i === lone);
    await c.run(() => false, c.now + 5_000);
    c.rules.length = 0;
    await c.run(() => false, c.now + 1_000);
    const view = others[0]!.node!.view;
    expect(others.every((i) => i.node!.view === view)).toBe(true);
    expect(lone.node!.view).toBeGreaterThan(view);

    const lags: number[] = [];
    for (let k = 0; k < 12; k++) {
      let committedAt = -1;
      c.submit(0, `k${k}`, () => (committedAt = c.now));
      expect(await c.run(() => committedAt >= 0, c.now + 10_000)).toBe(true);
      const height = Math.max(...others.map((i) => i.height));
      expect(await c.run(() => lone.height >= height, c.now + 10_000)).toBe(true);
      lags.push(c.now - committedAt);
      await c.run(() => false, c.now + 50);
    }
    // Still alone in its view (no quorum joined it): every block came by following.
    expect(lone.node!.view).toBeGreaterThan(others[0]!.node!.view);
    // The first blocks wait one back-off step (the node gives its replica that long to execute them live);
    // after that each arrives a few link delays (1-3 ms here) after the quorum committed it.
    expect(Math.max(...lags.slice(2))).toBeLessThan(50);
    expect(c.violations).toEqual([]);
  }, 60_000);

  it('a replica cut off with a request suspects the primary alone, stays in its view, and votes again after the heal', async () => {
    const c = await Cluster.running({ seed: 78, n: 4, checkpointInterval: 16, watermarkWindow: 64 }, 2);
    const lone = c.instance('r3');
    const others = c.instances.filter((i) => i !== lone);
    c.net.partition([others.map((i) => i.netId), [lone.netId]]);
    c.submit(1, 'stranded', undefined, (i) => i === lone);
    let committedAt = -1;
    c.submit(
      0,
      'meanwhile',
      () => (committedAt = c.now),
      (i) => i !== lone,
    );
    await c.run(() => false, c.now + 10_000);
    expect(committedAt).toBeGreaterThanOrEqual(0);
    c.net.heal();
    // Once healed it forwards its request, which commits in the view all four are in, r3 voting.
    expect(await c.run(() => c.committedCount() === 2 && lone.height === Math.max(...others.map((i) => i.height)), c.now + 10_000)).toBe(true);
    expect(new Set(c.instances.map((i) => i.node!.view))).toEqual(new Set([others[0]!.node!.view]));
    expect(c.instances.every((i) => i.node!.isLive)).toBe(true);
    expect(c.violations).toEqual([]);
  }, 60_000);
});
