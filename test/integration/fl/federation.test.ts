// Federated learning end to end on the breast-cancer data with tfjs's wasm backend: accuracy against the
// centralized reference, each attack against the default rule, FedAvg broken by the scaled attack, and
// reproducible global digests.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { initCore } from '../../../wasm/index.ts';
import type { AttackName } from '../../../web/src/core/fl/attacks.ts';
import { initTfWasmNode } from '../../../web/src/core/fl/backend-node.ts';
import { parseCsv, type Dataset } from '../../../web/src/core/fl/dataset.ts';
import { runFederation, type FederationOptions } from '../../../web/src/core/fl/federation.ts';
import { MemoryRoundLedger, decodeUpdate, encodeUpdate } from '../../../web/src/core/fl/round.ts';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
let data: Dataset;

beforeAll(async () => {
  await initCore();
  await initTfWasmNode();
  data = parseCsv(readFileSync(resolve(repoRoot, '../shared/data/uci-breast-cancer/breast_cancer.csv'), 'utf8'), 'last');
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
  ...over,
});

describe('federated training on breast cancer (5 clients, Dirichlet 0.5)', () => {
  it('the default rule with no attack comes within 1.5 points of centralized training (20 rounds)', async () => {
    const r = await runFederation(base({ rounds: 20, centralized: true }));
    expect(r.centralizedAccuracy).toBeGreaterThan(0.93);
    expect(r.accuracy).toBeGreaterThanOrEqual((r.centralizedAccuracy as number) - 0.015);
    expect(r.auc).toBeGreaterThan(0.97);
    expect(r.perRound).toHaveLength(20);
  });

  it('a scaled poisoned update from 1 of 5 breaks FedAvg but not the default rule', async () => {
    const fedavg = await runFederation(base({ rule: 'fedavg', attack: 'scale', attackers: 1 }));
    const robust = await runFederation(base({ attack: 'scale', attackers: 1 }));
    expect(fedavg.accuracy).toBeLessThan(0.6);
    expect(robust.accuracy).toBeGreaterThanOrEqual(0.93);
  });

  for (const attack of ['label-flip', 'sign-flip', 'noise'] as AttackName[]) {
    it(`the default rule holds against ${attack} from 1 of 5`, async () => {
      const r = await runFederation(base({ attack, attackers: 1 }));
      expect(r.accuracy).toBeGreaterThanOrEqual(0.93);
    });
  }

  it('the backdoor is measured: the robust rule keeps its success lower than FedAvg does', async () => {
    const fedavg = await runFederation(base({ rule: 'fedavg', attack: 'backdoor', attackers: 1 }));
    const robust = await runFederation(base({ attack: 'backdoor', attackers: 1 }));
    expect(fedavg.backdoorSuccess).toBeGreaterThan(robust.backdoorSuccess);
    expect(robust.accuracy).toBeGreaterThanOrEqual(0.93);
  });

  it('the same seed gives the same global digest; another seed another', async () => {
    const a = await runFederation(base({ rounds: 3 }));
    const b = await runFederation(base({ rounds: 3 }));
    const c = await runFederation(base({ rounds: 3, seed: 2 }));
    expect(a.globalDigest).toMatch(/^[0-9a-f]{64}$/);
    expect(b.globalDigest).toBe(a.globalDigest);
    expect(c.globalDigest).not.toBe(a.globalDigest);
  });
});

describe('the round ledger and the update wire format', () => {
  it('accepts one update per client per open round, and nothing malformed', () => {
    const ledger = new MemoryRoundLedger();
    expect(ledger.openRound({ round: 1, rule: 'trimmed', baseDigest: '00'.repeat(32), maxUpdates: 2 }).ok).toBe(true);
    expect(ledger.openRound({ round: 1, rule: 'trimmed', baseDigest: '00'.repeat(32), maxUpdates: 2 })).toEqual({ ok: false, reason: 'duplicate' });
    const entry = { round: 1, client: 'a', digest: 'ab'.repeat(32), samples: 10 };
    expect(ledger.submitUpdate(entry).ok).toBe(true);
    expect(ledger.submitUpdate(entry)).toEqual({ ok: false, reason: 'duplicate' });
    expect(ledger.submitUpdate({ ...entry, client: 'b', digest: 'not-hex' })).toEqual({ ok: false, reason: 'bad-entry' });
    expect(ledger.submitUpdate({ ...entry, round: 2 })).toEqual({ ok: false, reason: 'no-such-round' });
    expect(ledger.closeRound(1)).toHaveLength(1);
    expect(ledger.submitUpdate({ ...entry, client: 'c' })).toEqual({ ok: false, reason: 'round-closed' });
    ledger.commitGlobal(1, 'a', 'x');
    ledger.commitGlobal(1, 'b', 'y');
    expect(ledger.agreedGlobal(1)).toBeUndefined();
  });

  it('round-trips update bytes and refuses trailing garbage', () => {
    const bytes = encodeUpdate(3, 'client-001', 42, Float32Array.of(1.5, -2, 0));
    const u = decodeUpdate(bytes);
    expect(u).toMatchObject({ round: 3, client: 'client-001', samples: 42 });
    expect(Array.from(u.delta)).toEqual([1.5, -2, 0]);
    const longer = new Uint8Array(bytes.length + 1);
    longer.set(bytes);
    expect(() => decodeUpdate(longer)).toThrow(/Trailing/);
  });
});
