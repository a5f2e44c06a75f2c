// The host adapter against a scripted stand-in for the replica (the real wasm replica runs in the simulator
// and the integration test): timers and back-off, execution into blocks, checkpoint snapshots, the transport
// framing, and state transfer that installs only what verifies.
import { describe, expect, it } from 'vitest';
import type { ReplicaAction, ReplicaEvent } from '../../../wasm/index.ts';
import {
  CHANNEL_PBFT,
  CHANNEL_STATE,
  ConsensusNode,
  decodeStateMessage,
  encodeStateMessage,
  pbftFrame,
  type Clock,
  type ConsensusEvent,
  type ReplicaLike,
} from '../../../web/src/core/consensus/index.ts';
import { MemoryLedgerStore, batchDigestOfHashes, txHash, verifyBlock, blockHash, buildBlock, encodeBlock, genesisHash, type Block } from '../../../web/src/core/ledger/index.ts';
import { Prng, toHex } from '../../../web/src/core/util/index.ts';
import { SimNetwork, onChannel } from '../../../web/src/core/net/index.ts';
import { KvApp } from '../../sim/kv-app.ts';
import { useCore } from '../shared/core.ts';
import { fakeCertificate as cert, utf8, verifyFakeCertificate as verifyCertificate } from '../shared/fake-certificate.ts';

useCore();

const rng = new Prng(99);
const keys = Array.from({ length: 4 }, () => rng.bytes(32));
const ids = keys.map(toHex);

class ScriptedReplica implements ReplicaLike {
  readonly seen: ReplicaEvent[] = [];
  view = 0;
  primary = 0;
  lastExecuted = 0;
  disposed = false;
  /** Refuse installed states (as a replica does when the replica state does not match its proof). */
  refuseState = false;
  constructor(private readonly script: (e: ReplicaEvent, r: ScriptedReplica) => ReplicaAction[] = () => []) {}
  step(e: ReplicaEvent): ReplicaAction[] {
    this.seen.push(e);
    if (e.kind === 'executed' || (e.kind === 'stateInstalled' && !this.refuseState)) this.lastExecuted = e.seq;
    return this.script(e, this);
  }
  dispose(): void {
    this.disposed = true;
  }
}

/** A lagging replica: any message makes it ask its host to fetch the state at `seq` from `peers`. */
const laggingReplica = (seq: number, stateDigest: Uint8Array, peers: number[]) =>
  new ScriptedReplica((e) => (e.kind === 'message' ? [{ kind: 'fetchState', seq, stateDigest, peers }] : []));
/** An app with a state of its own (mine=1), which a refused state transfer must leave as it was. */
const appWithOwnState = (): KvApp => {
  const app = new KvApp();
  app.apply(utf8('mine=1'), { height: 1, index: 0, time: 0 });
  return app;
};
/** A message from node 3 to node 0, to set its replica going. */
const nudge = (net: SimNetwork): void => net.join(ids[3]!).send(ids[0]!, pbftFrame(0, utf8('behind')));

function setup(
  self: number,
  replica: ScriptedReplica,
  net: SimNetwork,
  opts: { app?: KvApp; store?: MemoryLedgerStore; trustAfter?: (seq: number) => number[] | undefined; clock?: Clock } = {},
) {
  const transport = net.ids().includes(ids[self]!) ? net.restart(ids[self]!) : net.join(ids[self]!);
  const app = opts.app ?? new KvApp();
  const store = opts.store ?? new MemoryLedgerStore();
  const events: ConsensusEvent[] = [];
  const node = new ConsensusNode({
    validators: keys,
    key: keys[self]!,
    createReplica: () => replica,
    transport,
    clock: opts.clock ?? net.clock,
    app,
    store,
    checkpointInterval: 2,
    timers: { batchMs: 3, viewChangeBaseMs: 100, viewChangeMaxMs: 1_000, stateTransferMs: 50 },
    payloadOf: (r) => r,
    verifyCertificate,
    ...(opts.trustAfter ? { trustAfter: opts.trustAfter } : {}),
    onEvent: (e) => events.push(e),
  });
  return { node, app, store, events, transport };
}

/** Starts node 0 over `replica`, has a peer say it is behind, and runs the network's clock to `until`. */
async function startBehind(net: SimNetwork, replica: ScriptedReplica, until: number, opts: Parameters<typeof setup>[3] = {}): Promise<ReturnType<typeof setup>> {
  const s = setup(0, replica, net, opts);
  await s.node.start();
  nudge(net);
  net.clock.runUntil(until);
  return s;
}

/** A chain of blocks the way a correct node builds them, with its snapshots at every seq. */
function honestChain(len: number): { blocks: Block[]; apps: Uint8Array[] } {
  const app = new KvApp();
  const blocks: Block[] = [];
  const apps: Uint8Array[] = [];
  let prev = genesisHash(keys);
  for (let h = 1; h <= len; h++) {
    const txs = [utf8(`k${h}=v${h}`)];
    for (const t of txs) app.apply(t, { height: h, index: 0, time: 1000 + h });
    const b = buildBlock({ height: h, time: 1000 + h, prevHash: prev, txs, stateRoot: app.stateRoot(), certificate: cert(h) });
    blocks.push(b);
    apps.push(app.snapshot());
    prev = blockHash(b.header);
  }
  return { blocks, apps };
}

describe('ConsensusNode', () => {
  it('backs view-change timers off exponentially with a cap and fires batch timers after batchMs', async () => {
    const net = new SimNetwork({ seed: 1 });
    const fired: [string, number][] = [];
    const replica = new ScriptedReplica((e) => {
      if (e.kind === 'request')
        return [
          { kind: 'setTimer', timer: 'batch', attempt: 0 },
          { kind: 'setTimer', timer: 'viewChange', attempt: 0 },
        ];
      if (e.kind === 'timer') {
        fired.push([e.timer, net.clock.now()]);
        const attempt = fired.filter(([t]) => t === 'viewChange').length;
        return e.timer === 'viewChange' && attempt < 6 ? [{ kind: 'setTimer', timer: 'viewChange', attempt }] : [];
      }
      return [];
    });
    const { node } = setup(0, replica, net);
    await node.start();
    node.submit(utf8('x=1'));
    net.clock.runUntil(10_000);
    // base 100: 100, then +200, +400, +800, +1000 (cap), +1000.
    expect(fired).toEqual([
      ['batch', 3],
      ['viewChange', 100],
      ['viewChange', 300],
      ['viewChange', 700],
      ['viewChange', 1500],
      ['viewChange', 2500],
      ['viewChange', 3500],
    ]);
  });

  it('a cancelled or replaced timer does not fire', async () => {
    const net = new SimNetwork({ seed: 1 });
    const replica = new ScriptedReplica((e) => {
      if (e.kind === 'request')
        return [
          { kind: 'setTimer', timer: 'viewChange', attempt: 0 },
          { kind: 'setTimer', timer: 'viewChange', attempt: 2 },
          { kind: 'setTimer', timer: 'batch', attempt: 0 },
          { kind: 'cancelTimer', timer: 'batch' },
        ];
      return [];
    });
    const { node } = setup(0, replica, net);
    await node.start();
    node.submit(utf8('x=1'));
    net.clock.runUntil(5_000);
    // Only the replacement fires: one viewChange timer at 400 (attempt 2), no batch timer.
    expect(replica.seen.filter((e) => e.kind === 'timer').map((e) => e.kind === 'timer' && [e.timer, e.now])).toEqual([['viewChange', 400]]);
  });

  it('delivers a due view-change timer only after the work queued behind it, and not at all if that work cancelled it', async () => {
    const net = new SimNetwork({ seed: 1 });
    const queued: (() => void)[] = [];
    const clock: Clock = { now: () => net.clock.now(), schedule: (ms, fn) => net.clock.schedule(ms, fn), afterQueued: (fn) => void queued.push(fn) };
    const replica = new ScriptedReplica((e) => {
      if (e.kind === 'request')
        return [
          { kind: 'setTimer', timer: 'batch', attempt: 0 },
          { kind: 'setTimer', timer: 'viewChange', attempt: 0 },
        ];
      // The message that ordered the request: the replica no longer needs a view change.
      if (e.kind === 'message') return [{ kind: 'cancelTimer', timer: 'viewChange' }];
      return [];
    });
    const timers = () => replica.seen.flatMap((e) => (e.kind === 'timer' ? [[e.timer, e.now]] : []));
    const { node } = setup(0, replica, net, { clock });
    await node.start();
    node.submit(utf8('x=1'));
    net.clock.runUntil(150);
    // The batch timer is not held back; the view-change timer came due at 100 and waits for the queue.
    expect(timers()).toEqual([['batch', 3]]);
    expect(queued).toHaveLength(1);
    nudge(net);
    net.clock.runUntil(160);
    for (const fn of queued.splice(0)) fn();
    expect(timers()).toEqual([['batch', 3]]);

    // Nothing cancels the next one: it is delivered when the queue has run, at that time.
    node.submit(utf8('x=2'));
    net.clock.runUntil(400);
    expect(queued).toHaveLength(1);
    queued.shift()!();
    expect(timers()).toEqual([
      ['batch', 3],
      ['batch', 163],
      ['viewChange', 400],
    ]);
  });

  it('executes batches into a hash chain of blocks, hands the block hash back as the state digest, and snapshots at K', async () => {
    const net = new SimNetwork({ seed: 1 });
    let seq = 0;
    let last: Uint8Array | undefined;
    const replica = new ScriptedReplica((e) => {
      if (e.kind === 'request') {
        seq++;
        const time = 1000 + seq;
        // From seq 3 on, the batch repeats the previous request first: an executed duplicate the replica skips.
        const batch = seq >= 3 ? [last!, e.bytes] : [e.bytes];
        const skipped = seq >= 3 ? [0] : [];
        last = e.bytes;
        return [
          {
            kind: 'execute',
            seq,
            view: 0,
            time,
            batchTime: time,
            batchDigest: batchDigestOfHashes(time, batch.map(txHash)),
            requests: [e.bytes],
            batch,
            skipped,
            certificate: cert(seq),
          },
        ];
      }
      if (e.kind === 'executed' && e.seq === 2) return [{ kind: 'checkpointStable', seq: 2, stateDigest: e.stateDigest, replicaState: utf8('rs2'), certificate: utf8('cp2') }];
      return [];
    });
    const { node, app, store, events } = setup(0, replica, net, { trustAfter: (h) => (h === 2 ? [5, 4, 3, 2] : undefined) });
    await node.start();
    node.submit(utf8('a=1'));
    node.submit(utf8('b=2'));
    node.submit(utf8('not a kv transaction'));
    node.submit(utf8('a=3'));
    await node.flushed();
    expect(node.height).toBe(4);
    // Block 4 holds the whole certified batch [not-a-tx, a=3] but only a=3 was applied (position 0 skipped).
    expect(node.block(4)!.txs.map((t) => new TextDecoder().decode(t))).toEqual(['not a kv transaction', 'a=3']);
    expect(node.block(4)!.header.skipped).toEqual([0]);
    // Each committed event carries every transaction's result, the skipped duplicate included.
    const results = events.flatMap((e) => (e.kind === 'committed' ? [e.results.map((r) => (r.ok ? 'ok' : r.reason))] : []));
    expect(results).toEqual([['ok'], ['ok'], ['skipped-duplicate', 'malformed'], ['skipped-duplicate', 'ok']]);
    expect(verifyBlock(node.block(4)!, keys, { prev: node.block(3)!.header, verifyCertificate }).ok).toBe(true);
    expect(app.get('a')).toBe('3');
    expect(app.get('b')).toBe('2');
    const b1 = node.block(1)!;
    const b2 = node.block(2)!;
    expect(toHex(b1.header.prevHash)).toBe(toHex(genesisHash(keys)));
    expect(toHex(b2.header.prevHash)).toBe(toHex(blockHash(b1.header)));
    expect(verifyBlock(b2, keys, { prev: b1.header, verifyCertificate })).toEqual({ ok: true, hash: blockHash(b2.header) });
    const executed = replica.seen.filter((e) => e.kind === 'executed');
    // Trust scores from the committed state travel with `executed`, only when they changed.
    expect(executed.map((e) => e.kind === 'executed' && e.trust)).toEqual([undefined, [5, 4, 3, 2], undefined, undefined]);
    expect(executed.map((e) => e.kind === 'executed' && toHex(e.stateDigest))).toEqual([1, 2, 3, 4].map((h) => toHex(blockHash(node.block(h)!.header))));
    expect((await store.tip())?.height).toBe(4);
    const snap = await store.getSnapshot(2);
    expect(snap && new TextDecoder().decode(snap.replicaState)).toBe('rs2');
    expect(snap && toHex(snap.blockHash)).toBe(toHex(blockHash(b2.header)));
  });

  it('frames PBFT messages on its channel, maps indices to peers, ignores other channels and drops non-validators', async () => {
    const net = new SimNetwork({ seed: 1, link: { jitter: 0 } });
    const r0 = new ScriptedReplica((e) =>
      e.kind === 'request'
        ? [
            { kind: 'broadcast', bytes: utf8('hello') },
            { kind: 'send', to: 2, bytes: utf8('to2') },
          ]
        : [],
    );
    const r2 = new ScriptedReplica();
    const n0 = setup(0, r0, net);
    const n2 = setup(2, r2, net);
    const got1: Uint8Array[] = [];
    net.join(ids[1]!).onMessage((_f, b) => got1.push(b));
    const stranger = net.join('ee'.repeat(32));
    await n0.node.start();
    await n2.node.start();
    n0.node.submit(utf8('go=1'));
    net.clock.runUntil(100);
    // Frames carry the epoch number (0) before the replica's bytes.
    expect(got1.map((b) => [b[0], b[1], new TextDecoder().decode(b.subarray(2))])).toEqual([[CHANNEL_PBFT, 0, 'hello']]);
    expect(r2.seen.filter((e) => e.kind === 'message').map((e) => e.kind === 'message' && new TextDecoder().decode(e.bytes))).toEqual(['hello', 'to2']);
    stranger.send(ids[2]!, pbftFrame(0, utf8('spoof')));
    stranger.send(ids[2]!, new Uint8Array([0x01, 0x02]));
    net.clock.runUntil(200);
    expect(r2.seen.filter((e) => e.kind === 'message')).toHaveLength(2);
    expect(n2.events.some((e) => e.kind === 'rejected' && e.reason === 'badSender')).toBe(true);
  });
});

describe('state transfer', () => {
  async function serverWith(net: SimNetwork, self: number, chain: ReturnType<typeof honestChain>, at = 4) {
    const store = new MemoryLedgerStore();
    for (const b of chain.blocks) await store.putBlock(b);
    const s = chain.blocks[at - 1]!;
    await store.putSnapshot({ seq: at, blockHash: blockHash(s.header), app: chain.apps[at - 1]!, replicaState: utf8(`rs${at}`), certificate: utf8(`cp${at}`) });
    const { node } = setup(self, new ScriptedReplica(), net, { store });
    await node.start();
    return node;
  }

  /** A peer that answers every state request with the honest reply for `chain`, changed by `lie`. */
  function liar(net: SimNetwork, self: number, chain: ReturnType<typeof honestChain>, lie: (blocks: Block[], apps: Uint8Array[]) => { blocks: Block[]; app: Uint8Array }) {
    const t = net.join(ids[self]!);
    t.onMessage((from, bytes) => {
      if (bytes[0] !== CHANNEL_STATE) return;
      const req = decodeStateMessage(bytes.subarray(1));
      if (req.type !== 'request') return;
      const told = lie(chain.blocks, chain.apps);
      const run = told.blocks.filter((b) => b.header.height >= req.fromHeight && b.header.height <= Math.min(req.toHeight, req.snapshotSeq || req.toHeight));
      const reply = {
        type: 'reply' as const,
        id: req.id,
        tip: chain.blocks.length,
        blocks: run.map(encodeBlock),
        attestations: run.map(() => null),
        snapshot: req.snapshotSeq ? { app: told.app, replicaState: utf8(`rs${req.snapshotSeq}`), certificate: utf8('cp') } : null,
      };
      t.send(from, onChannel(CHANNEL_STATE, encodeStateMessage(reply)));
    });
  }

  it('fetches, verifies and installs blocks and a snapshot proven by the checkpoint digest', async () => {
    const net = new SimNetwork({ seed: 3 });
    const chain = honestChain(6);
    await serverWith(net, 1, chain);
    const digest = blockHash(chain.blocks[3]!.header);
    const lagging = new ScriptedReplica((e) =>
      e.kind === 'message' && new TextDecoder().decode(e.bytes) === 'behind' ? [{ kind: 'fetchState', seq: 4, stateDigest: digest, peers: [1] }] : [],
    );
    const { node, app, events, store } = await startBehind(net, lagging, 1_000);
    const installed = lagging.seen.find((e) => e.kind === 'stateInstalled');
    expect(installed && installed.kind === 'stateInstalled' && [installed.seq, toHex(installed.stateDigest), new TextDecoder().decode(installed.replicaState)]).toEqual([
      4,
      toHex(digest),
      'rs4',
    ]);
    expect(node.height).toBe(4);
    expect(app.get('k4')).toBe('v4');
    expect(app.get('k5')).toBeUndefined();
    expect(events.find((e) => e.kind === 'stateInstalled')).toMatchObject({ seq: 4, fetchedBlocks: 4, fromPeer: ids[1] });
    await node.flushed();
    expect((await store.tip())?.height).toBe(4);
  });

  it.each([
    ['a forged block (state root changed)', (b: Block[]) => b.map((x, i) => (i === 3 ? { ...x, header: { ...x.header, stateRoot: new Uint8Array(32) } } : x)), 'digest-mismatch'],
    ['a broken chain', (b: Block[]) => b.map((x, i) => (i === 1 ? { ...x, header: { ...x.header, prevHash: new Uint8Array(32).fill(7) } } : x)), 'chain-broken'],
    ['a block with a bad certificate', (b: Block[]) => b.map((x, i) => (i === 0 ? { ...x, certificate: cert(9) } : x)), 'block-invalid'],
  ] as const)('rejects %s from a lying peer and gets the state from an honest one', async (_name, tamper, reason) => {
    const net = new SimNetwork({ seed: 4 });
    const chain = honestChain(6);
    liar(net, 1, chain, (blocks, apps) => ({ blocks: tamper(blocks), app: apps[3]! }));
    await serverWith(net, 2, chain);
    const digest = blockHash(chain.blocks[3]!.header);
    const lagging = laggingReplica(4, digest, [1, 2]);
    const { node, app, events } = await startBehind(net, lagging, 2_000);
    expect(events.filter((e) => e.kind === 'stateTransferRejected').map((e) => e.kind === 'stateTransferRejected' && [e.reason, e.from])).toContainEqual([reason, ids[1]]);
    expect(events.find((e) => e.kind === 'stateInstalled')).toMatchObject({ seq: 4, fromPeer: ids[2] });
    expect(app.get('k4')).toBe('v4');
    expect(node.height).toBe(4);
  });

  it('refuses a snapshot that does not produce the proven state root, and leaves its state untouched', async () => {
    const net = new SimNetwork({ seed: 5 });
    const chain = honestChain(6);
    liar(net, 1, chain, (blocks, apps) => ({ blocks, app: apps[2]! }));
    const digest = blockHash(chain.blocks[3]!.header);
    const lagging = laggingReplica(4, digest, [1]);
    const app = appWithOwnState();
    const { node, events } = await startBehind(net, lagging, 300, { app });
    expect(events.some((e) => e.kind === 'stateTransferRejected' && e.reason === 'state-root-mismatch')).toBe(true);
    expect(lagging.seen.some((e) => e.kind === 'stateInstalled')).toBe(false);
    expect(app.get('mine')).toBe('1');
    expect(node.height).toBe(0);
  });

  it('installs a checkpoint beyond one reply page, then fills the history below it from peers', async () => {
    const net = new SimNetwork({ seed: 10 });
    const chain = honestChain(300);
    await serverWith(net, 1, chain, 300);
    await serverWith(net, 2, chain, 300);
    const digest = blockHash(chain.blocks[299]!.header);
    const lagging = laggingReplica(300, digest, [1, 2]);
    const { node, events, store } = await startBehind(net, lagging, 5_000);
    expect(events.find((e) => e.kind === 'stateInstalled')).toMatchObject({ seq: 300, fetchedBlocks: 256 });
    expect(events.find((e) => e.kind === 'historyFilled')).toEqual({ kind: 'historyFilled', down: 1 });
    for (let h = 1; h <= 300; h++) expect(toHex(blockHash(node.block(h)!.header))).toBe(toHex(blockHash(chain.blocks[h - 1]!.header)));
    await node.flushed();
    expect((await store.getBlocks(1, 300)).length).toBe(300);
  });

  it('rolls the state back when the replica refuses the replica state that came with the snapshot', async () => {
    const net = new SimNetwork({ seed: 8 });
    const chain = honestChain(6);
    await serverWith(net, 1, chain);
    const digest = blockHash(chain.blocks[3]!.header);
    const lagging = laggingReplica(4, digest, [1]);
    lagging.refuseState = true;
    const app = appWithOwnState();
    const { node, events } = await startBehind(net, lagging, 300, { app });
    expect(events.some((e) => e.kind === 'stateTransferRejected' && e.reason === 'replica-refused')).toBe(true);
    expect(app.get('mine')).toBe('1');
    expect(app.get('k4')).toBeUndefined();
    expect(node.height).toBe(0);
  });

  it('installs from its own store after a restart when it holds the proven snapshot', async () => {
    const net = new SimNetwork({ seed: 6 });
    const chain = honestChain(4);
    const store = new MemoryLedgerStore();
    for (const b of chain.blocks) await store.putBlock(b);
    const digest = blockHash(chain.blocks[3]!.header);
    await store.putSnapshot({ seq: 4, blockHash: digest, app: chain.apps[3]!, replicaState: utf8('rs4'), certificate: utf8('cp4') });
    const replica = laggingReplica(4, digest, [1, 2]);
    const { events } = await startBehind(net, replica, 100, { store });
    expect(events.find((e) => e.kind === 'stateInstalled')).toMatchObject({ seq: 4, fetchedBlocks: 0, fromPeer: null });
  });

  it('answers a peer that floods state requests at most once per quarter timeout', async () => {
    const net = new SimNetwork({ seed: 9, link: { jitter: 0 } });
    await serverWith(net, 1, honestChain(6));
    const asker = net.join(ids[0]!);
    let replies = 0;
    // Replies only: the server also asks a newly connected peer for blocks above its own tip (a probe).
    asker.onMessage((_f, b) => (b[0] === CHANNEL_STATE && decodeStateMessage(b.subarray(1)).type === 'reply' ? replies++ : 0));
    const req = onChannel(CHANNEL_STATE, encodeStateMessage({ type: 'request', id: 1, fromHeight: 1, toHeight: 6, snapshotSeq: 0, snapshotDigest: new Uint8Array(32) }));
    for (let i = 0; i < 50; i++) asker.send(ids[1]!, req);
    net.clock.runUntil(5);
    expect(replies).toBe(1);
    net.clock.runUntil(100);
    asker.send(ids[1]!, req);
    net.clock.runUntil(200);
    expect(replies).toBe(2);
  });

  it('rejects malformed and unsolicited state frames with a typed reason', async () => {
    const net = new SimNetwork({ seed: 7 });
    const { node, events } = setup(0, new ScriptedReplica(), net);
    await node.start();
    const peer = net.join(ids[1]!);
    peer.send(ids[0]!, onChannel(CHANNEL_STATE, new Uint8Array([2, 0xff])));
    peer.send(
      ids[0]!,
      onChannel(CHANNEL_STATE, encodeStateMessage({ type: 'reply', id: 42, tip: 1, blocks: [encodeBlock(honestChain(1).blocks[0]!)], attestations: [null], snapshot: null })),
    );
    net.clock.runUntil(100);
    expect(events.filter((e) => e.kind === 'stateTransferRejected').map((e) => e.kind === 'stateTransferRejected' && e.reason)).toEqual(['malformed', 'unsolicited']);
    expect(() => decodeStateMessage(new Uint8Array([9]))).toThrow();
  });
});
