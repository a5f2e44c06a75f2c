// A replica alone in a later view: cut off while it held a request, it changed views on its own, and no quorum
// follows it there once the network heals (f + 1 replicas must ask for a view before the others join). It
// cannot vote in the view the others run, so its node follows their chain: it fetches each block once it holds
// a quorum of the validators' votes for it, and those votes make the block's certificate when the peer it asks
// has not gathered its own yet. The clinics' tablets met this at start-up: one tablet in a view of its own saw
// every record update about a second late (a back-off step per block).
import { describe, expect, it } from 'vitest';
import { Cluster } from '../../sim/cluster.ts';

describe('a replica alone in a later view', () => {
  it('gets every committed block within a few network delays of the quorum', async () => {
    const c = await Cluster.running({ seed: 77, n: 4, checkpointInterval: 16, watermarkWindow: 64 }, 2);
    const lone = c.instance('r3');
    const others = c.instances.filter((i) => i !== lone);
    c.net.partition([others.map((i) => i.netId), [lone.netId]]);
    // A request only the cut-off replica holds: it forwards it to a primary it cannot reach and changes views.
    c.submit(1, 'stranded', undefined, (i) => i === lone);
    await c.run(() => false, c.now + 5_000);
    c.net.heal();
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
});
