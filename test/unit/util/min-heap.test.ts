// The min-heap gives its items back in the caller's order, whatever the order of pushes and interleaved pops.
import { describe, expect, it } from 'vitest';
import { MinHeap, Prng } from '../../../web/src/core/util/index.ts';

describe('MinHeap', () => {
  it('pops in order under seeded interleavings of pushes and pops, ties broken by the order given', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const rng = new Prng(seed);
      const before = (a: [number, number], b: [number, number]) => a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
      const heap = new MinHeap<[number, number]>(before);
      const model: [number, number][] = [];
      for (let step = 0; step < 300; step++) {
        if (model.length > 0 && rng.chance(0.4)) {
          model.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
          expect(heap.peek()).toEqual(model[0]);
          expect(heap.pop()).toEqual(model.shift());
        } else {
          const item: [number, number] = [rng.int(20), step];
          heap.push(item);
          model.push(item);
        }
        expect(heap.size).toBe(model.length);
      }
    }
  });

  it('is empty-handed when empty', () => {
    const heap = new MinHeap<number>((a, b) => a < b);
    expect(heap.pop()).toBeUndefined();
    expect(heap.peek()).toBeUndefined();
    heap.push(3);
    expect(heap.pop()).toBe(3);
    expect(heap.size).toBe(0);
  });
});
