import { describe, expect, it } from 'vitest';
import { request, type Delivery, useClusters } from './cluster.ts';
import { forge, header, MsgType, parseEnvelope, readNewView, writeNewView } from '../../sim/wire.ts';
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
    const attempts: number[] = [];
    for (let round = 0; round < 2; round++) {
      for (const i of [0, 2, 3]) {
        if (!c.timers[i]!.has('viewChange')) continue;
        c.timers[i]!.delete('viewChange');
        for (const a of c.step(i, { kind: 'timer', timer: 'viewChange', now: c.now })) {
          c.handle(i, a);
          if (a.kind === 'setTimer' && a.timer === 'viewChange' && i === 2) attempts.push(a.attempt);
        }
      }
      c.settle();
    }
    expect(attempts).toEqual([0, 1]);
    for (const i of [0, 2, 3]) {
      expect(c.replicas[i]!.view).toBe(2);
      expect(c.replicas[i]!.primary).toBe(2);
      expect(c.executed[i]!.map((e) => e.seq)).toEqual([1]);
    }
  });

  it('a replica alone in a view change does not run ahead: it resends its view change and waits', () => {
    const c = cluster({ n: 4, maxBatch: 1 });
    c.filter = () => false;
    c.submit(request(1, 1), [3]);
    c.fire(3, 'viewChange');
    expect(c.replicas[3]!.view).toBe(1);
    c.net = [];
    const acts = c.step(3, { kind: 'timer', timer: 'viewChange', now: c.now });
    expect(c.replicas[3]!.view).toBe(1);
    expect(acts.filter((a) => a.kind === 'broadcast').map((a) => a.kind === 'broadcast' && header(a.bytes).type)).toEqual([MsgType.ViewChange]);
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
    // Only view changes get through: every new primary stays silent, so the replicas walk view after view.
    c.filter = (d) => header(d.bytes).type === MsgType.ViewChange;
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
