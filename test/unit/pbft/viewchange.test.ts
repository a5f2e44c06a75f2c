import { describe, expect, it } from 'vitest';
import { request, type Delivery, useClusters } from './cluster.ts';
import { forge, header, MsgType, parseEnvelope, readNewView, writeNewView, writeSuspect } from '../../sim/wire.ts';
import { toHex } from '../../../web/src/core/util/index.ts';

const cluster = useClusters();

const typeOf = (d: Delivery): number => header(d.bytes).type;

/** Four replicas that prepared request (1, 1) everywhere and lost every commit of it. */
function preparedNotCommitted(): { c: ReturnType<typeof cluster>; r: ReturnType<typeof request> } {
  const c = cluster({ n: 4, maxBatch: 1 });
  const r = request(1, 1);
  c.filter = (d) => typeOf(d) !== MsgType.Commit;
  c.submit(r);
  c.deliver();
  return { c, r };
}

describe('view change', () => {
  it('after primary silence, a prepared but uncommitted request survives into the new view', () => {
    // Pre-prepares and prepares flow; every commit is lost, then the primary crashes.
    const { c, r } = preparedNotCommitted();
    for (let i = 0; i < 4; i++) expect(c.executed[i]).toEqual([]);
    c.filter = (d) => d.from !== 0 && d.to !== 0;
    for (const i of [1, 2, 3]) {
      expect(c.timers[i]!.has('viewChange')).toBe(true);
      c.fire(i, 'viewChange');
    }
    c.settle();
    for (const i of [1, 2, 3]) {
      expect(c.replicas[i]!.view).toBe(1);
      expect(c.replicas[i]!.primary).toBe(1);
      expect(c.viewChanges[i]).toEqual([{ view: 1, primary: 1 }]);
      // Same seq as it was prepared at, same batch, now committed.
      expect(c.executed[i]!.map((e) => [e.seq, e.view, e.requests.map(toHex)])).toEqual([[1, 1, [toHex(r)]]]);
    }
    // The new view keeps working.
    const next = request(1, 2);
    c.submit(next, [1, 2, 3]);
    c.settle();
    for (const i of [1, 2, 3]) expect(c.executed[i]!.map((e) => e.seq)).toEqual([1, 2]);
  });

  it('escalates past a silent new primary once a quorum asked for its view, with growing back-off', () => {
    const c = cluster({ n: 4, maxBatch: 1 });
    // Replica 1 (primary of view 1) is down; the primary of view 0 proposes nothing anyone receives.
    c.filter = (d) => d.to !== 1 && d.from !== 1 && !(d.from === 0 && header(d.bytes).type === MsgType.PrePrepare);
    c.submit(request(1, 1), [0, 2, 3]);
    c.deliver();
    for (let round = 0; round < 2; round++) {
      for (const i of [0, 2, 3]) if (c.timers[i]!.has('viewChange')) c.fire(i, 'viewChange');
      c.settle();
    }
    // Replica 2's view-change timer: for request 1 (attempt 0), after its suspicion (1, should it be alone),
    // view 1's change once three replicas suspected (0), view 2's once view 1's primary never answered (1:
    // twice as long), and the normal case of view 2 with request 1 still pending (0).
    expect(c.viewChangeAttempts[2]).toEqual([0, 1, 0, 1, 0]);
    for (const i of [0, 2, 3]) {
      expect(c.replicas[i]!.view).toBe(2);
      expect(c.replicas[i]!.primary).toBe(2);
      expect(c.executed[i]!.map((e) => e.seq)).toEqual([1]);
    }
  });

  it('a replica alone in its suspicion stays in its view: it says so again later, forwards its request again, and never changes views alone', () => {
    const c = cluster({ n: 4, maxBatch: 1 });
    c.filter = () => false;
    c.submit(request(1, 1), [3]);
    const types = (acts: ReturnType<typeof c.step>): number[] => acts.flatMap((a) => (a.kind === 'broadcast' ? [header(a.bytes).type] : []));
    const backoff: number[] = [];
    for (let k = 0; k < 3; k++) {
      const acts = c.step(3, { kind: 'timer', timer: 'viewChange', now: c.now });
      expect(types(acts)).toEqual([MsgType.Suspect]);
      // Its request goes to the primary again: the first forward may have been lost.
      expect(acts.flatMap((a) => (a.kind === 'send' ? [[a.to, header(a.bytes).type]] : []))).toEqual([[0, MsgType.Request]]);
      expect([c.replicas[3]!.view, c.replicas[3]!.changingView]).toEqual([0, false]);
      backoff.push(c.viewChangeAttempts[3]!.at(-1)!);
    }
    expect(backoff).toEqual([1, 2, 3]);
  });

  it('a slow replica whose timer fired catches up in the view the others kept, and votes in it again', () => {
    const c = cluster({ n: 4, maxBatch: 1 });
    // Replica 3 is starved: what is sent to it waits while the others commit request 1 in view 0.
    const held: Delivery[] = [];
    c.filter = (d) => {
      if (d.to === 3 && held !== null) held.push(d);
      return d.to !== 3;
    };
    c.submit(request(1, 1));
    c.settle();
    for (const i of [0, 1, 2]) expect(c.executed[i]!.map((e) => e.seq)).toEqual([1]);
    c.fire(3, 'viewChange');
    c.settle();
    // Its suspicion reached the others, who had no reason to join it: all four are still in view 0.
    expect(c.replicas.map((r) => [r.view, r.changingView])).toEqual([
      [0, false],
      [0, false],
      [0, false],
      [0, false],
    ]);
    c.filter = () => true;
    c.net.push(...held.splice(0));
    c.settle();
    expect(c.executed[3]!.map((e) => e.seq)).toEqual([1]);
    // Back in step: with replica 0 silent, request 2 still commits, which takes replica 3's votes.
    c.filter = (d) => d.from !== 1;
    c.submit(request(1, 2));
    c.settle();
    for (const i of [0, 2, 3]) expect(c.executed[i]!.map((e) => e.seq)).toEqual([1, 2]);
    expect(c.replicas.every((r) => r.view === 0)).toBe(true);
  });

  it("counts a suspicion once per replica, only for the view it is in, and only under its sender's signature", () => {
    const c = cluster({ n: 4, maxBatch: 1 });
    const suspicion = (sender: number, view: number, signer = sender): Uint8Array => forge(MsgType.Suspect, writeSuspect({ sender, view }), c.seeds[signer]!);
    const deliver = (to: number, from: number, bytes: Uint8Array): void => void c.step(to, { kind: 'message', bytes, now: c.now, from });
    // Replica 2's suspicion relayed by replica 1, signed by replica 1: refused, and not counted.
    deliver(0, 1, suspicion(2, 0, 1));
    expect(c.reasons(0)).toContain('badSignature');
    // Replica 2's own, twice (a replica repeats its suspicion): counted once, and not held against it; a
    // suspicion of view 5 is not about this view.
    deliver(0, 2, suspicion(2, 0));
    deliver(0, 2, suspicion(2, 0));
    expect(c.reasons(0)).toEqual(['badSignature']);
    deliver(0, 3, suspicion(3, 5));
    expect([c.replicas[0]!.view, c.replicas[0]!.changingView]).toEqual([0, false]);
    // A second replica's (f+1 = 2, relayed but under its own signature): replica 0 starts view 1's change.
    deliver(0, 1, suspicion(3, 0));
    expect([c.replicas[0]!.view, c.replicas[0]!.changingView]).toEqual([1, true]);
  });

  it('a replica that sees f+1 view changes for a later view joins it', () => {
    const c = cluster({ n: 4, maxBatch: 1 });
    c.submit(request(1, 1), [1, 2]);
    c.filter = (d) => d.from !== 0;
    c.fire(1, 'viewChange');
    c.deliver();
    expect(c.replicas[3]!.view).toBe(0);
    c.fire(2, 'viewChange');
    c.deliver();
    // 3 saw view changes from 1 and 2 (f+1 = 2) and joined without a timeout; with 3 of them, 1 is primary.
    expect(c.replicas[3]!.view).toBe(1);
    expect(c.replicas[3]!.changingView).toBe(false);
  });

  it('rejects a new-view whose O set is not what its view changes imply, and moves to the next view', () => {
    const { c } = preparedNotCommitted();
    // Replica 1 (the next primary) is Byzantine: it drops the prepared batch from its new-view.
    let nv: Delivery | null = null;
    c.filter = (d) => {
      if (d.from === 0 || d.to === 0) return false;
      if (typeOf(d) === MsgType.NewView) {
        nv ??= d;
        return false;
      }
      return true;
    };
    for (const i of [1, 2, 3]) c.fire(i, 'viewChange');
    c.deliver();
    expect(nv).not.toBeNull();
    const m = readNewView(parseEnvelope(nv!.bytes)!.body)!;
    expect([m.sender, m.view, m.viewChanges.length, m.prePrepares.length]).toEqual([1, 1, 3, 1]);
    const emptied = writeNewView({ ...m, prePrepares: [] });
    const bad = forge(MsgType.NewView, emptied, c.seeds[1]!);
    const before = c.replicas[2]!.view;
    expect(before).toBe(1);
    const acts = c.step(2, { kind: 'message', bytes: bad, now: c.now, from: -1 });
    expect(acts[0]).toEqual({ kind: 'rejected', reason: 'badNewView', from: 1 });
    expect(c.replicas[2]!.view).toBe(2);
    expect(c.replicas[2]!.changingView).toBe(true);
    expect(acts.some((a) => a.kind === 'broadcast' && header(a.bytes).type === MsgType.ViewChange)).toBe(true);
    // A new-view with a broken signature is dropped without blaming the primary.
    const broken = bad.slice();
    broken[broken.length - 1]! ^= 1;
    const r3 = c.step(3, { kind: 'message', bytes: broken, now: c.now, from: -1 });
    expect(r3).toEqual([{ kind: 'rejected', reason: 'badSignature', from: 1 }]);
    expect(c.replicas[3]!.view).toBe(1);
  });
});

describe('trust-ordered leadership', () => {
  it('orders primaries by committed trust (descending, ties by key) and skips at most f low-trust validators', () => {
    const trust = [10, 50, 30, 50];
    const c = cluster({ n: 4, maxBatch: 1, trust, trustFloor: 20 });
    const tiedFirst = toHex(c.keys[1]!) < toHex(c.keys[3]!) ? 1 : 3;
    const tiedSecond = tiedFirst === 1 ? 3 : 1;
    expect(c.replicas.map((r) => r.primary)).toEqual([tiedFirst, tiedFirst, tiedFirst, tiedFirst]);
    // Walk views 1..3: the order is [tiedFirst, tiedSecond, 2] once validator 0 (trust 10 < 20) is skipped.
    const expected = [tiedSecond, 2, tiedFirst];
    // Only suspicions and view changes get through: every new primary stays silent, so the replicas walk view
    // after view.
    c.filter = (d) => header(d.bytes).type === MsgType.ViewChange || header(d.bytes).type === MsgType.Suspect;
    c.submit(request(1, 1));
    for (let v = 1; v <= 3; v++) {
      for (let i = 0; i < 4; i++) c.fire(i, 'viewChange');
      c.deliver();
      for (let i = 0; i < 4; i++) expect([c.replicas[i]!.view, c.replicas[i]!.primary]).toEqual([v, expected[v - 1]]);
    }
  });

  it('changes the leader order from trust committed at a stable checkpoint, at the next view change', () => {
    const c = cluster({ n: 4, maxBatch: 1, checkpointInterval: 2, watermarkWindow: 4 });
    const equalOrder = [0, 1, 2, 3].sort((a, b) => (toHex(c.keys[a]!) < toHex(c.keys[b]!) ? -1 : 1));
    expect(c.replicas[0]!.primary).toBe(equalOrder[0]);
    // Batch 1 commits a trust update making equalOrder[1] the most trusted; checkpoint 2 commits it.
    const t = [0, 0, 0, 0];
    t[equalOrder[1]!] = 100;
    c.trustUpdates.set(1, t);
    for (let s = 1; s <= 2; s++) {
      c.submit(request(1, s));
      c.settle();
    }
    for (let i = 0; i < 4; i++) expect(c.stable[i]!.map((x) => x.seq)).toEqual([2]);
    // Still the same primary in view 0; in view 1 the order is [equalOrder[1], equalOrder[0], ...].
    expect(c.replicas[2]!.primary).toBe(equalOrder[0]);
    const silent = equalOrder[0]!;
    c.filter = (d) => d.from !== silent && d.to !== silent;
    c.submit(
      request(1, 3),
      [0, 1, 2, 3].filter((i) => i !== silent),
    );
    for (let i = 0; i < 4; i++) if (i !== silent) c.fire(i, 'viewChange');
    c.settle();
    for (let i = 0; i < 4; i++) if (i !== silent) expect(c.replicas[i]!.primary).toBe(equalOrder[0]);
    expect(c.replicas.find((_, i) => i !== silent)!.view).toBe(1);
  });
});

describe('a replica restarted without memory', () => {
  it('learns the current view from the new-view a peer hands it, and takes part again', () => {
    const c = cluster({ n: 4, maxBatch: 1 });
    c.filter = (d) => d.from !== 0 && d.to !== 0;
    c.submit(request(1, 1), [1, 2, 3]);
    for (const i of [1, 2, 3]) c.fire(i, 'viewChange');
    c.settle();
    expect(c.replicas[1]!.view).toBe(1);
    // Replica 3 restarts from scratch (view 0) and replica 0 stays down: no quorum without 3.
    c.restart(3);
    c.filter = (d) => d.from !== 0 && d.to !== 0;
    c.submit(request(1, 2), [1, 2, 3]);
    c.settle();
    // Messages of view 1 from f+1 peers told it it was left behind; it asked for view 1 and got the new-view.
    // Without it (replica 0 is down) nothing could have committed.
    expect(c.replicas[3]!.view).toBe(1);
    for (const i of [1, 2]) expect(c.executed[i]!.at(-1)?.requests.map(toHex)).toEqual([toHex(request(1, 2))]);
    // Its log is gone: having committed seq 2 without seq 1, it asked for the missing commit proof.
    expect(c.replicas.slice(1).map((r) => r.lastExecuted)).toEqual([2, 2, 2]);
    for (let s = 3; s <= 5; s++) {
      c.submit(request(1, s), [1, 2, 3]);
      c.settle();
    }
    expect(c.replicas.slice(1).map((r) => [r.lastExecuted, r.lowWatermark])).toEqual([
      [5, 4],
      [5, 4],
      [5, 4],
    ]);
    expect(c.fetches[3]).toEqual([]);
  });
});
