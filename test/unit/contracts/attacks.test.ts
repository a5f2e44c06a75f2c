// The attack suite, run as a test: every listed attack is tried, none gets through, every tampered record
// is detected, and the authorized controls beside them do succeed (so the counting can see a success).
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { syntheaBundles } from '../records/synthea.ts';
import { runAttacks } from '../../../web/src/core/eval/attacks.ts';
import { useCore } from '../shared/core.ts';

const bundles = syntheaBundles();

useCore();

describe('attack suite', () => {
  it('zero unauthorized successes, every tamper detected, controls succeed', async () => {
    const report = await runAttacks({ seed: 3, dbPrefix: 'attack-test', bundles });
    expect(report.succeeded).toBe(0);
    expect(report.cases.filter((c) => c.outcome === 'succeeded')).toEqual([]);
    expect(report.tried).toBe(report.cases.length);
    expect(report.detected).toBe(report.tried);
    expect(report.tamper.tried).toBeGreaterThanOrEqual(8);
    expect(report.tamper.detected).toBe(report.tamper.tried);
    expect(report.controls.succeeded).toBe(report.controls.tried);
    expect(report.breakGlass).toEqual({ granted: 1, flaggedForReview: 1 });
    const names = report.cases.map((c) => c.name).join('\n');
    for (const must of [
      'no consent',
      'revoked consent',
      'expired consent',
      'wrong purpose',
      'wrong resource type',
      'no agreement',
      'forged signature',
      'replayed transaction',
      "a patient's key used for another patient",
      'a revoked device key',
      'a clinician of one organisation acting for another',
      'release without any decision',
      'flip one ciphertext bit',
    ]) {
      expect(names).toContain(must);
    }
    // Typed reasons, not generic failures.
    const reasons = new Map(report.cases.map((c) => [c.name, c.reason]));
    expect(reasons.get('forged signature (one bit)')).toBe('forged-signature');
    expect(reasons.get('replayed transaction')).toBe('replay');
    expect(reasons.get('unknown key')).toBe('unknown-key');
    expect(reasons.get('expired consent')).toBe('consent-expired');
    expect(reasons.get('a revoked device key')).toBe('revoked-key');
  });
});
