// A replica killed mid-run comes back from its IndexedDB store (fake-indexeddb in Node: the same idb code
// path as the browser) and catches up by state transfer after its peers moved past several checkpoints.
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { IdbLedgerStore, blockHash, verifyBlock } from '../../../web/src/core/ledger/index.ts';
import { Cluster } from '../../sim/cluster.ts';
import { toHex } from '../../../web/src/core/util/index.ts';

describe('restart from IndexedDB and catch-up', () => {
  it('recovers its blocks from the store and catches up by state transfer', async () => {
    const c = await Cluster.create({ seed: 31, n: 4, checkpointInterval: 4, watermarkWindow: 16 });
    const dbName = (i: number) => `hygeia-ledger-node-${i}-restart-test`;
    for (let i = 0; i < 4; i++) c.add(i, { store: await IdbLedgerStore.open(dbName(i)) });
    c.addClients(4);
    await c.start();
    const victim = c.instance('r2');
    let k = 0;
    const submitSome = (count: number) => {
      for (let j = 0; j < count; j++) {
        const n = k++;
        c.at(c.now + 25 * j, () => c.submit(n % 4, `key${n % 7}=value${n}`));
      }
    };

    submitSome(12);
    expect(await c.run(() => c.committedCount() === 12 && victim.height >= 12, 60_000)).toBe(true);
    const before = victim.height;

    // Kill it: its writes so far are flushed, its memory is gone, its database is closed.
    await c.crash('r2');
    victim.store.close();
    submitSome(48);
    expect(await c.run(() => c.committedCount() === 60, 120_000)).toBe(true);
    const others = c.honestUp();
    expect(Math.min(...others.map((i) => i.height))).toBeGreaterThan(before + 16); // past the watermark window

    // Restart it from the same database, reopened.
    const reopened = await IdbLedgerStore.open(dbName(2));
    await c.restart('r2', reopened);
    const node = victim.node!;
    for (let h = 1; h <= before; h++) {
      const b = node.block(h);
      expect(b, `block ${h} recovered from IndexedDB`).toBeDefined();
      expect(toHex(blockHash(b!.header))).toBe(toHex(blockHash(c.instance('r0').node!.block(h)!.header)));
    }
    submitSome(8);
    expect(await c.run(() => c.committedCount() === 68 && c.converged(), 240_000)).toBe(true);
    expect(victim.stateTransfers).toBeGreaterThanOrEqual(1);
    // Caught up at least to the last checkpoint below the others (PBFT's promise to a replica that was away).
    expect(victim.height).toBeGreaterThanOrEqual(4 * Math.floor(c.instance('r0').height / 4));
    expect(c.violations).toEqual([]);

    // What it stored verifies as a chain against the validator set, up to its tip.
    await node.flushed();
    const tip = await reopened.tip();
    expect(tip?.height).toBe(victim.height);
    const blocks = await reopened.getBlocks(1, tip!.height);
    const heights = blocks.map((b) => b.header.height);
    // The blocks between the crash and the installed checkpoint came from peers, verified by hash chain.
    expect(heights.slice(0, before)).toEqual(Array.from({ length: before }, (_, i) => i + 1));
    for (let i = 1; i < blocks.length; i++) {
      if (blocks[i]!.header.height !== blocks[i - 1]!.header.height + 1) continue;
      expect(verifyBlock(blocks[i]!, c.keys, { prev: blocks[i - 1]!.header }).ok).toBe(true);
    }
    for (const i of c.instances) i.store.close();
  }, 300_000);
});
