// The first half of the scenarios, the negative control, and replay (the rest: faults.test.ts).
import { describe, expect, it } from 'vitest';
import { runScenario, SIZES } from './run.ts';
import { BASE, sweep } from './sweep.ts';

describe('PBFT simulator: Byzantine replicas', () => {
  sweep(['normal', 'equivocating-primary', 'bad-new-view', 'forged-signatures', 'replay', 'out-of-watermark', 'twins']);

  for (const n of SIZES) {
    it(`negative-control at n = ${n}: more Byzantine replicas than the quorums tolerate break safety, and the checker says so`, async () => {
      let unsafe = 0;
      for (let s = BASE; s < BASE + 2; s++) {
        const r = await runScenario('negative-control', s, n);
        if (!r.safety) unsafe++;
        // A violation is always reported with its height and the replica that diverged.
        expect(r.violations.some((v) => v.startsWith('conflicting-commit@'))).toBe(!r.safety);
      }
      expect(unsafe).toBeGreaterThan(0);
    }, 60_000);
  }

  it('replays a seed byte for byte, and another seed differs', async () => {
    for (const [name, n] of [
      ['lossy-30', 4],
      ['equivocating-primary', 5],
      ['restart-mid-view-change', 7],
    ] as const) {
      const a = JSON.stringify(await runScenario(name, 4242, n));
      const b = JSON.stringify(await runScenario(name, 4242, n));
      expect(b).toBe(a);
      expect(JSON.stringify(await runScenario(name, 4243, n))).not.toBe(a);
    }
  }, 300_000);
});
