// One conformance suite for every Transport: SimNetwork (deterministic, in process) and WebRtcTransport (real
// Chromium pages over real WebRTC). A harness adapts each to the same asynchronous driver; the properties are
// the Transport contract of web/src/core/net/transport.ts.
import { expect, it } from 'vitest';

export interface PeerEvent {
  peer: string;
  state: 'connected' | 'disconnected';
}

export interface Received {
  from: string;
  bytes: number[];
}

/** n transports joined to one network; index i is one node. */
export interface ConformanceNodes {
  readonly ids: readonly string[];
  send(from: number, to: string, bytes: Uint8Array): Promise<void>;
  /** Sends, then changes the caller's buffer (the transport must have taken a copy). */
  sendThenMutate(from: number, to: string, bytes: Uint8Array): Promise<void>;
  broadcast(from: number, bytes: Uint8Array): Promise<void>;
  /** Everything node i received since setup, in arrival order. */
  received(i: number): Promise<Received[]>;
  peers(i: number): Promise<string[]>;
  peerEvents(i: number): Promise<PeerEvent[]>;
  /** Node i stops listening to messages (its onMessage unsubscribe is called). */
  unsubscribe(i: number): Promise<void>;
  close(i: number): Promise<void>;
  /** Lets the network run until `cond` holds (virtual time for the simulator, real time for WebRTC). */
  until(cond: () => Promise<boolean>, what: string): Promise<void>;
  /** Lets the network run for a while with nothing expected (to check that nothing arrives). */
  settle(): Promise<void>;
}

export interface ConformanceHarness {
  /** Four nodes, all mutually connected when the promise resolves. */
  setup(): Promise<ConformanceNodes>;
  teardown(): Promise<void>;
}

const payload = (...xs: number[]): Uint8Array => Uint8Array.from(xs);

export function transportConformance(harness: () => ConformanceHarness): void {
  let h: ConformanceHarness;
  let net: ConformanceNodes;

  const fresh = async (): Promise<void> => {
    h = harness();
    net = await h.setup();
  };

  it('connects every pair; peers() lists the others, never itself', async () => {
    await fresh();
    try {
      for (let i = 0; i < net.ids.length; i++) {
        const others = net.ids.filter((_, j) => j !== i);
        expect((await net.peers(i)).sort()).toEqual([...others].sort());
        const connected = (await net.peerEvents(i)).filter((e) => e.state === 'connected').map((e) => e.peer);
        expect(new Set(connected)).toEqual(new Set(others));
      }
    } finally {
      await h.teardown();
    }
  });

  it('delivers sent bytes to the addressee only, from the authenticated sender, and broadcasts to all others', async () => {
    await fresh();
    try {
      const [a, b, c, d] = net.ids as [string, string, string, string];
      await net.send(0, b, payload(1, 2, 3));
      await net.send(1, a, payload(4));
      await net.sendThenMutate(2, d, payload(7, 7, 7));
      await net.broadcast(3, payload(9, 9));
      await net.send(0, a, payload(0xee)); // to itself: not delivered
      await net.send(0, 'ff'.repeat(32), payload(0xee)); // to a stranger: dropped, no error
      await net.until(
        async () => (await net.received(0)).length >= 2 && (await net.received(1)).length >= 2 && (await net.received(2)).length >= 1 && (await net.received(3)).length >= 1,
        'deliveries',
      );
      await net.settle();
      const sorted = (r: Received[]) => r.map((x) => `${x.from}:${x.bytes.join(',')}`).sort();
      expect(sorted(await net.received(0))).toEqual(
        sorted([
          { from: b, bytes: [4] },
          { from: d, bytes: [9, 9] },
        ]),
      );
      expect(sorted(await net.received(1))).toEqual(
        sorted([
          { from: a, bytes: [1, 2, 3] },
          { from: d, bytes: [9, 9] },
        ]),
      );
      expect(sorted(await net.received(2))).toEqual(sorted([{ from: d, bytes: [9, 9] }]));
      expect(sorted(await net.received(3))).toEqual(sorted([{ from: c, bytes: [7, 7, 7] }]));
    } finally {
      await h.teardown();
    }
  });

  it('stops delivering to an unsubscribed handler, and a closed node is seen to leave', async () => {
    await fresh();
    try {
      const d = net.ids[3]!;
      await net.unsubscribe(1);
      await net.broadcast(0, payload(5));
      await net.until(async () => (await net.received(2)).length >= 1 && (await net.received(3)).length >= 1, 'broadcast');
      await net.settle();
      expect(await net.received(1)).toEqual([]);

      await net.close(3);
      await net.until(async () => !(await net.peers(0)).includes(d), 'the closed node to leave');
      expect((await net.peerEvents(0)).filter((e) => e.peer === d).map((e) => e.state)).toEqual(['connected', 'disconnected']);
      await net.send(1, d, payload(6)); // to a departed peer: dropped, no error
      expect((await net.peers(1)).sort()).toEqual(net.ids.filter((x) => x !== d && x !== net.ids[1]).sort());
    } finally {
      await h.teardown();
    }
  });
}
