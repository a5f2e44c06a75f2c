// Consumed transaction ids ordered by expiry (a binary min-heap), so the contracts forget each id in the
// first block after it expired at O(log n) a step. Only an index: the ids themselves are state leaves
// (`seen/<id>`), and the queue is rebuilt from them when a snapshot is restored.
export class ExpiryQueue {
  private readonly heap: { at: number; id: string }[] = [];

  get size(): number {
    return this.heap.length;
  }

  push(at: number, id: string): void {
    const h = this.heap;
    h.push({ at, id });
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  /** Removes and returns the ids whose expiry is <= `time`, earliest first. */
  popUpTo(time: number): string[] {
    const out: string[] = [];
    const h = this.heap;
    while (h.length > 0 && h[0]!.at <= time) {
      out.push(h[0]!.id);
      const last = h.pop()!;
      if (h.length === 0) break;
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return out;
  }
}

function before(a: { at: number; id: string }, b: { at: number; id: string }): boolean {
  return a.at < b.at || (a.at === b.at && a.id < b.id);
}
