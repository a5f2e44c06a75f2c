// The trainer's pacer: it rests only when a slice is used up, lengthens its rests while its wake-ups come
// late (others want the CPU) and shortens them when they come on time, and never changes what training
// computes.
import { beforeAll, describe, expect, it } from 'vitest';
import { initCore } from '../../../wasm/index.ts';
import { buildModel, getFlatWeights, trainLocal } from '../../../web/src/core/fl/index.ts';
import { initTfWasmNode } from '../../../web/src/core/fl/node.ts';
import { Pacer, realTimePacerClock, type PacerClock } from '../../../web/src/core/fl/pacer.ts';
import { Prng } from '../../../web/src/core/util/index.ts';

/** A manual clock: work advances it by hand; a sleep advances it by what was asked plus `extra`. */
function manualClock(): PacerClock & { t: number; extra: number; sleeps: number[] } {
  const c = {
    t: 0,
    extra: 0,
    sleeps: [] as number[],
    now: () => c.t,
    sleep: async (ms: number) => {
      c.sleeps.push(ms);
      c.t += ms + c.extra;
    },
  };
  return c;
}

describe('Pacer', () => {
  it('rests only once a slice is used up', async () => {
    const clock = manualClock();
    const pacer = new Pacer(clock, { sliceMs: 10, minRestMs: 1, maxRestMs: 32, lateMs: 2 });
    for (let i = 0; i < 4; i++) {
      clock.t += 2; // a 2 ms batch
      await pacer.between();
    }
    expect(clock.sleeps).toEqual([]);
    clock.t += 2; // 10 ms of batches: the slice is used up
    await pacer.between();
    expect(clock.sleeps).toEqual([1]);
    expect(pacer.rests).toBe(1);
  });

  it('doubles its rest while wake-ups are late, up to the cap, and halves it when they are on time', async () => {
    const clock = manualClock();
    const pacer = new Pacer(clock, { sliceMs: 5, minRestMs: 1, maxRestMs: 16, lateMs: 2 });
    const batch = async (): Promise<void> => {
      clock.t += 5;
      await pacer.between();
    };
    clock.extra = 10; // contended: every wake-up 10 ms late
    for (let i = 0; i < 7; i++) await batch();
    expect(clock.sleeps).toEqual([1, 2, 4, 8, 16, 16, 16]);
    clock.extra = 0; // the machine has room again
    for (let i = 0; i < 6; i++) await batch();
    expect(clock.sleeps.slice(7)).toEqual([16, 8, 4, 2, 1, 1]);
    expect(pacer.restedMs).toBe(1 + 2 + 4 + 8 + 16 * 3 + 7 * 10 + 16 + 8 + 4 + 2 + 1 + 1);
  });
});

describe('trainLocal with a pacer', () => {
  beforeAll(async () => {
    await initCore();
    await initTfWasmNode();
  });

  it('gives the same weights as without one', async () => {
    const features = 8;
    const p = new Prng(11);
    const x = Float32Array.from({ length: 300 * features }, () => p.float() * 2 - 1);
    const y = Float32Array.from({ length: 300 }, (_, r) => (x[r * features]! > 0 ? 1 : 0));
    const opts = { epochs: 3, batchSize: 16, learningRate: 0.1, seed: 3 };
    const train = async (pacer?: Pacer): Promise<Float32Array> => {
      const m = buildModel({ kind: 'mlp', features, seed: 5 });
      await trainLocal(m, x, y, features, opts, pacer);
      const w = getFlatWeights(m);
      m.dispose();
      return w;
    };
    // A zero-length slice: it rests after every batch.
    const pacer = new Pacer(realTimePacerClock, { sliceMs: 0, minRestMs: 0, maxRestMs: 1 });
    const paced = await train(pacer);
    expect(pacer.rests).toBe(3 * Math.ceil(300 / 16));
    expect(paced).toEqual(await train());
  });
});
