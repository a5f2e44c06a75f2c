import { describe, expect, it } from 'vitest';
import { core } from '../../../wasm/face/instance.ts';
import { batchDigest, ReplicaError, verifyCommitCertificate, type ReplicaAction } from '../../../wasm/face/replica.ts';
import { request, seedOf, useClusters } from './cluster.ts';
import { forge, header, MsgType, writeVote } from '../../sim/wire.ts';
import { toHex } from '../../../web/src/core/util/index.ts';

const cluster = useClusters();

describe('client requests', () => {
  it('are de-duplicated by (client, seq): resubmitted or replayed requests execute once', () => {
    const c = cluster({ n: 4, maxBatch: 2 });
    const a = request(1, 1);
    const b = request(1, 2);
    c.submit(a);
    c.submit(a);
    c.submit(b);
    c.settle();
    expect(c.reasons(0)).toContain('duplicate');
    c.submit(a);
    for (let i = 0; i < 4; i++) expect(c.reasons(i).at(-1)).toBe('staleRequest');
    // The same client seq with another payload is stale too.
    expect(c.step(2, { kind: 'request', bytes: request(1, 2, 'other'), now: c.now })).toEqual([{ kind: 'rejected', reason: 'staleRequest', from: -1 }]);
    c.settle();
    for (let i = 0; i < 4; i++) {
      expect(c.executed[i]!.flatMap((e) => e.requests.map(toHex))).toEqual([toHex(a), toHex(b)]);
    }
  });

  it('rejects a badly signed request where its signature is first needed, and a malformed one on arrival', () => {
    const c = cluster({ n: 4 });
    const r = request(1, 1);
    const badSig = r.slice();
    badSig[r.length - 1]! ^= 1;
    const rejections = (acts: ReplicaAction[]) => acts.filter((a) => a.kind === 'rejected');
    // The primary checks what it proposes: a forged request is never ordered.
    const atPrimary = c.step(0, { kind: 'request', bytes: badSig, now: c.now });
    expect(rejections(atPrimary)).toEqual([{ kind: 'rejected', reason: 'badRequest', from: -1 }]);
    expect(atPrimary.some((a) => a.kind === 'broadcast')).toBe(false);
    expect(c.replicas[0]!.pendingRequests).toBe(0);
    // A backup passes it on unchecked; before its view-change timer may blame the primary, it checks it.
    c.step(1, { kind: 'request', bytes: badSig, now: c.now });
    expect(c.replicas[1]!.pendingRequests).toBe(1);
    c.fire(1, 'viewChange');
    expect(c.reasons(1)).toEqual(['badRequest']);
    expect(c.replicas[1]!.pendingRequests).toBe(0);
    expect(c.replicas[1]!.changingView).toBe(false);
    expect(c.step(1, { kind: 'request', bytes: r.subarray(0, 50), now: c.now })).toEqual([{ kind: 'rejected', reason: 'malformed', from: -1 }]);
  });
});

describe('bounded buffers', () => {
  it('a flood of requests fills the pending buffer up to its bound, then is rejected', () => {
    const c = cluster({ n: 4, maxPendingRequests: 16 });
    c.filter = () => false; // nothing gets ordered
    let full = 0;
    for (let k = 0; k < 100; k++) {
      const acts = c.step(2, { kind: 'request', bytes: request(k, 1), now: c.now });
      if (acts.some((a) => a.kind === 'rejected' && a.reason === 'bufferFull')) full++;
    }
    expect(c.replicas[2]!.pendingRequests).toBe(16);
    expect(full).toBe(84);
  });

  it('a flood of messages for future views is bounded per peer', () => {
    const c = cluster({ n: 4, maxFutureMessagesPerPeer: 8 });
    const reasons: string[] = [];
    for (let seq = 1; seq <= 40; seq++) {
      const m = forge(MsgType.Prepare, writeVote({ sender: 3, view: 7, seq, digest: new Uint8Array(32).fill(seq) }), c.seeds[3]!);
      for (const a of c.step(1, { kind: 'message', bytes: m, now: c.now, from: 3 })) if (a.kind === 'rejected') reasons.push(a.reason);
    }
    expect(c.replicas[1]!.bufferedMessages).toBe(8);
    expect(reasons).toEqual(Array(32).fill('bufferFull'));
    // Another peer still has its own room; and with f+1 peers signing in view 7, replica 1 asks to join it.
    const m = forge(MsgType.Prepare, writeVote({ sender: 2, view: 7, seq: 1, digest: new Uint8Array(32) }), c.seeds[2]!);
    const acts = c.step(1, { kind: 'message', bytes: m, now: c.now, from: 2 });
    expect(acts.filter((a) => a.kind === 'rejected')).toEqual([]);
    expect(c.replicas[1]!.bufferedMessages).toBe(9);
    expect(c.replicas[1]!.view).toBe(7);
    expect(c.replicas[1]!.changingView).toBe(true);
  });

  it('votes for seqs beyond the window never enter the log', () => {
    const c = cluster({ n: 4, checkpointInterval: 4, watermarkWindow: 8 });
    for (let seq = 1; seq <= 50; seq++) {
      const m = forge(MsgType.Commit, writeVote({ sender: 2, view: 0, seq, digest: new Uint8Array(32) }), c.seeds[2]!);
      c.step(1, { kind: 'message', bytes: m, now: c.now, from: 2 });
    }
    expect(c.replicas[1]!.logSize).toBe(8);
    expect(c.reasons(1)).toEqual(Array(42).fill('outOfWatermark'));
  });

  it("a vote far above the window, over its sender's own channel, makes the replica ask its peers once for what it lacks; relayed, it does not", () => {
    const c = cluster({ n: 4, checkpointInterval: 4, watermarkWindow: 8 });
    const commit = (seq: number) => forge(MsgType.Commit, writeVote({ sender: 2, view: 0, seq, digest: new Uint8Array(32) }), c.seeds[2]!);
    const fetches = (acts: ReplicaAction[]) => acts.flatMap((a) => (a.kind === 'broadcast' && header(a.bytes).type === MsgType.Fetch ? [header(a.bytes)] : []));
    // Relayed by replica 3 (unverified, and not replica 2's own word): no question asked.
    expect(fetches(c.step(1, { kind: 'message', bytes: commit(40), now: c.now, from: 3 }))).toEqual([]);
    // Inside the window there is nothing to ask.
    expect(fetches(c.step(1, { kind: 'message', bytes: commit(5), now: c.now, from: 2 }))).toEqual([]);
    // Far above, from replica 2 itself: one fetch for everything below it, and not again while the tip stays put.
    expect(fetches(c.step(1, { kind: 'message', bytes: commit(40), now: c.now, from: 2 }))).toEqual([{ type: MsgType.Fetch, sender: 1, a: 1, b: 39 }]);
    expect(fetches(c.step(1, { kind: 'message', bytes: commit(41), now: c.now, from: 2 }))).toEqual([]);
    expect(c.reasons(1)).toEqual(Array(3).fill('outOfWatermark'));
    expect(c.replicas[1]!.logSize).toBe(1);
  });

  it('oversized messages are dropped before they are read', () => {
    const c = cluster({ n: 4, maxMessageBytes: 4096 });
    expect(c.step(1, { kind: 'message', bytes: new Uint8Array(5000), now: c.now, from: -1 })).toEqual([{ kind: 'rejected', reason: 'oversize', from: -1 }]);
  });
});

describe('the face', () => {
  it('refuses bad options with a typed error, and a key that is not the validator of `self`', () => {
    const c = cluster({ n: 4 });
    const base = { validators: c.keys, self: 0, secretKey: c.seeds[0]!, checkpointInterval: 4, watermarkWindow: 8, maxBatch: 4 };
    expect(() => c.make(0, seedOf(99))).toThrow(ReplicaError);
    expect(() => c.make(0, new Uint8Array(31))).toThrow(/32-byte/);
    for (const bad of [{ watermarkWindow: 6 }, { self: 4 }, { maxBatch: 0 }, { trust: [1, 2] }]) {
      expect(() => new (c.replicas[0]!.constructor as typeof import('../../../wasm/face/replica.ts').Replica)({ ...base, ...bad })).toThrow(ReplicaError);
    }
  });

  it('dispose() wipes the secret key from wasm memory', () => {
    const c = cluster({ n: 4 });
    const seed = c.seeds[2]!;
    const contains = (hay: Uint8Array, needle: Uint8Array): boolean => Buffer.from(hay).indexOf(Buffer.from(needle)) >= 0;
    // It signs (so the key was used), then goes away.
    c.submit(request(1, 1));
    c.settle();
    expect(c.executed[2]!.length).toBe(1);
    const memory = (core() as { memory: WebAssembly.Memory }).memory;
    expect(contains(new Uint8Array(memory.buffer), seed)).toBe(true);
    c.replicas[2]!.dispose();
    expect(contains(new Uint8Array(memory.buffer), seed)).toBe(false);
  });

  it('dispose() makes the replica unusable', () => {
    const c = cluster({ n: 4 });
    const r = c.replicas[1]!;
    r.dispose();
    expect(() => r.step({ kind: 'timer', timer: 'batch', now: 0 })).toThrow(/disposed/);
    r.dispose(); // idempotent
  });
});

describe('the execute action', () => {
  it('carries the whole certified batch, its signed time and the skipped stale positions', () => {
    const c = cluster({ n: 4, maxBatch: 2 });
    const x = request(1, 1);
    const a = request(2, 1);
    const aAgain = request(2, 1, 'the same client seq with another payload');
    // Seq 1 = [x]; [a, aAgain] fill the next batch while seq 1 is in flight.
    for (const r of [x, a, aAgain]) c.submit(r, [0]);
    c.settle();
    const e = c.executed[2]!.at(-1)!;
    expect(e.seq).toBe(2);
    expect(e.batch.map(toHex)).toEqual([toHex(a), toHex(aAgain)]);
    expect(e.skipped).toEqual([1]);
    expect(e.requests.map(toHex)).toEqual([toHex(a)]);
    expect(e.time).toBeGreaterThanOrEqual(e.batchTime);
    expect(toHex(batchDigest(e.batchTime, e.batch))).toBe(toHex(e.batchDigest));
    expect(verifyCommitCertificate(e.certificate, c.keys, e.seq, e.batchDigest)).toBe(true);
  });
});
