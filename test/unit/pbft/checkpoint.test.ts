import { describe, expect, it } from 'vitest';
import { request, useClusters } from './cluster.ts';
import { header, MsgType } from '../../sim/wire.ts';
import { toHex } from '../../../web/src/core/util/index.ts';

const cluster = useClusters();

describe('checkpoints', () => {
  it('become stable every K seqs and garbage-collect the log below the low watermark', () => {
    const c = cluster({ n: 4, maxBatch: 1, checkpointInterval: 4, watermarkWindow: 8 });
    for (let s = 1; s <= 10; s++) {
      c.submit(request(1, s));
      c.settle();
      for (let i = 0; i < 4; i++) expect(c.replicas[i]!.logSize).toBeLessThanOrEqual(8);
    }
    for (let i = 0; i < 4; i++) {
      const r = c.replicas[i]!;
      expect(r.lastExecuted).toBe(10);
      expect(r.lowWatermark).toBe(8);
      expect(r.logSize).toBe(2); // seqs 9 and 10
      expect(c.stable[i]!.map((s) => s.seq)).toEqual([4, 8]);
      // Every replica agrees on the checkpoint: the same state and replica-state digests.
      expect(c.stable[i]!.map((s) => toHex(s.stateDigest))).toEqual(c.stable[0]!.map((s) => toHex(s.stateDigest)));
      expect(c.stable[i]!.map((s) => toHex(s.replicaState))).toEqual(c.stable[0]!.map((s) => toHex(s.replicaState)));
    }
  });

  it('the primary stops at the high watermark until a checkpoint moves it', () => {
    const c = cluster({ n: 4, maxBatch: 1, checkpointInterval: 2, watermarkWindow: 4 });
    // Checkpoint messages are held back: no checkpoint can become stable.
    const held: typeof c.net = [];
    c.filter = (d) => {
      if (header(d.bytes).type === MsgType.Checkpoint) {
        held.push(d);
        return false;
      }
      return true;
    };
    for (let s = 1; s <= 7; s++) c.submit(request(1, s));
    c.settle();
    for (let i = 0; i < 4; i++) expect(c.replicas[i]!.lastExecuted).toBe(4);
    expect(c.replicas[0]!.pendingRequests).toBe(3);
    c.filter = () => true;
    c.net.push(...held);
    c.settle();
    for (let i = 0; i < 4; i++) expect(c.replicas[i]!.lastExecuted).toBe(7);
  });

  it('a replica that fell behind a pruned log asks for state transfer, installs it and catches up', () => {
    const c = cluster({ n: 4, maxBatch: 1, checkpointInterval: 2, watermarkWindow: 4 });
    c.filter = (d) => d.to !== 3 && d.from !== 3;
    for (let s = 1; s <= 9; s++) {
      c.submit(request(1, s), [0, 1, 2]);
      c.settle();
    }
    expect(c.replicas[0]!.lowWatermark).toBe(8);
    expect(c.replicas[3]!.lastExecuted).toBe(0);
    c.filter = () => true;
    c.submit(request(1, 10), [0, 1, 2]);
    c.settle();
    // Seq 10's proposal, far above replica 3's window, made it ask its peers at once: they answered with their
    // stable checkpoint 8's proof, and it fetched that state; then checkpoint 10's proof came, and it fetched
    // that, each from the replicas that proved it.
    expect(c.fetches[3]!.map((f) => f.seq)).toEqual([8, 10]);
    for (const f of c.fetches[3]!) expect(f.peers.sort()).toEqual([0, 1, 2]);
    expect(c.replicas[3]!.lastExecuted).toBe(10);
    expect(c.replicas[3]!.lowWatermark).toBe(10);
    // From there it takes part as usual, and the client table came with the state (seq 3 is stale).
    c.submit(request(1, 11));
    c.settle();
    // Seq 9 it executed from the commit proof its peers sent beside checkpoint 8's; 10 came with the state.
    expect(c.executed[3]!.map((e) => e.seq)).toEqual([9, 11]);
    expect(toHex(c.stateDigest[3]!)).toBe(toHex(c.stateDigest[0]!));
    expect(c.step(3, { kind: 'request', bytes: request(1, 3), now: c.now })).toEqual([{ kind: 'rejected', reason: 'staleRequest', from: -1 }]);
  });

  it('refuses installed state that does not match the proven checkpoint', () => {
    const c = cluster({ n: 4, maxBatch: 1, checkpointInterval: 2, watermarkWindow: 4 });
    c.autoStateTransfer = false;
    c.filter = (d) => d.to !== 3 && d.from !== 3;
    for (let s = 1; s <= 6; s++) {
      c.submit(request(1, s), [0, 1, 2]);
      c.settle();
    }
    c.filter = () => true;
    c.submit(request(1, 7), [0, 1, 2]);
    c.submit(request(1, 8), [0, 1, 2]);
    c.settle();
    // The state it asks for last (it asked for checkpoint 6's as soon as it saw seq 7 above its window, then 8's).
    const f = c.fetches[3]!.at(-1)!;
    expect(f.seq).toBe(8);
    const good = c.stable[0]!.find((s) => s.seq === f.seq)!;
    const wrongState = good.replicaState.slice();
    wrongState[wrongState.length - 1]! ^= 1;
    const bad = [
      { kind: 'stateInstalled' as const, seq: f.seq, stateDigest: new Uint8Array(32), replicaState: good.replicaState },
      { kind: 'stateInstalled' as const, seq: f.seq, stateDigest: good.stateDigest, replicaState: wrongState },
      { kind: 'stateInstalled' as const, seq: f.seq - 2, stateDigest: good.stateDigest, replicaState: good.replicaState },
    ];
    for (const ev of bad) expect(c.step(3, ev)).toEqual([{ kind: 'rejected', reason: 'stateMismatch', from: -1 }]);
    expect(c.replicas[3]!.lastExecuted).toBe(0);
    c.step(3, { kind: 'stateInstalled', seq: f.seq, stateDigest: good.stateDigest, replicaState: good.replicaState });
    expect(c.replicas[3]!.lastExecuted).toBeGreaterThanOrEqual(f.seq);
  });
});
