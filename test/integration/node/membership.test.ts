// Membership from the ledger alone: a tablet outside the genesis follows nothing until the members admit it by
// committed transactions; it then catches up, and becomes a validator at the next stable checkpoint, on every
// replica at the same height. A clinic the members remove stops being a validator there. (Peers and the relay
// cutting a removed member's links off: test/e2e/node/consortium.test.ts and test/e2e/webrtc.test.ts.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ed25519PublicKey } from '../../../wasm/index.ts';
import type { ClinicNode } from '../../../web/src/core/node/clinic-node.ts';
import { Prng, toHex } from '../../../web/src/core/util/index.ts';
import { startConsortium, type TestConsortium } from './harness.ts';

const K = 8;

describe('membership changes on the ledger', () => {
  let c: TestConsortium;
  let fifth: ClinicNode;
  const fifthSeed = new Prng(55).bytes(32);
  let fifthKey: string;

  beforeAll(async () => {
    c = await startConsortium({ clinics: 4, seed: 11, checkpointInterval: K });
    fifthKey = toHex(ed25519PublicKey(fifthSeed));
    await c.until(() => c.nodes.every((n) => n.snapshot().status === 'ready'), 30_000, 'four ready');
  });
  afterAll(async () => {
    await c.stop();
  });

  /** Commits filler agreements at clinic-1 until every running node is past `height`. */
  async function pushPast(height: number, nodes: ClinicNode[]): Promise<void> {
    const t0 = Date.now();
    while (nodes.some((n) => n.snapshot().ledger.height <= height)) {
      if (Date.now() - t0 > 60_000) {
        const x = (n: ClinicNode) => n.ledger.consensus as unknown as { view: number; lagging: boolean; running: { number: number }; counters: object };
        throw new Error(
          `stalled: ${JSON.stringify(c.nodes.map((n) => ({ h: n.snapshot().ledger.height, view: x(n).view, lag: x(n).lagging, ep: x(n).running.number, counters: x(n).counters })))}`,
        );
      }
      await c.nodes[0]!.proposeAgreement({ partner: 'clinic-2', purposes: ['HPAYMT'], end: Date.now() + 86_400_000 });
    }
  }

  it('a tablet outside the genesis is not a member and is not a validator', async () => {
    fifth = await c.join(fifthSeed);
    expect(fifth.snapshot().status).toBe('not-member');
    expect(c.nodes[0]!.snapshot().ledger.validators).not.toContain('clinic-5');
  });

  it('is admitted by a quorum of members, catches up, and validates from the next checkpoint on every replica', async () => {
    const [a, b, d] = c.nodes as [ClinicNode, ClinicNode, ClinicNode];
    await a.proposeMember({ name: 'clinic-5', publicKey: fifthKey, validator: true });
    await b.approveMember('clinic-5');
    await d.approveMember('clinic-5');
    // The approval is committed where d looks; clinic-1's replica may execute that block a moment later.
    await c.until(() => a.snapshot().ledger.height >= d.snapshot().ledger.height, 30_000, 'clinic-1 to reach the approval');
    const admittedAt = a.snapshot().ledger.height;
    expect((await a.consortium()).members.map((m) => m.name)).toContain('clinic-5');

    await c.until(() => fifth.snapshot().status === 'ready', 30_000, 'the fifth tablet to learn it is a member');
    const nextCheckpoint = Math.ceil((admittedAt + 1) / K) * K;
    await pushPast(nextCheckpoint + K, c.nodes.slice(0, 4));
    const everyone = c.nodes;
    await c.until(() => everyone.every((n) => n.snapshot().ledger.validators.includes('clinic-5')), 60_000, 'clinic-5 a validator everywhere');
    await c.until(() => new Set(everyone.map((n) => n.snapshot().ledger.headHash)).size === 1, 30_000, 'one head on five');
    expect(fifth.snapshot().ledger.validators).toEqual(['clinic-1', 'clinic-2', 'clinic-3', 'clinic-4', 'clinic-5']);
    // Its replica runs in the new epoch: it executes blocks the five-validator epoch certifies, itself.
    const before = fifth.snapshot().ledger.height;
    await pushPast(before + 2 * K, [fifth]);
    const runsItsReplica = () => fifth.ledger.consensus.isValidator && fifth.ledger.consensus.counters.executed > 0;
    for (let i = 0; i < 4 * K && !runsItsReplica(); i++) await pushPast(fifth.snapshot().ledger.height, [fifth]);
    expect(runsItsReplica()).toBe(true);
    await c.until(() => new Set(everyone.map((n) => n.snapshot().ledger.headHash)).size === 1, 30_000, 'one head on five, again');
  }, 180_000);

  it('a removed clinic stops being a member and, from the next checkpoint, a validator', async () => {
    const removed = c.nodes[3]!;
    const removedKey = toHex(removed.publicKey);
    await c.nodes[0]!.proposeRemoval('clinic-4');
    for (const n of [c.nodes[1]!, c.nodes[2]!, fifth]) await n.approveRemoval('clinic-4');
    const stayers = [c.nodes[0]!, c.nodes[1]!, c.nodes[2]!, fifth];
    await c.until(() => stayers.every((n) => !n.isMemberNode(removedKey)), 30_000, 'clinic-4 no longer a member');
    const removedAt = Math.max(...stayers.map((n) => n.snapshot().ledger.height));
    await pushPast(Math.ceil((removedAt + 1) / K) * K + K, stayers);
    await c.until(() => stayers.every((n) => !n.snapshot().ledger.validators.includes('clinic-4')), 60_000, 'clinic-4 out of the validators');
    expect(stayers[0]!.snapshot().ledger.validators).toEqual(['clinic-1', 'clinic-2', 'clinic-3', 'clinic-5']);
  }, 180_000);
});
