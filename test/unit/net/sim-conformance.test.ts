// The Transport conformance suite against SimNetwork (the WebRTC run is in test/e2e/webrtc.test.ts).
import { describe } from 'vitest';
import { SimNetwork, type Transport } from '../../../web/src/core/net/index.ts';
import { transportConformance, type ConformanceHarness, type ConformanceNodes, type PeerEvent, type Received } from '../../integration/relay/transport-conformance.ts';

function simHarness(seed: number): ConformanceHarness {
  const net = new SimNetwork({ seed });
  const ids = [1, 2, 3, 4].map((i) => i.toString(16).padStart(2, '0').repeat(32));
  const transports: Transport[] = [];
  const received: Received[][] = [];
  const events: PeerEvent[][] = [];
  const unsub: (() => void)[] = [];
  const step = () => net.clock.advance(50);
  return {
    async setup(): Promise<ConformanceNodes> {
      for (let i = 0; i < ids.length; i++) {
        received.push([]);
        events.push([]);
      }
      // Subscribe each node as it joins, so it sees every later join as an event...
      for (let i = 0; i < ids.length; i++) {
        const t = net.join(ids[i]!);
        transports.push(t);
        unsub.push(t.onMessage((from, bytes) => received[i]!.push({ from, bytes: [...bytes] })));
        t.onPeer((peer, state) => events[i]!.push({ peer, state }));
        // ...and record the peers already there as connected (what a node learns at join).
        for (const p of t.peers()) events[i]!.push({ peer: p, state: 'connected' });
      }
      const nodes: ConformanceNodes = {
        ids,
        send: async (from, to, bytes) => transports[from]!.send(to, bytes),
        sendThenMutate: async (from, to, bytes) => {
          transports[from]!.send(to, bytes);
          bytes.fill(0);
        },
        broadcast: async (from, bytes) => transports[from]!.broadcast(bytes),
        received: async (i) => received[i]!,
        peers: async (i) => transports[i]!.peers(),
        peerEvents: async (i) => events[i]!,
        unsubscribe: async (i) => unsub[i]!(),
        close: (i) => transports[i]!.close(),
        until: async (cond, what) => {
          for (let k = 0; k < 1000; k++) {
            if (await cond()) return;
            step();
          }
          throw new Error(`timed out (virtual) waiting for ${what}`);
        },
        settle: async () => {
          for (let k = 0; k < 10; k++) step();
        },
      };
      return nodes;
    },
    async teardown() {
      for (const t of transports) await t.close();
    },
  };
}

describe('Transport conformance: SimNetwork', () => {
  transportConformance(() => simHarness(7));
});
