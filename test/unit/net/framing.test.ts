// Messages larger than one SCTP message travel as fragments: they arrive whole and in order, and a peer cannot
// make us hold more than the stated bounds (per message, and across all links through the shared budget).
import { describe, expect, it } from 'vitest';
import { FRAME_DATA, FRAME_FIRST, FRAME_MORE, Reassembler, ReassemblyBudget, encodeMessage, type ReassemblyResult } from '../../../web/src/core/net/framing.ts';
import { Prng } from '../../../web/src/core/util/index.ts';

const rng = new Prng(4242);

function feed(r: Reassembler, frames: Uint8Array[]): ReassemblyResult[] {
  return frames.map((f) => r.push(f)).filter((x) => x !== null);
}

describe('encodeMessage and Reassembler', () => {
  it('round-trips messages of every size around the chunk boundary', () => {
    const budget = new ReassemblyBudget(1 << 20);
    const r = new Reassembler(1 << 20, budget);
    for (const size of [0, 1, 99, 100, 101, 199, 200, 201, 1000, 12_345]) {
      const message = rng.bytes(size);
      const frames = encodeMessage(message, 100);
      expect(frames.length).toBe(size <= 100 ? 1 : Math.ceil(size / 100));
      expect(frames[0]![0]).toBe(size <= 100 ? FRAME_DATA : FRAME_FIRST);
      expect(feed(r, frames)).toEqual([{ message }]);
      expect(budget.inUse).toBe(0);
    }
  });

  it('copies: changing the message after encoding changes no frame', () => {
    const message = rng.bytes(250);
    const frames = encodeMessage(message, 100);
    const before = frames.map((f) => f.slice());
    message.fill(0);
    expect(frames).toEqual(before);
  });

  it('refuses a message claiming more than the bound at its first fragment, before holding any of it', () => {
    const budget = new ReassemblyBudget(1 << 20);
    const r = new Reassembler(1000, budget);
    expect(r.push(encodeMessage(rng.bytes(1001), 100)[0]!)).toEqual({ fail: 'oversize' });
    expect(budget.inUse).toBe(0);
    expect(r.push(encodeMessage(rng.bytes(10), 100)[0]!)).toEqual({ fail: 'fragment-sequence' }); // failed for good
    expect(new Reassembler(10, budget).push(encodeMessage(rng.bytes(11), 100)[0]!)).toEqual({ fail: 'oversize' });
  });

  it('refuses fragments out of place', () => {
    const budget = new ReassemblyBudget(1 << 20);
    const frames = encodeMessage(rng.bytes(300), 100);
    const cases: [string, Uint8Array[]][] = [
      ['MORE without FIRST', [frames[1]!]],
      ['FIRST inside a message', [frames[0]!, frames[0]!]],
      ['DATA inside a message', [frames[0]!, encodeMessage(Uint8Array.of(1), 100)[0]!]],
      ['bytes past the total', [frames[0]!, frames[1]!, frames[2]!, frames[2]!]],
      ['an empty fragment', [frames[0]!, Uint8Array.of(FRAME_MORE)]],
      ['a FIRST that is already complete', [Uint8Array.of(FRAME_FIRST, 2, 7, 7)]],
      ['a FIRST whose length does not decode', [Uint8Array.of(FRAME_FIRST, 0x80)]],
      ['an unknown frame kind', [Uint8Array.of(0x99, 1)]],
    ];
    for (const [what, seq] of cases) {
      const r = new Reassembler(1 << 20, budget);
      const results = feed(r, seq);
      expect(results.at(-1), what).toEqual({ fail: 'fragment-sequence' });
      expect(budget.inUse, what).toBe(0);
    }
  });

  it('shares one budget across links: partial messages of many peers cannot exceed it, and a closed link gives its share back', () => {
    const budget = new ReassemblyBudget(250);
    const a = new Reassembler(1000, budget);
    const b = new Reassembler(1000, budget);
    const c = new Reassembler(1000, budget);
    const framesA = encodeMessage(rng.bytes(500), 100);
    const framesB = encodeMessage(rng.bytes(500), 100);
    expect(feed(a, framesA.slice(0, 2))).toEqual([]);
    expect(budget.inUse).toBe(200);
    expect(b.push(framesB[0]!)).toEqual({ fail: 'reassembly-budget' });
    expect(budget.inUse).toBe(200);
    a.dispose();
    expect(budget.inUse).toBe(0);
    const message = rng.bytes(220);
    expect(feed(c, encodeMessage(message, 100))).toEqual([{ message }]);
    expect(budget.inUse).toBe(0);
  });
});
