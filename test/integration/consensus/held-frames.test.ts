// A request submitted while the link to the primary is down. At a consortium's start every tablet submits its
// first transactions before its links are up; the transport drops what it has no link for, so each forward to
// the primary was lost, every replica waited out its view-change timer, and the consortium changed views for
// nothing. The node now holds replica frames for a validator without a link and sends them when it comes.
import { describe, expect, it } from 'vitest';
import { Cluster } from '../../sim/cluster.ts';

describe('replica frames for a peer without a link', () => {
  it('reach the primary when the link comes up: the requests commit before any timer fires, in the same view', async () => {
    const c = await Cluster.running({ seed: 5, n: 4, checkpointInterval: 16, watermarkWindow: 64 }, 3);
    const primary = c.instances.find((i) => i.index === c.instances[0]!.node!.primary)!;
    const backups = c.instances.filter((i) => i !== primary);
    c.net.partition([[primary.netId], backups.map((i) => i.netId)]);
    const committed: number[] = [];
    backups.forEach((b, k) =>
      c.submit(
        k,
        `from ${b.name}`,
        () => committed.push(c.now),
        (i) => i === b,
      ),
    );
    const start = c.now;
    c.at(start + 150, () => c.net.heal());
    // The view-change timer is 400 ms here: the held forwards reach the primary at 150 ms.
    expect(await c.run(() => committed.length === 3, start + 390)).toBe(true);
    expect(Math.max(...committed) - start).toBeLessThan(250);
    expect(c.instances.every((i) => i.node!.view === 0 && i.viewChanges === 0)).toBe(true);
    expect(c.violations).toEqual([]);
  });
});
