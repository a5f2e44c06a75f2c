// Federated learning between four real ClinicNodes: each trains on the patients it imported (yearly snapshots
// of their records), the round's update digests and the aggregate go on the PBFT ledger, and every clinic
// reaches the same aggregate digest.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inThreadTrainer } from '../../../web/src/core/fl/node.ts';
import { RECORDS_TASK } from '../../../web/src/core/node/learning-desk.ts';
import { syntheaBundle as bundle, startConsortium, type TestConsortium } from './harness.ts';

describe('federated learning on the clinic nodes', () => {
  let c: TestConsortium;
  beforeAll(async () => {
    c = await startConsortium({ clinics: 4, seed: 31, trainer: inThreadTrainer });
    await Promise.all(c.nodes.map((n, i) => n.importBundle(bundle(i % 3))));
  }, 180_000);
  afterAll(async () => {
    await c.stop();
  });

  it('trains one round together and agrees on the aggregate on the ledger', async () => {
    const started = await c.nodes[0]!.startRound({ task: RECORDS_TASK, model: 'logreg', rule: 'trimmed', rounds: 1 });
    expect(started).toMatchObject({ task: RECORDS_TASK, round: 1 });
    await c.until(
      () => c.nodes.every((n) => n.contracts.fl.rounds(RECORDS_TASK).some((r) => r.round === 1 && r.state === 'agreed')),
      150_000,
      'the aggregate agreed on the ledger',
    );
    const rounds = await Promise.all(c.nodes.map((n) => n.rounds()));
    const digests = rounds.map((rs) => rs.find((r) => r.round === 1)?.aggregateDigest);
    expect(new Set(digests).size).toBe(1);
    expect(digests[0]).toMatch(/^[0-9a-f]{64}$/);
    expect(rounds[0]!.find((r) => r.round === 1)!.participants.length).toBe(4);
  }, 240_000);
});
