// Trust steers PBFT's leaders, never its quorums: five clinics on real wasm replicas; two honest clinics report
// clinic X's equivocation, the contracts drop X's trust below the floor, and after the next stable checkpoint
// and a view change X is not primary although the equal-trust order would have made it so. The ledger keeps
// committing throughout (the quorum is unchanged).
import { describe, expect, it } from 'vitest';
import { useSimConsortium } from '../../unit/shared/sim-consortium.ts';
import { reasonText, TRUST_RULE } from '../../../web/src/core/security/index.ts';
import { compareBytes } from '../../../web/src/core/codec/index.ts';

const startSim = useSimConsortium();

describe('trust and leader order on PBFT', () => {
  it('a clinic whose trust fell below the floor is skipped as primary at the next view change', async () => {
    const s = await startSim({ clinics: 5, ledger: 'pbft', seed: 3, checkpointInterval: 4 });
    const keys = s.clinics.map((c) => c.author.publicKey);
    // With equal trust the order is by key: view v's primary is byKey[v mod 5].
    const byKey = keys.map((_, i) => i).sort((a, b) => compareBytes(keys[a]!, keys[b]!));
    const [first, second] = [byKey[0]!, byKey[1]!];
    expect(s.consensus[0]!.primary).toBe(first);
    const target = s.clinics[second]!; // X: the next primary in the equal-trust order
    const reporters = s.clinics.filter((_, i) => i !== first && i !== second).slice(0, 2);
    const equivocation = reasonText({ feature: 'equivocations', value: 1, baseline: 0, scale: 1, score: 3500, hard: true });
    const minute = Math.floor(s.clinics[0]!.ledger.now() / 60_000);
    for (const r of reporters) {
      const res = await s.run(r.ledger.submit(r.author.make('fileReport', { kind: 'network', subject: target.peer, window: minute, reasons: [equivocation] })));
      expect(res).toEqual({ ok: true });
    }
    const contracts = s.clinics[first]!.ledger.contracts();
    expect(contracts.reports.trust(target.id, s.clinics[first]!.ledger.head().time)).toBeLessThan(TRUST_RULE.trustFloor);
    // Commit past the next stable checkpoint (K = 4), so every replica takes the new trust.
    const author = s.clinics[first]!;
    for (let k = 0; k < 6; k++) await s.run(author.ledger.submit(author.author.make('flCloseRound', { task: 'none', round: k + 1 })));
    // The primary goes silent; the others change view.
    s.net.crash(s.clinics[first]!.peer);
    const from = s.clinics.find((_, i) => i !== first && i !== second)!;
    const res = await s.run(from.ledger.submit(from.author.make('flCloseRound', { task: 'none', round: 99 })));
    expect(res.ok).toBe(false); // refused by the contracts (no such round), but committed: the ledger moves on
    const live = s.consensus.filter((_, i) => i !== first);
    for (const n of live) expect(n.view).toBeGreaterThanOrEqual(1);
    for (const n of live) expect(n.primary).not.toBe(second);
    expect(live.every((n) => n.primary === live[0]!.primary)).toBe(true);
  }, 120_000);
});
