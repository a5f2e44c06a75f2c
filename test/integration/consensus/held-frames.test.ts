// Requests submitted before the link to the primary is up. At a consortium's start every tablet submits its
// first transactions while its links form; the transport drops what it has no link for, so each forward to the
// primary was lost, every replica waited out its view-change timer, and the consortium changed views for
// nothing. The node now holds replica frames for a validator it has had no link to yet and sends them when the
// first link comes.
import { describe, expect, it } from 'vitest';
import { Cluster } from '../../sim/cluster.ts';

describe('replica frames for a peer without a link', () => {
  it('reach the primary when its first link comes up: the requests commit before any timer fires, in the same view', async () => {
    const c = await Cluster.create({ seed: 5, n: 4, checkpointInterval: 16, watermarkWindow: 64 });
    c.addAll();
    c.addClients(3);
    // The nodes start with no links yet (they are still forming).
    c.net.partition([]);
    await c.start();
    const primary = c.instances.find((i) => i.index === c.instances[0]!.node!.primary)!;
    const backups = c.instances.filter((i) => i !== primary);
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
