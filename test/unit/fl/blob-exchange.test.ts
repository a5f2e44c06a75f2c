// Update bytes on the FL channel: published bytes reach peers who admit them, a peer that missed them gets
// them by asking, nobody gets bytes under a digest they do not hash to, frames of other channels and junk are
// ignored, and a want nobody can answer fails with a typed error.
import { describe, expect, it } from 'vitest';
import { BlobExchange, BlobFetchError, digestHex, encodeFlMessage } from '../../../web/src/core/fl/index.ts';
import { SimNetwork } from '../../../web/src/core/net/sim-network.ts';
import { useCore } from '../shared/core.ts';

useCore();

function setup(admit: (from: string, bytes: Uint8Array) => boolean = () => true) {
  const net = new SimNetwork({ seed: 1 });
  const refused: string[] = [];
  const nodes = ['a', 'b', 'c'].map((id) => {
    const transport = net.join(id);
    return new BlobExchange({
      transport,
      schedule: (ms, fn) => net.clock.schedule(ms, fn),
      now: () => net.clock.now(),
      admit,
      onRefused: (from, why) => refused.push(`${from}:${why}`),
    });
  });
  const run = async <T>(p: Promise<T>): Promise<T> => {
    let done = false;
    p.then(
      () => (done = true),
      () => (done = true),
    );
    while (!done && net.clock.peekTime() !== undefined) {
      net.clock.step();
      await Promise.resolve();
    }
    return p;
  };
  return { net, nodes, run, refused };
}

describe('BlobExchange', () => {
  it('delivers published bytes to peers that admit them, by digest', async () => {
    const { net, nodes, run } = setup();
    const bytes = Uint8Array.of(1, 2, 3);
    const d = nodes[0]!.publish(bytes);
    net.clock.advance(10);
    expect(nodes[1]!.take(d)).toEqual(bytes);
    expect(await run(nodes[2]!.fetch(d))).toEqual(bytes);
  });

  it('holds nothing a peer did not admit, but serves it on request from the publisher', async () => {
    const { net, nodes, run, refused } = setup(() => false);
    const d = nodes[0]!.publish(Uint8Array.of(9));
    net.clock.advance(10);
    expect(nodes[1]!.take(d)).toBeUndefined();
    expect(refused).toContain('a:unsolicited');
    expect(await run(nodes[1]!.fetch(d))).toEqual(Uint8Array.of(9));
  });

  it('asks again until someone has the bytes, and gives up with a typed error', async () => {
    const { nodes, run } = setup();
    await expect(run(nodes[1]!.fetch(digestHex(Uint8Array.of(7)), 3))).rejects.toBeInstanceOf(BlobFetchError);
  });

  it('never takes bytes that do not hash to the wanted digest; ignores junk and other channels', async () => {
    const { net, nodes, refused } = setup(() => false);
    const wanted = digestHex(Uint8Array.of(5));
    const got = nodes[1]!.fetch(wanted, 2);
    const liar = net.join('liar');
    liar.broadcast(encodeFlMessage({ type: 'blob', bytes: Uint8Array.of(6) }));
    liar.broadcast(Uint8Array.of(0x46, 0xff, 0xff));
    liar.broadcast(Uint8Array.of(0x50, 1, 2));
    net.clock.advance(10);
    expect(refused).toEqual(expect.arrayContaining(['liar:unsolicited', 'liar:malformed']));
    while (net.clock.peekTime() !== undefined) net.clock.step();
    await expect(got).rejects.toBeInstanceOf(BlobFetchError);
  });
});
