// The first half of the scenarios, the negative control, and replay (the rest: faults.test.ts).
import { describe, expect, it } from 'vitest';
import { runScenario } from './run.ts';
import { BASE, SEEDS, sweep } from './sweep.ts';

describe('PBFT simulator: Byzantine replicas', () => {
  sweep(['normal', 'equivocating-primary', 'bad-new-view', 'forged-signatures', 'replay', 'out-of-watermark', 'twins']);

  it('negative-control: with f+1 Byzantine replicas the checker reports a safety violation for some seed', async () => {
    let unsafe = 0;
    for (let s = BASE; s < BASE + Math.min(SEEDS, 20); s++) {
      const r = await runScenario('negative-control', s);
      if (!r.safety) unsafe++;
      // A violation is always reported with its height and the replica that diverged.
      expect(r.violations.some((v) => v.startsWith('conflicting-commit@'))).toBe(!r.safety);
    }
    expect(unsafe).toBeGreaterThan(0);
  }, 20 * 30_000);

  it('replays a seed byte for byte, and another seed differs', async () => {
    for (const name of ['lossy-30', 'equivocating-primary', 'restart-mid-view-change']) {
      const a = JSON.stringify(await runScenario(name, 4242));
      const b = JSON.stringify(await runScenario(name, 4242));
      expect(b).toBe(a);
      expect(JSON.stringify(await runScenario(name, 4243))).not.toBe(a);
    }
  }, 300_000);
});
