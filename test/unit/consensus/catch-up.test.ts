// Catching up (catch-up.ts) on a manual clock: evidence that peers attested a height above our tip is kept
// until it is met. A follow that brought nothing (the peer did not answer, or refused us for its rate limit) is
// tried again one back-off step later, up to MAX_RETRIES times; reaching the height ends the retries at once.
// On an idle ledger nothing else would tell the node again that it is behind.
import { describe, expect, it } from 'vitest';
import { Backoff } from '../../../web/src/core/consensus/backoff.ts';
import { CatchUp, MAX_RETRIES } from '../../../web/src/core/consensus/catch-up.ts';

function manualClock() {
  let now = 0;
  const timers: { at: number; fn: () => void; live: boolean }[] = [];
  return {
    now: () => now,
    schedule(delayMs: number, fn: () => void) {
      const t = { at: now + delayMs, fn, live: true };
      timers.push(t);
      return () => void (t.live = false);
    },
    /** Runs every timer due up to `ms` from now, in order. */
    advance(ms: number) {
      const end = now + ms;
      for (;;) {
        const due = timers.filter((t) => t.live && t.at <= end).sort((a, b) => a.at - b.at)[0];
        if (!due) break;
        due.live = false;
        now = due.at;
        due.fn();
      }
      now = end;
    },
  };
}

function setUp(opts: { replica: boolean }) {
  const clock = manualClock();
  let tip = 49;
  const follows: { at: number; peers: readonly string[] }[] = [];
  const catchUp = new CatchUp({
    clock,
    backoff: new Backoff(100, 1_600),
    follow: (peers) => follows.push({ at: clock.now(), peers }),
    tipHeight: () => tip,
    hasReplica: () => opts.replica,
    stopped: () => false,
  });
  return { clock, catchUp, follows, setTip: (h: number) => (tip = h) };
}

describe('CatchUp', () => {
  it('without a replica: follows at once and again at each back-off step while the attested height is not reached', () => {
    const { clock, catchUp, follows, setTip } = setUp({ replica: false });
    catchUp.peerAhead('p1', 50);
    expect(follows.map((f) => f.at)).toEqual([0]);
    clock.advance(200 + 400);
    expect(follows.map((f) => f.at)).toEqual([0, 200, 600]);
    setTip(50);
    clock.advance(10_000);
    expect(follows.length).toBe(3);
    expect(catchUp.wantsToFollow()).toBe(true); // no replica: the host always follows
  });

  it('with a running replica: waits step 0 for the replica, then follows the peers that attested, retrying until the tip reaches the height', () => {
    const { clock, catchUp, follows, setTip } = setUp({ replica: true });
    catchUp.peerAhead('p1', 50);
    catchUp.peerAhead('p2', 50);
    expect(follows).toEqual([]);
    expect(catchUp.wantsToFollow()).toBe(false);
    clock.advance(100);
    expect(follows).toEqual([{ at: 100, peers: ['p1', 'p2'] }]);
    expect(catchUp.wantsToFollow()).toBe(true);
    clock.advance(200);
    expect(follows.map((f) => f.at)).toEqual([100, 300]);
    setTip(50);
    clock.advance(10_000);
    expect(follows.length).toBe(2);
    catchUp.replicaLive();
    expect(catchUp.wantsToFollow()).toBe(false);
  });

  it('stops after MAX_RETRIES for one piece of evidence; newer evidence starts again', () => {
    const { clock, catchUp, follows } = setUp({ replica: false });
    catchUp.peerAhead('p1', 50);
    clock.advance(60_000);
    expect(follows.length).toBe(1 + MAX_RETRIES);
    catchUp.peerAhead('p3', 51);
    clock.advance(200);
    expect(follows.slice(-2).map((f) => f.peers)).toEqual([['p3'], ['p3']]);
  });

  it('a higher attested height replaces the evidence; the retries go to the peers that attested it', () => {
    const { clock, catchUp, follows, setTip } = setUp({ replica: false });
    catchUp.peerAhead('p1', 50);
    catchUp.peerAhead('p2', 52);
    setTip(50);
    clock.advance(200);
    // The check for height 50 is dropped with it; the retry asks p2, whose height is not met yet.
    expect(follows.map((f) => f.peers)).toEqual([['p1'], ['p2'], ['p2']]);
  });
});
