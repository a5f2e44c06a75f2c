// Federated learning end to end on the breast-cancer data: five clinics, each a FederatedService over a
// simulated consortium (a MemoryLedger, or real wasm PBFT replicas executing the contracts), updates on the
// FL channel, aggregates agreed on the ledger. Accuracy against the centralized reference; the same global
// digest whatever the ledger and the number of workers; a scaling attacker flagged, excluded and distrusted;
// the default rule holding where FedAvg breaks; differential privacy spending what it says.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initCore } from '../../../wasm/index.ts';
import { parseCsv, runFederation, type AttackName, type Dataset, type FederationOptions, type Trainer } from '../../../web/src/core/fl/index.ts';
import { inThreadTrainer, startNodeTrainerPool } from '../../../web/src/core/fl/node.ts';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
let data: Dataset;
let trainer: Trainer;

beforeAll(async () => {
  await initCore();
  trainer = await inThreadTrainer();
  data = parseCsv(readFileSync(resolve(repoRoot, '../shared/data/uci-breast-cancer/breast_cancer.csv'), 'utf8'), 'last');
});

afterAll(async () => {
  await trainer?.close();
});

const base = (over: Partial<FederationOptions>): FederationOptions => ({
  data,
  clients: 5,
  rounds: 10,
  partition: { kind: 'dirichlet', alpha: 0.5 },
  rule: 'default',
  attack: 'none',
  attackers: 0,
  seed: 1,
  centralized: false,
  trainer,
  ...over,
});

describe('federated training on breast cancer (5 clinics, Dirichlet 0.5)', () => {
  it('the default rule with no attack comes within 1.5 points of centralized training (20 rounds), flagging no one', async () => {
    const r = await runFederation(base({ rounds: 20, centralized: true }));
    expect(r.centralizedAccuracy).toBeGreaterThan(0.93);
    expect(r.accuracy).toBeGreaterThanOrEqual((r.centralizedAccuracy as number) - 0.015);
    expect(r.auc).toBeGreaterThan(0.97);
    expect(r.perRound).toHaveLength(20);
    expect(r.flagged.flat()).toEqual([]);
    expect(Object.values(r.trust)).toEqual([1000, 1000, 1000, 1000, 1000]);
  }, 240_000);

  it('gives the same global digest on the PBFT ledger with two worker_threads as on the memory ledger in this thread', async () => {
    const memory = await runFederation(base({ rounds: 3, ledger: 'memory' }));
    const pool = await startNodeTrainerPool(2);
    let pbft;
    try {
      pbft = await runFederation(base({ rounds: 3, ledger: 'pbft', trainer: pool }));
    } finally {
      await pool.close();
    }
    expect(pbft.ledger).toBe('pbft');
    expect(pbft.globalDigest).toMatch(/^[0-9a-f]{64}$/);
    expect(pbft.globalDigest).toBe(memory.globalDigest);
    expect(pbft.perRound.map((p) => p.digest)).toEqual(memory.perRound.map((p) => p.digest));
    // Every round: an open, five updates, four or five aggregates at least, on both ledgers.
    expect(memory.ledgerHeight).toBeGreaterThan(0);
    expect(pbft.ledgerHeight).toBeGreaterThan(0);
    const other = await runFederation(base({ rounds: 3, seed: 2 }));
    expect(other.globalDigest).not.toBe(memory.globalDigest);
  }, 240_000);

  it('a scaling attacker is flagged in most rounds, kept out of the aggregate, ends with the lowest trust; accuracy stays within 3 points', async () => {
    const clean = await runFederation(base({ rounds: 20 }));
    const r = await runFederation(base({ rounds: 20, attack: 'scale', attackers: 1 }));
    const [attacker] = r.attackerIds;
    const flaggedRounds = r.flagged.filter((f) => f.includes(attacker!)).length;
    expect(flaggedRounds).toBeGreaterThan(10);
    expect(r.flagged.flat().filter((c) => c !== attacker)).toEqual([]);
    expect(r.perRound.slice(1).every((p) => p.counted === 4)).toBe(true);
    const lowest = Math.min(...Object.values(r.trust));
    expect(r.trust[attacker!]).toBe(lowest);
    expect(Object.entries(r.trust).filter(([c, t]) => c !== attacker && t < 1000)).toEqual([]);
    expect(r.accuracy).toBeGreaterThanOrEqual(clean.accuracy - 0.03);
  }, 240_000);

  it('a scaled poisoned update from 1 of 5 breaks FedAvg but not the default rule', async () => {
    const fedavg = await runFederation(base({ rule: 'fedavg', attack: 'scale', attackers: 1, rounds: 1 }));
    const robust = await runFederation(base({ attack: 'scale', attackers: 1 }));
    expect(fedavg.accuracy).toBeLessThan(0.6);
    expect(robust.accuracy).toBeGreaterThanOrEqual(0.93);
  }, 240_000);

  for (const attack of ['label-flip', 'sign-flip', 'noise', 'backdoor'] as AttackName[]) {
    it(`the default rule holds against ${attack} from 1 of 5`, async () => {
      const r = await runFederation(base({ attack, attackers: 1 }));
      expect(r.accuracy).toBeGreaterThanOrEqual(0.93);
      if (attack === 'backdoor') expect(r.backdoorSuccess).toBeLessThan(0.2);
    }, 240_000);
  }

  it('with client-level DP, reports the ε it targeted at its δ and stays deterministic', async () => {
    const a = await runFederation(base({ rounds: 5, dp: { epsilon: 8, delta: 1e-5, clip: 1 } }));
    const b = await runFederation(base({ rounds: 5, dp: { epsilon: 8, delta: 1e-5, clip: 1 } }));
    expect(a.rule).toBe('dp-mean');
    expect(a.delta).toBe(1e-5);
    expect(a.epsilon).toBeLessThanOrEqual(8);
    expect(a.epsilon).toBeGreaterThan(7.5);
    expect(b.globalDigest).toBe(a.globalDigest);
  }, 240_000);
});
