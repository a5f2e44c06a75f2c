// Federated learning between four real ClinicNodes: each trains on the patients it imported (yearly snapshots
// of their records), the round's update digests and the aggregate go on the PBFT ledger, and every clinic
// reaches the same aggregate digest.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inThreadTrainer } from '../../../web/src/core/fl/node.ts';
import type { RoundView } from '../../../web/src/core/node/api.ts';
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

describe('a clinic with no records for the task', () => {
  let c: TestConsortium;
  beforeAll(async () => {
    c = await startConsortium({ clinics: 4, seed: 32, trainer: inThreadTrainer });
    // clinic-4 imports nothing.
    await Promise.all(c.nodes.slice(0, 3).map((n, i) => n.importBundle(bundle(i))));
  }, 180_000);
  afterAll(async () => {
    await c.stop();
  });

  it('declines on the ledger, so the round closes without waiting for its deadline, and still votes on the aggregate', async () => {
    await c.nodes[1]!.startRound({ task: RECORDS_TASK, model: 'logreg', rule: 'trimmed', rounds: 1 });
    await c.until(
      () => c.nodes.every((n) => n.contracts.fl.rounds(RECORDS_TASK).some((r) => r.round === 1 && r.state === 'agreed')),
      150_000,
      'the aggregate agreed on the ledger',
    );
    const r = c.nodes[0]!.contracts.fl.round(RECORDS_TASK, 1)!;
    expect(r.declined).toEqual({ 'clinic-4': 'no-data' });
    expect(Object.keys(r.updates).sort()).toEqual(['clinic-1', 'clinic-2', 'clinic-3']);
    // Closed by completeness (every clinic answered), long before the 30-minute deadline.
    expect(r.closedAt).toBeGreaterThan(0);
    expect(c.nodes[0]!.ledger.consensus.block(r.closedAt)!.header.time).toBeLessThan(r.deadline);
    await c.until(() => c.nodes[0]!.contracts.fl.round(RECORDS_TASK, 1)!.aggregates['clinic-4'] !== undefined, 60_000, 'clinic-4 to commit its aggregate');
    expect(c.nodes[0]!.contracts.fl.round(RECORDS_TASK, 1)!.aggregates['clinic-4']!.digest).toBe(r.agreed);
    let views: RoundView[][] = [];
    await c.until(
      () => {
        void Promise.all(c.nodes.map((n) => n.rounds())).then((v) => (views = v));
        return views.length === 4 && views.every((v) => v.find((x) => x.round === 1)?.state === 'done');
      },
      60_000,
      'every clinic to show the round done',
    );
    for (const v of views) expect(v.find((x) => x.round === 1)).toMatchObject({ state: 'done', aggregateDigest: r.agreed, declined: [{ clinic: 'clinic-4', reason: 'no-data' }] });
    // Starting a run needs data of one's own: a typed refusal at the clinic that has none, and no round opened.
    await expect(c.nodes[3]!.startRound({ task: RECORDS_TASK, model: 'logreg', rule: 'trimmed', rounds: 1 })).rejects.toMatchObject({ code: 'invalid' });
    expect(c.nodes[3]!.contracts.fl.tasks().map((t) => t.task)).toEqual([RECORDS_TASK]);
    // A second run of the task is a task of its own on the ledger, and it too reaches an aggregate.
    const second = await c.nodes[0]!.startRound({ task: RECORDS_TASK, model: 'logreg', rule: 'median', rounds: 1 });
    expect(second).toMatchObject({ task: `${RECORDS_TASK}.2`, round: 1, rule: 'median' });
    await c.until(() => c.nodes.every((n) => n.contracts.fl.round(`${RECORDS_TASK}.2`, 1)?.state === 'agreed'), 150_000, 'the second run agreed');
  }, 240_000);
});
