// Block attestations with real wasm replicas: after executing a block every validator signs (epoch id, block
// hash); a quorum is the block's attestation certificate, stored beside it at every node, served with blocks
// in state transfer, and verified by whoever receives it.
import { describe, expect, it } from 'vitest';
import { verifyAttestation } from '../../../web/src/core/ledger/attestation.ts';
import { genesisHash } from '../../../web/src/core/ledger/block.ts';
import { genesisEpoch } from '../../../web/src/core/ledger/epoch.ts';
import { Cluster } from '../../sim/cluster.ts';

describe('block attestations over PBFT', () => {
  it.each([4, 5])(
    'n = %i: every block is attested at every node, and a node that catches up gets the certificates with the blocks',
    async (n) => {
      const c = await Cluster.running({ seed: 90 + n, n, checkpointInterval: 4, watermarkWindow: 16 });
      const late = c.instance(`r${n - 1}`);
      await c.crash(late.name);
      for (let k = 0; k < 40; k++) c.at(10 * k, () => c.submit(k % 4, `k${k}=v${k}`));
      expect(await c.run(() => c.committedCount() === 40, 60_000)).toBe(true);
      // The late node joins with an empty store and catches up by state transfer (blocks, snapshot, history).
      await c.restart(late.name);
      for (let k = 40; k < 60; k++) c.at(c.now + 10 * (k - 40), () => c.submit(k % 4, `k${k}=v${k}`));
      expect(await c.run(() => c.committedCount() === 60 && c.converged() && late.stateTransfers > 0, 120_000)).toBe(true);
      // Let the last attestations arrive.
      await c.run(() => false, c.now + 500);
      expect(c.violations).toEqual([]);

      const epoch = genesisEpoch(c.keys, genesisHash(c.keys));
      for (const inst of c.honestUp()) {
        const node = inst.node!;
        await node.flushed();
        const history = await node.history(1, node.height);
        expect(
          history.map((h) => h.block.header.height),
          inst.name,
        ).toEqual(Array.from({ length: node.height }, (_, i) => i + 1));
        for (const { block, attestation } of history) {
          expect(attestation, `${inst.name} block ${block.header.height}`).not.toBeNull();
          expect(verifyAttestation(block.header, attestation!, epoch.validators, epoch.id).ok, `${inst.name} block ${block.header.height}`).toBe(true);
        }
      }
    },
    240_000,
  );
});
