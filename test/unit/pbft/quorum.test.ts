// Quorums for every n (issue 10, finding 2): ceil((n + f + 1) / 2), so two quorums always share an honest
// replica. With 2f + 1 at n = 5, a Byzantine primary split the four honest replicas two and two, and each pair
// (with the primary's own commit) reached 3 and committed a different batch at the same seq.
import { describe, expect, it } from 'vitest';
import { batchDigest, replicaQuorum } from '../../../wasm/face/replica.ts';
import { quorumSize } from '../../../web/src/core/ledger/quorum.ts';
import { request, useClusters } from './cluster.ts';
import { forge, MsgType, writeBatch, writePrePrepare, writeVote } from '../../sim/wire.ts';
import { toHex } from '../../../web/src/core/util/index.ts';

const cluster = useClusters();

describe('the quorum', () => {
  it("is the ledger's quorumSize(n) for every n the replica accepts (AssemblyScript and TypeScript agree)", () => {
    for (let n = 1; n <= 64; n++) expect(replicaQuorum(n), `n = ${n}`).toBe(quorumSize(n));
    expect([4, 5, 6, 7, 8, 9, 10].map(replicaQuorum)).toEqual([3, 4, 4, 5, 6, 6, 7]);
  });

  it('makes any two quorums share f + 1 replicas, and the honest ones alone a quorum', () => {
    for (let n = 1; n <= 64; n++) {
      const f = Math.floor((n - 1) / 3);
      const q = replicaQuorum(n);
      expect(2 * q - n, `n = ${n}`).toBeGreaterThanOrEqual(f + 1);
      expect(q, `n = ${n}`).toBeLessThanOrEqual(n - f);
    }
  });
});

describe.each([5, 6, 8])('f Byzantine replicas led by an equivocating primary at n = %i', (n) => {
  it('cannot make two halves of the honest replicas commit different batches at one seq', () => {
    const c = cluster({ n, maxBatch: 1 });
    // Replicas 0..f-1 are Byzantine, 0 the primary of view 0: it proposes A to one half of the honest replicas
    // and B to the other, and every Byzantine replica prepares and commits A to the first half and B to the
    // second. The halves hear each other only after the fact (what a partition or a slow link does).
    const byzantine = [...Array(c.f).keys()];
    const honest = [...Array(n).keys()].slice(c.f);
    const sideA = honest.slice(0, Math.ceil(honest.length / 2));
    const side = (i: number): 'A' | 'B' => (sideA.includes(i) ? 'A' : 'B');
    const a = request(1, 1, 'A');
    const b = request(2, 1, 'B');
    const time = c.now;
    const digest = { A: batchDigest(time, [a]), B: batchDigest(time, [b]) };
    const held: typeof c.net = [];
    c.filter = (d) => {
      if (byzantine.includes(d.to)) return false; // the Byzantine keys' own replicas stay out of it
      if (byzantine.includes(d.from) || side(d.from) === side(d.to)) return true;
      held.push(d);
      return false;
    };
    for (const i of honest) {
      const x = side(i);
      const body = writePrePrepare({ sender: 0, view: 0, seq: 1, time, digest: digest[x] });
      c.net.push({ from: 0, to: i, bytes: forge(MsgType.PrePrepare, body, c.seeds[0]!, writeBatch([x === 'A' ? a : b])) });
      for (const z of byzantine) {
        if (z !== 0) c.net.push({ from: z, to: i, bytes: forge(MsgType.Prepare, writeVote({ sender: z, view: 0, seq: 1, digest: digest[x] }), c.seeds[z]!) });
        c.net.push({ from: z, to: i, bytes: forge(MsgType.Commit, writeVote({ sender: z, view: 0, seq: 1, digest: digest[x] }), c.seeds[z]!) });
      }
    }
    c.deliver();
    // Then everything the halves said to each other arrives.
    c.filter = (d) => !byzantine.includes(d.to);
    c.net.push(...held);
    c.deliver();
    const atOne = new Set<string>();
    for (const i of honest) for (const e of c.executed[i]!) if (e.seq === 1) atOne.add(toHex(e.batchDigest));
    expect(atOne.size).toBeLessThanOrEqual(1);
  });
});
