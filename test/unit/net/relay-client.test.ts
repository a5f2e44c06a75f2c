// The node's client of the relay: pushes blocks in batches the relay takes, catches the relay up from the
// node's store, and turns every refusal into a typed error (with the relay's height where it said it).
import { beforeAll, describe, expect, it } from 'vitest';
import { initCore } from '../../../wasm/index.ts';
import { buildBlock, type Block } from '../../../web/src/core/ledger/block.ts';
import { MAX_BLOCKS_PER_PUSH, RelayClient, RelayClientError, decodeBlockBatch, encodeBlockBatch } from '../../../web/src/core/net/index.ts';

const blocks: Block[] = [];

beforeAll(async () => {
  await initCore();
  for (let h = 1; h <= 600; h++) {
    blocks.push(buildBlock({ height: h, time: h, prevHash: new Uint8Array(32), txs: [Uint8Array.of(h & 0xff)], stateRoot: new Uint8Array(32), certificate: Uint8Array.of(0) }));
  }
});

/** A fake relay: records pushes, answers like the real one. */
function fakeRelay(height = 0) {
  const pushes: number[][] = [];
  const fetch = async (url: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const path = new URL(String(url)).pathname;
    expect((init?.headers as Record<string, string>).Authorization).toMatch(/^Bearer [A-Za-z0-9_-]+$/);
    if (path === '/v1/ledger/head') return Response.json({ height, hash: 'ab' });
    if (path === '/v1/ledger/blocks') {
      const got = decodeBlockBatch(init!.body as Uint8Array);
      if (got[0]!.header.height > height + 1) return Response.json({ error: 'gap', height }, { status: 409 });
      pushes.push(got.map((b) => b.header.height));
      height = got.at(-1)!.header.height;
      return Response.json({ accepted: got.length, height, hash: 'cd' });
    }
    return Response.json({ error: 'not-member' }, { status: 401 });
  };
  return { fetch: fetch as typeof globalThis.fetch, pushes };
}

describe('RelayClient', () => {
  it('round-trips a block batch', () => {
    expect(decodeBlockBatch(encodeBlockBatch(blocks.slice(0, 3)))).toEqual(blocks.slice(0, 3));
    expect(() => decodeBlockBatch(Uint8Array.of(2, 1))).toThrow();
  });

  it('pushes in batches of at most MAX_BLOCKS_PER_PUSH and reports the total accepted', async () => {
    const relay = fakeRelay();
    const client = new RelayClient({ relayUrl: 'ws://127.0.0.1:9', secretKey: new Uint8Array(32).fill(1), fetch: relay.fetch });
    const r = await client.pushBlocks(blocks.slice(0, 300));
    expect(relay.pushes.map((p) => p.length)).toEqual([MAX_BLOCKS_PER_PUSH, 300 - MAX_BLOCKS_PER_PUSH]);
    expect(r).toEqual({ accepted: 300, height: 300, hash: 'cd' });
  });

  it("catches the relay up from its height to the node's, reading only the missing blocks", async () => {
    const relay = fakeRelay(250);
    const reads: [number, number][] = [];
    const client = new RelayClient({ relayUrl: 'http://127.0.0.1:9', secretKey: new Uint8Array(32).fill(1), fetch: relay.fetch });
    const head = await client.catchUp(600, async (from, to) => {
      reads.push([from, to]);
      return blocks.slice(from - 1, to);
    });
    expect(reads).toEqual([
      [251, 506],
      [507, 600],
    ]);
    expect(head.height).toBe(600);
    expect((await client.catchUp(100, async () => [])).height).toBe(600);
  });

  it('says gap, unauthorized and unreachable with typed errors', async () => {
    const relay = fakeRelay(10);
    const client = new RelayClient({ relayUrl: 'ws://127.0.0.1:9', secretKey: new Uint8Array(32).fill(1), fetch: relay.fetch });
    await expect(client.pushBlocks(blocks.slice(20, 22))).rejects.toMatchObject({ code: 'gap', height: 10 });
    await expect(client.registerEnrolment('ab'.repeat(32), 1)).rejects.toMatchObject({ code: 'unauthorized', reason: 'not-member' });
    const down = new RelayClient({ relayUrl: 'ws://127.0.0.1:9', secretKey: new Uint8Array(32).fill(1), fetch: async () => Promise.reject(new TypeError('down')) });
    await expect(down.head()).rejects.toBeInstanceOf(RelayClientError);
    await expect(down.head()).rejects.toMatchObject({ code: 'unreachable' });
  });
});
