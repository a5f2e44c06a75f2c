import { describe, expect, it } from 'vitest';
import { batchDigest } from '../../../wasm/face/replica.ts';
import { Cluster, request, type Delivery, useClusters } from './cluster.ts';
import { encodeEnvelope, forge, header, MsgType, parseEnvelope, readVote, writeBatch, writePrePrepare, writeVote } from '../../sim/wire.ts';
import { toHex } from '../../../web/src/core/util/index.ts';

const cluster = useClusters();

const isType = (d: Delivery, t: number): boolean => header(d.bytes).type === t;

/** Commits one request while `to` receives no prepare at all; returns the prepare `from` sent it. */
function capturePrepare(c: Cluster, from: number, to: number): Delivery {
  let captured: Delivery | null = null;
  c.filter = (d) => {
    if (d.to === to && isType(d, MsgType.Prepare)) {
      if (!captured && d.from === from) captured = d;
      return false;
    }
    return true;
  };
  c.submit(request(1, 1));
  c.deliver();
  c.filter = () => true;
  expect(captured).not.toBeNull();
  return captured!;
}

describe('a Byzantine primary', () => {
  it('equivocating (two pre-prepares for one seq) cannot make honest replicas commit different batches', () => {
    const c = cluster({ n: 4, maxBatch: 1 });
    const twin = c.make(0, c.seeds[0]!); // a second replica holding the primary's key
    try {
      const a = request(1, 1, 'A');
      const b = request(2, 1, 'B');
      const fromPrimary = c.replicas[0]!.step({ kind: 'request', bytes: a, now: c.now });
      const fromTwin = twin.step({ kind: 'request', bytes: b, now: c.now });
      const ppA = fromPrimary.find((x) => x.kind === 'broadcast')!;
      const ppB = fromTwin.find((x) => x.kind === 'broadcast')!;
      if (ppA.kind !== 'broadcast' || ppB.kind !== 'broadcast') throw new Error('no pre-prepare');
      expect(header(ppA.bytes)).toMatchObject({ type: MsgType.PrePrepare, sender: 0, a: 0, b: 1 });
      expect(header(ppB.bytes)).toMatchObject({ type: MsgType.PrePrepare, sender: 0, a: 0, b: 1 });
      // Replica 1 sees A first, replicas 2 and 3 see B first; everyone sees both eventually.
      c.net.push(
        { from: 0, to: 1, bytes: ppA.bytes },
        { from: 0, to: 2, bytes: ppB.bytes },
        { from: 0, to: 3, bytes: ppB.bytes },
        { from: 0, to: 1, bytes: ppB.bytes },
        { from: 0, to: 2, bytes: ppA.bytes },
        { from: 0, to: 3, bytes: ppA.bytes },
      );
      c.deliver();
      for (const i of [1, 2, 3]) expect(c.reasons(i)).toContain('conflict');
      // Nobody may have executed anything conflicting. The backups give up on the primary...
      for (const i of [1, 2, 3]) c.fire(i, 'viewChange');
      c.settle();
      // ...and the new view orders B (prepared by 2f replicas) then A, identically everywhere.
      for (const i of [1, 2, 3]) {
        expect(c.replicas[i]!.view).toBe(1);
        expect(c.executed[i]!.map((e) => e.requests.map(toHex))).toEqual(c.executed[1]!.map((e) => e.requests.map(toHex)));
      }
      const all = c.executed[1]!.flatMap((e) => e.requests.map(toHex));
      expect(all.sort()).toEqual([toHex(a), toHex(b)].sort());
    } finally {
      twin.dispose();
    }
  });

  it('a batch that does not hash to its digest, or holds a badly signed request, is rejected', () => {
    const c = cluster({ n: 4 });
    const good = request(1, 1);
    const bad = good.slice();
    bad[bad.length - 1]! ^= 1; // the client's signature no longer verifies
    const time = c.now;
    const wrongDigest = batchDigest(time, [request(1, 2)]);
    const pp1 = forge(MsgType.PrePrepare, writePrePrepare({ sender: 0, view: 0, seq: 1, time, digest: wrongDigest }), c.seeds[0]!, writeBatch([good]));
    const pp2 = forge(MsgType.PrePrepare, writePrePrepare({ sender: 0, view: 0, seq: 2, time, digest: batchDigest(time, [bad]) }), c.seeds[0]!, writeBatch([bad]));
    c.net.push({ from: 0, to: 1, bytes: pp1 }, { from: 0, to: 1, bytes: pp2 });
    c.deliver();
    expect(c.reasons(1)).toEqual(['digestMismatch', 'badRequest']);
    expect(c.replicas[1]!.logSize).toBe(0);
  });

  it('a batch time too far from the backup clock is rejected', () => {
    const c = cluster({ n: 4, maxClockSkew: 1000 });
    const r = request(1, 1);
    const time = c.now + 5000;
    const pp = forge(MsgType.PrePrepare, writePrePrepare({ sender: 0, view: 0, seq: 1, time, digest: batchDigest(time, [r]) }), c.seeds[0]!, writeBatch([r]));
    c.net.push({ from: 0, to: 2, bytes: pp });
    c.deliver();
    expect(c.reasons(2)).toEqual(['clockSkew']);
  });
});

describe('message checks', () => {
  it('rejects a forged signature on arrival when no channel vouches for the sender, changing nothing', () => {
    const c = cluster({ n: 4 });
    const d = capturePrepare(c, 1, 2);
    const forged = d.bytes.slice();
    forged[forged.length - 5]! ^= 0x40;
    const before = c.replicas[2]!.logSize;
    const actions = c.step(2, { kind: 'message', bytes: forged, now: c.now, from: -1 });
    expect(actions).toEqual([{ kind: 'rejected', reason: 'badSignature', from: 1 }]);
    expect(c.replicas[2]!.logSize).toBe(before);
  });

  it('checks the sender index inside the message against the signature', () => {
    const c = cluster({ n: 4 });
    const d = capturePrepare(c, 1, 2);
    const w = parseEnvelope(d.bytes)!;
    const vote = readVote(w.body)!;
    expect(vote.sender).toBe(1);
    const claimed3 = encodeEnvelope({ ...w, body: writeVote({ ...vote, sender: 3 }) }); // the same vote, now claiming replica 3
    const actions = c.step(2, { kind: 'message', bytes: claimed3, now: c.now, from: -1 });
    expect(actions).toEqual([{ kind: 'rejected', reason: 'badSignature', from: 3 }]);
    // Over replica 1's own channel the claim of being replica 3 is no better: checked at once, and refused.
    expect(c.step(2, { kind: 'message', bytes: claimed3, now: c.now, from: 1 })).toEqual([{ kind: 'rejected', reason: 'badSignature', from: 3 }]);
    const outOfRange = encodeEnvelope({ ...w, body: writeVote({ ...vote, sender: 9 }) });
    expect(c.step(2, { kind: 'message', bytes: outOfRange, now: c.now, from: -1 })).toEqual([{ kind: 'rejected', reason: 'badSender', from: -1 }]);
    // A prepare signed by the primary itself is not a vote the protocol has.
    const fromPrimary = forge(MsgType.Prepare, writeVote({ sender: 0, view: 0, seq: 1, digest: new Uint8Array(32) }), c.seeds[0]!);
    expect(c.step(2, { kind: 'message', bytes: fromPrimary, now: c.now, from: -1 })).toEqual([{ kind: 'rejected', reason: 'badSender', from: 0 }]);
  });

  it("over its sender's own channel, a badly signed vote counts only until its quorum is checked, and never again", () => {
    const c = cluster({ n: 4, maxBatch: 1 });
    // Replica 2 gets the pre-prepare but no prepare: it is one prepare short of prepared.
    const held: Delivery[] = [];
    c.filter = (d) => {
      if (d.to === 2 && isType(d, MsgType.Prepare)) {
        held.push(d);
        return false;
      }
      return d.to !== 2 || !isType(d, MsgType.Commit);
    };
    c.submit(request(1, 1));
    c.deliver();
    c.filter = () => true;
    const from1 = held.find((d) => d.from === 1)!;
    const from3 = held.find((d) => d.from === 3)!;
    const forged = from1.bytes.slice();
    forged[forged.length - 5]! ^= 0x40;
    // It completes the quorum, so the quorum's signatures are checked (one batch): the forgery is named, nothing
    // is sent, and the same vote with a valid signature is now a duplicate of a vote that never counts.
    expect(c.step(2, { kind: 'message', bytes: forged, now: c.now, from: 1 })).toEqual([{ kind: 'rejected', reason: 'badSignature', from: 1 }]);
    expect(c.step(2, { kind: 'message', bytes: from1.bytes, now: c.now, from: 1 })).toEqual([{ kind: 'rejected', reason: 'duplicate', from: 1 }]);
    // Another valid prepare completes it.
    const acts = c.step(2, { kind: 'message', bytes: from3.bytes, now: c.now, from: 3 });
    expect(acts.filter((a) => a.kind === 'broadcast').map((a) => a.kind === 'broadcast' && header(a.bytes).type)).toEqual([MsgType.Commit]);
  });

  it('suppresses duplicates and replays: a message seen twice changes nothing', () => {
    const c = cluster({ n: 4 });
    const seen: Delivery[] = [];
    c.filter = (d) => {
      seen.push(d);
      return true;
    };
    c.submit(request(1, 1));
    c.settle();
    c.filter = () => true;
    const executedBefore = c.executed.map((e) => e.length);
    for (const d of seen) {
      const actions = c.step(d.to, { kind: 'message', bytes: d.bytes, now: c.now, from: d.from });
      for (const a of actions) expect(a.kind).toBe('rejected');
    }
    expect(c.executed.map((e) => e.length)).toEqual(executedBefore);
    const reasons = new Set(c.rejected.flatMap((r) => r.map((x) => x.reason)));
    for (const r of reasons) expect(['duplicate', 'outOfWatermark', 'staleRequest']).toContain(r);
    expect(reasons.has('duplicate')).toBe(true);
  });

  it('drops messages outside the watermarks and garbage', () => {
    const c = cluster({ n: 4, checkpointInterval: 4, watermarkWindow: 8 });
    const r = request(1, 1);
    const time = c.now;
    const d = batchDigest(time, [r]);
    const beyond = forge(MsgType.PrePrepare, writePrePrepare({ sender: 0, view: 0, seq: 9, time, digest: d }), c.seeds[0]!, writeBatch([r]));
    const zero = forge(MsgType.Prepare, writeVote({ sender: 2, view: 0, seq: 0, digest: d }), c.seeds[2]!);
    const far = forge(MsgType.Commit, writeVote({ sender: 2, view: 0, seq: 1000, digest: d }), c.seeds[2]!);
    for (const bytes of [beyond, zero, far]) c.step(1, { kind: 'message', bytes, now: c.now, from: -1 });
    expect(c.reasons(1)).toEqual(['outOfWatermark', 'outOfWatermark', 'outOfWatermark']);
    c.step(1, { kind: 'message', bytes: Uint8Array.of(3, 200, 1), now: c.now, from: -1 });
    c.step(1, { kind: 'message', bytes: Uint8Array.of(42), now: c.now, from: -1 });
    c.step(1, { kind: 'message', bytes: encodeEnvelope({ type: MsgType.Prepare, body: new Uint8Array(3), sig: new Uint8Array(64) }), now: c.now, from: -1 });
    expect(c.reasons(1).slice(3)).toEqual(['malformed', 'malformed', 'malformed']);
    expect(c.replicas[1]!.logSize).toBe(0);
  });

  it('drops messages of an older view', () => {
    const c = cluster({ n: 4 });
    const d = capturePrepare(c, 1, 2);
    c.filter = (x) => x.from !== 0; // the primary falls silent
    c.submit(request(1, 2));
    for (const i of [1, 2, 3]) c.fire(i, 'viewChange');
    c.settle();
    expect(c.replicas[2]!.view).toBe(1);
    const acts = c.step(2, { kind: 'message', bytes: d.bytes, now: c.now, from: 1 });
    expect(acts[0]).toEqual({ kind: 'rejected', reason: 'oldView', from: 1 });
    // The sender lags: it gets the new-view that proves view 1 (once per view).
    expect(acts.slice(1).map((a) => a.kind === 'send' && [a.to, header(a.bytes).type])).toEqual([[1, MsgType.NewView]]);
    expect(c.step(2, { kind: 'message', bytes: d.bytes, now: c.now, from: 1 })).toEqual([{ kind: 'rejected', reason: 'oldView', from: 1 }]);
  });
});
