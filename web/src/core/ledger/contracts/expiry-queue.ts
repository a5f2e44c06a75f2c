// Consumed transaction ids ordered by expiry (a min-heap), so the contracts forget each id in the first block
// after it expired at O(log n) a step. Only an index: the ids themselves are state leaves (`seen/<id>`), and
// the queue is rebuilt from them when a snapshot is restored.
import { MinHeap } from '../../util/index.ts';

interface Expiry {
  readonly at: number;
  readonly id: string;
}

export class ExpiryQueue {
  // Ties broken by id, so every replica forgets in the same order.
  private readonly heap = new MinHeap<Expiry>((a, b) => a.at < b.at || (a.at === b.at && a.id < b.id));

  get size(): number {
    return this.heap.size;
  }

  push(at: number, id: string): void {
    this.heap.push({ at, id });
  }

  /** Removes and returns the ids whose expiry is <= `time`, earliest first. */
  popUpTo(time: number): string[] {
    const out: string[] = [];
    while ((this.heap.peek()?.at ?? Infinity) <= time) out.push(this.heap.pop()!.id);
    return out;
  }
}
