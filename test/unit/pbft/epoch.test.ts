// Epochs (issue 11): a replica starts at a stable checkpoint of a validator set, every signature it makes or
// checks is bound to the epoch id, and a restarted node resumes at its own last stable checkpoint.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ReplicaError, verifyCommitCertificate, type ReplicaEpoch } from '../../../wasm/face/replica.ts';
import { Cluster, request, seedOf, useClusters } from './cluster.ts';
import { forge, MsgType, writeCheckpoint, writeVote } from '../../sim/wire.ts';
import { toHex } from '../../../web/src/core/util/index.ts';

const cluster = useClusters();

const epochId = (label: string): Uint8Array => new Uint8Array(createHash('sha256').update(`test-epoch/${label}`).digest());

/** Runs the first epoch (4 validators) past its checkpoint at `E`; returns the cluster and the switch point. */
function firstEpoch(E: number): { a: Cluster; epoch: ReplicaEpoch } {
  const a = cluster({ n: 4, maxBatch: 1, checkpointInterval: 4, watermarkWindow: 8, epoch: { id: epochId('A'), startSeq: 0, startDigest: new Uint8Array(32) } });
  for (let s = 1; s <= E; s++) a.submit(request(1, s));
  a.settle();
  const stable = a.stable[0]!.find((x) => x.seq === E)!;
  expect(stable).toBeDefined();
  return { a, epoch: { id: epochId('B'), startSeq: E, startDigest: stable.stateDigest, replicaState: stable.replicaState } };
}

/** The next epoch's set: validator 3 of the first set leaves, two new ones join (n = 5). */
function nextSet(a: Cluster): Uint8Array[] {
  return [a.seeds[0]!, a.seeds[1]!, a.seeds[2]!, seedOf(10), seedOf(11)];
}

function startSecondEpoch(a: Cluster, epoch: ReplicaEpoch): Cluster {
  const b = cluster({ n: 5, maxBatch: 1, checkpointInterval: 4, watermarkWindow: 8, epoch }, { seeds: nextSet(a) });
  for (let i = 0; i < b.n; i++) b.stateDigest[i] = epoch.startDigest;
  return b;
}

describe('epochs', () => {
  it('a cluster switches validator sets at a stable checkpoint and goes on, safe and live', () => {
    const { a, epoch } = firstEpoch(8);
    const b = startSecondEpoch(a, epoch);
    for (const r of b.replicas) {
      expect(r.lastExecuted).toBe(8);
      expect(r.lowWatermark).toBe(8);
    }
    for (let s = 9; s <= 20; s++) b.submit(request(1, s));
    b.settle();
    const ref = b.executed[0]!.map((e) => [e.seq, toHex(e.batchDigest)]);
    expect(ref.map(([seq]) => seq)).toEqual([9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
    for (let i = 0; i < b.n; i++) expect(b.executed[i]!.map((e) => [e.seq, toHex(e.batchDigest)])).toEqual(ref);
    // Checkpoints of the new epoch become stable among the new set.
    for (let i = 0; i < b.n; i++) expect(b.stable[i]!.map((s) => s.seq)).toEqual([12, 16, 20]);
    // Its commit certificates hold under its own epoch id and validators only.
    const e = b.executed[4]![0]!;
    expect(verifyCommitCertificate(e.certificate, b.keys, e.seq, e.batchDigest, epoch.id)).toBe(true);
    expect(verifyCommitCertificate(e.certificate, b.keys, e.seq, e.batchDigest, epochId('A'))).toBe(false);
    expect(verifyCommitCertificate(e.certificate, b.keys, e.seq, e.batchDigest)).toBe(false);
  });

  it('carries the client table over: a request executed in the old epoch is stale in the new one', () => {
    const { a, epoch } = firstEpoch(8);
    const b = startSecondEpoch(a, epoch);
    expect(b.step(3, { kind: 'request', bytes: request(1, 5), now: b.now })).toEqual([{ kind: 'rejected', reason: 'staleRequest', from: -1 }]);
  });

  it('rejects a vote signed in the old epoch by a validator of both, and takes the same vote signed in the new one', () => {
    const { a, epoch } = firstEpoch(8);
    const b = startSecondEpoch(a, epoch);
    const shared = a.seeds[0]!;
    const sender = b.seeds.findIndex((s) => toHex(s) === toHex(shared));
    const to = (sender + 1) % b.n;
    const body = writeVote({ sender, view: 0, seq: 9, digest: new Uint8Array(32).fill(7) });
    const checkpoint = writeCheckpoint({ sender, seq: 12, stateDigest: new Uint8Array(32), replicaDigest: new Uint8Array(32) });
    for (const [type, signed] of [
      [MsgType.Commit, body],
      [MsgType.Checkpoint, checkpoint],
    ] as const) {
      const old = forge(type, signed, shared, undefined, epochId('A'));
      expect(b.step(to, { kind: 'message', bytes: old, now: b.now, from: -1 })).toEqual([{ kind: 'rejected', reason: 'badSignature', from: sender }]);
    }
    const current = forge(MsgType.Commit, body, shared, undefined, epoch.id);
    expect(b.step(to, { kind: 'message', bytes: current, now: b.now, from: -1 }).filter((x) => x.kind === 'rejected')).toEqual([]);
    // Nothing at or below the epoch's start is accepted, whatever its signature.
    const below = forge(MsgType.Commit, writeVote({ sender, view: 0, seq: 8, digest: new Uint8Array(32) }), shared, undefined, epoch.id);
    expect(b.step(to, { kind: 'message', bytes: below, now: b.now, from: -1 })).toEqual([{ kind: 'rejected', reason: 'outOfWatermark', from: sender }]);
  });

  it('changes view right after the switch: the epoch start stands as the stable checkpoint without a proof', () => {
    const { a, epoch } = firstEpoch(8);
    const b = startSecondEpoch(a, epoch);
    const primary = b.replicas[0]!.primary;
    b.filter = (d) => d.from !== primary && d.to !== primary;
    const others = [...Array(b.n).keys()].filter((i) => i !== primary);
    b.submit(request(2, 1), others);
    b.deliver();
    for (const i of others) b.fire(i, 'viewChange');
    b.settle();
    for (const i of others) {
      expect(b.replicas[i]!.view).toBe(1);
      expect(b.reasons(i).filter((r) => r === 'badViewChange' || r === 'badNewView')).toEqual([]);
      expect(b.executed[i]!.map((e) => e.seq)).toEqual([9]);
    }
  });

  it('refuses an epoch start that is not a checkpoint, or a replica state of another seq', () => {
    const { a, epoch } = firstEpoch(8);
    expect(() => startSecondEpoch(a, { ...epoch, startSeq: 6 })).toThrow(ReplicaError);
    expect(() => startSecondEpoch(a, { ...epoch, startSeq: 4 })).toThrow(/replicaState/);
  });
});

describe('resuming at the last stable checkpoint', () => {
  it('a restarted replica starts at its own stable checkpoint and takes part at once, without state transfer', () => {
    const c = cluster({ n: 4, maxBatch: 1, checkpointInterval: 4, watermarkWindow: 8 });
    for (let s = 1; s <= 10; s++) c.submit(request(1, s));
    c.settle();
    const last = c.stable[2]!.at(-1)!;
    expect(last.seq).toBe(8);
    c.replicas[2]!.dispose();
    c.replicas[2] = c.make(2, c.seeds[2]!, { resumeFrom: last });
    c.stateDigest[2] = last.stateDigest;
    c.executed[2]!.length = 0;
    expect(c.replicas[2]!.lastExecuted).toBe(8);
    expect(c.replicas[2]!.lowWatermark).toBe(8);
    // Seqs 9 and 10 committed while it was away: peers hand it their commit proofs; then new work flows.
    c.submit(request(1, 11));
    c.settle();
    expect(c.fetches[2]).toEqual([]);
    expect(c.executed[2]!.map((e) => e.seq)).toEqual([9, 10, 11]);
    expect(toHex(c.stateDigest[2]!)).toBe(toHex(c.stateDigest[0]!));
  });

  it('refuses a resume point whose certificate does not hold', () => {
    const c = cluster({ n: 4, maxBatch: 1, checkpointInterval: 4, watermarkWindow: 8 });
    for (let s = 1; s <= 8; s++) c.submit(request(1, s));
    c.settle();
    const good = c.stable[1]!.at(-1)!;
    const flipped = (b: Uint8Array): Uint8Array => {
      const x = b.slice();
      x[x.length - 1]! ^= 1;
      return x;
    };
    const bad = [
      { ...good, stateDigest: flipped(good.stateDigest) },
      { ...good, replicaState: flipped(good.replicaState) },
      { ...good, certificate: flipped(good.certificate) },
      { ...good, seq: 12 },
    ];
    for (const resumeFrom of bad) expect(() => c.make(1, c.seeds[1]!, { resumeFrom })).toThrow(ReplicaError);
    // Signed under another epoch: not this epoch's proof.
    expect(() => c.make(1, c.seeds[1]!, { resumeFrom: good, epoch: { id: epochId('other'), startSeq: 0, startDigest: new Uint8Array(32) } })).toThrow(/resumeFrom/);
    c.make(1, c.seeds[1]!, { resumeFrom: good }).dispose();
  });
});
