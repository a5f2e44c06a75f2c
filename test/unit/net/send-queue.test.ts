// The per-link send queue: frames reach the channel only below its high-water mark, in order, messages whole;
// a message that does not fit the queue's bound is refused whole.
import { describe, expect, it } from 'vitest';
import { SendQueue } from '../../../web/src/core/net/send-queue.ts';

/** A channel whose buffer drains only when the test says so. */
function channel() {
  const sent: number[] = [];
  const ch = {
    bufferedAmount: 0,
    send(frame: Uint8Array) {
      sent.push(frame[0]!);
      ch.bufferedAmount += frame.length;
    },
  };
  return { ch, sent };
}

const frame = (id: number, size: number) => {
  const f = new Uint8Array(size);
  f[0] = id;
  return f;
};

describe('SendQueue', () => {
  it('sends while the channel is below its high-water mark, and the rest when it drains, in order', () => {
    const { ch, sent } = channel();
    const q = new SendQueue(ch, { highWaterBytes: 250, maxQueuedBytes: 10_000 });
    expect(q.enqueue([frame(1, 100), frame(2, 100), frame(3, 100)])).toBe(true);
    expect(q.enqueue([frame(4, 100)])).toBe(true);
    expect(sent).toEqual([1, 2, 3]);
    expect(q.queuedBytes).toBe(100);
    q.pump();
    expect(sent).toEqual([1, 2, 3]);
    ch.bufferedAmount = 0;
    q.pump();
    expect(sent).toEqual([1, 2, 3, 4]);
    expect(q.queuedBytes).toBe(0);
  });

  it('refuses a whole message that would overflow the queue, and keeps the ones it holds', () => {
    const { ch, sent } = channel();
    const q = new SendQueue(ch, { highWaterBytes: 1, maxQueuedBytes: 300 });
    expect(q.enqueue([frame(1, 100)])).toBe(true); // sent at once
    expect(q.enqueue([frame(2, 100), frame(3, 100)])).toBe(true); // queued: 200
    expect(q.enqueue([frame(4, 60), frame(5, 60)])).toBe(false); // 320 > 300: none of it
    expect(q.queuedBytes).toBe(200);
    ch.bufferedAmount = 0;
    q.pump();
    ch.bufferedAmount = 0;
    q.pump();
    expect(sent).toEqual([1, 2, 3]);
  });

  it('forgets its frames when cleared', () => {
    const { ch, sent } = channel();
    const q = new SendQueue(ch, { highWaterBytes: 1 });
    q.enqueue([frame(1, 10), frame(2, 10)]);
    q.clear();
    ch.bufferedAmount = 0;
    q.pump();
    expect(sent).toEqual([1]);
    expect(q.queuedBytes).toBe(0);
  });
});
