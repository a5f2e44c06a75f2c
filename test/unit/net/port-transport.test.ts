// PortTransport: a worker's view of the page's links. What it sends goes out as one message each (a broadcast
// as one message with no recipient); what the page reports (links, deliveries, the relay) is what its
// handlers see; it refuses what the page's transport would refuse, at the call.
import { describe, expect, it } from 'vitest';
import { PortTransport, PortTransportError, type PortSend } from '../../../web/src/core/net/port-transport.ts';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const C = 'c'.repeat(64);

function make(peers: string[] = [B]): { t: PortTransport; out: PortSend[] } {
  const out: PortSend[] = [];
  const t = new PortTransport({ self: A, peers, relay: 'connected', maxMessageBytes: 8 }, (s) => out.push(s));
  return { t, out };
}

describe('PortTransport', () => {
  it('sends to a linked peer and broadcasts as one message; a peer without a link gets nothing, as on the page', () => {
    const { t, out } = make();
    t.send(B, new Uint8Array([1]));
    t.send(C, new Uint8Array([2]));
    t.broadcast(new Uint8Array([3]));
    expect(out).toEqual([
      { to: B, bytes: new Uint8Array([1]) },
      { to: null, bytes: new Uint8Array([3]) },
    ]);
  });

  it('follows the page’s links and tells its handlers of changes only', () => {
    const { t } = make([]);
    const seen: string[] = [];
    t.onPeer((p, s) => seen.push(`${p[0]}:${s}`));
    t.peerChanged(B, 'connected');
    t.peerChanged(B, 'connected');
    t.peerChanged(C, 'connected');
    t.peerChanged(B, 'disconnected');
    expect(seen).toEqual(['b:connected', 'c:connected', 'b:disconnected']);
    expect(t.peers()).toEqual([C]);
  });

  it('hands deliveries to every handler until it unsubscribes, and shows the relay state the page reports', () => {
    const { t } = make();
    const got: string[] = [];
    const off = t.onMessage((from, b) => got.push(`${from[0]}${b[0]}`));
    t.deliver(B, new Uint8Array([7]));
    off();
    t.deliver(B, new Uint8Array([8]));
    expect(got).toEqual(['b7']);
    t.relayChanged('disconnected');
    expect(t.relayState).toBe('disconnected');
  });

  it('refuses an oversized message and any send once closed, with a typed error', async () => {
    const { t, out } = make();
    expect(() => t.send(B, new Uint8Array(9))).toThrow(expect.objectContaining({ reason: 'oversize' }) as PortTransportError);
    expect(() => t.broadcast(new Uint8Array(9))).toThrow(PortTransportError);
    await t.close();
    expect(() => t.send(B, new Uint8Array(1))).toThrow(expect.objectContaining({ reason: 'closed' }) as PortTransportError);
    expect(out).toEqual([]);
    expect(t.peers()).toEqual([]);
  });
});
