// A replica killed mid-run comes back from its IndexedDB store (fake-indexeddb in Node: the same idb code
// path as the browser): it restores its last stable snapshot, replays and re-verifies the blocks it stored
// above it, then catches up by state transfer after its peers moved past several checkpoints, and ends on
// the same head as the others with every height held and verified.
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { IdbLedgerStore, blockHash, genesisEpoch, genesisHash, verifyAttestation, verifyBlock } from '../../../web/src/core/ledger/index.ts';
import { Cluster } from '../../sim/cluster.ts';
import { toHex } from '../../../web/src/core/util/index.ts';

describe('restart from IndexedDB and catch-up', () => {
  it('resumes from its store, catches up by verified state transfer, and reaches the same head with every height verified', async () => {
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

    submitSome(14);
    expect(await c.run(() => c.committedCount() === 14 && victim.height >= 14, 60_000)).toBe(true);
    const before = victim.height;
    const headBefore = toHex(c.instance('r2').node!.tipHash);

    // Kill it: its writes so far are flushed, its memory is gone, its database is closed.
    await c.crash('r2');
    victim.store.close();
    submitSome(48);
    expect(await c.run(() => c.committedCount() === 62, 120_000)).toBe(true);
    const others = c.honestUp();
    expect(Math.min(...others.map((i) => i.height))).toBeGreaterThan(before + 16); // past the watermark window

    // Restart it from the same database, reopened: it resumes at the height it had, from its own store.
    const reopened = await IdbLedgerStore.open(dbName(2));
    const node0 = c.instance('r0').node!;
    await c.restart('r2', reopened);
    const node = victim.node!;
    expect(node.height).toBe(before);
    expect(toHex(node.tipHash)).toBe(headBefore);
    expect(node.counters.replayed).toBeGreaterThan(0); // the blocks above its last snapshot, executed again
    for (let h = 1; h <= before; h++) expect(toHex(blockHash(node.block(h)!.header)), `block ${h}`).toBe(toHex(blockHash(node0.block(h)!.header)));

    // Keep the clients busy until every replica is on the same head (the victim past its state transfer).
    let more = 0;
    const sameHead = () => {
      const up = c.honestUp();
      return up.every((i) => i.node!.height === up[0]!.node!.height && toHex(i.node!.tipHash) === toHex(up[0]!.node!.tipHash));
    };
    const pump = () => {
      if (more++ < 40 && !(node.counters.stateTransfers > 0 && sameHead())) {
        submitSome(2);
        c.at(c.now + 200, pump);
      }
    };
    pump();
    expect(await c.run(() => node.counters.stateTransfers > 0 && sameHead() && c.converged(), 240_000)).toBe(true);
    expect(c.violations).toEqual([]);

    // Every height from 1 to the head is in its store, each block verified against the validator set and
    // linked to the one below, and identical to r0's.
    await node.flushed();
    const tip = await reopened.tip();
    expect(tip?.height).toBe(node.height);
    expect(toHex(tip!.hash)).toBe(toHex(node0.tipHash));
    const blocks = await reopened.getBlocks(1, tip!.height);
    expect(blocks.map((b) => b.header.height)).toEqual(Array.from({ length: tip!.height }, (_, i) => i + 1));
    // And beside every block, its attestation certificate: executed here before the crash, re-attested
    // after it (peers answer with the certificate), or fetched with the blocks in state transfer.
    await c.run(() => false, c.now + 500);
    await node.flushed();
    const certificates = await reopened.getAttestations(1, tip!.height);
    const epoch = genesisEpoch(c.keys, genesisHash(c.keys));
    for (let i = 0; i < blocks.length; i++) {
      expect(verifyBlock(blocks[i]!, c.keys, i > 0 ? { prev: blocks[i - 1]!.header } : {}), `block ${i + 1}`).toEqual({ ok: true, hash: blockHash(blocks[i]!.header) });
      expect(toHex(blockHash(blocks[i]!.header))).toBe(toHex(blockHash(node0.block(i + 1)!.header)));
      expect(verifyAttestation(blocks[i]!.header, certificates.get(i + 1) ?? new Uint8Array(), epoch.validators, epoch.id).ok, `attestation ${i + 1}`).toBe(true);
    }
    for (const i of c.instances) i.store.close();
  }, 300_000);
});
