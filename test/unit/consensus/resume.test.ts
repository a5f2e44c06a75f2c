// A node restarted over its own store: the latest snapshot restored, every stored block above it verified and
// executed again (state root compared), and the replica started at that snapshot's checkpoint. A stored block
// that fails any check stops the replay there, with its reason, and never leaves the app past a bad block.
import { describe, expect, it } from 'vitest';
import { ConsensusNode, type ConsensusEvent, type ReplicaStart } from '../../../web/src/core/consensus/index.ts';
import { MemoryLedgerStore, blockHash, buildBlock, genesisHash, type Block } from '../../../web/src/core/ledger/index.ts';
import { SimNetwork } from '../../../web/src/core/net/sim-network.ts';
import { Prng, toHex } from '../../../web/src/core/util/index.ts';
import { KvApp } from '../../sim/kv-app.ts';
import { useCore } from '../shared/core.ts';
import { fakeCertificate as cert, utf8, verifyFakeCertificate as verifyCertificate } from '../shared/fake-certificate.ts';

useCore();

const rng = new Prng(17);
const keys = Array.from({ length: 4 }, () => rng.bytes(32));

/** Blocks 1..len as a correct node builds them, the app snapshot after each, and a store holding them. */
async function stored(len: number, snapshotAt: number, tamper?: (b: Block) => Block) {
  const app = new KvApp();
  const store = new MemoryLedgerStore();
  const blocks: Block[] = [];
  let prev = genesisHash(keys);
  for (let h = 1; h <= len; h++) {
    const tx = utf8(`k${h}=v${h}`);
    app.apply(tx, { height: h, index: 0, time: 1000 + h });
    const b = buildBlock({ height: h, time: 1000 + h, prevHash: prev, txs: [tx], stateRoot: app.stateRoot(), certificate: cert(h) });
    blocks.push(b);
    prev = blockHash(b.header);
    await store.putBlock(tamper ? tamper(b) : b);
    if (h === snapshotAt) await store.putSnapshot({ seq: h, blockHash: prev, app: app.snapshot(), replicaState: utf8(`rs${h}`), certificate: utf8(`cp${h}`) });
  }
  return { store, blocks };
}

async function restart(store: MemoryLedgerStore) {
  const net = new SimNetwork({ seed: 1 });
  const app = new KvApp();
  const events: ConsensusEvent[] = [];
  const starts: ReplicaStart[] = [];
  const node = new ConsensusNode({
    validators: keys,
    key: keys[0]!,
    createReplica: (s) => {
      starts.push(s);
      return { step: () => [], view: 0, primary: 0, lastExecuted: s.resumeFrom?.seq ?? s.epoch.since, dispose() {} };
    },
    transport: net.join(toHex(keys[0]!)),
    clock: net.clock,
    app,
    store,
    checkpointInterval: 4,
    payloadOf: (r) => r,
    verifyCertificate,
    onEvent: (e) => events.push(e),
  });
  await node.start();
  return { node, app, events, starts };
}

describe('resume from the store', () => {
  it('restores the latest snapshot, replays the blocks above it, and starts the replica at that checkpoint', async () => {
    const { store, blocks } = await stored(11, 8);
    const { node, app, events, starts } = await restart(store);
    expect(node.height).toBe(11);
    expect(toHex(node.tipHash)).toBe(toHex(blockHash(blocks[10]!.header)));
    expect(app.get('k11')).toBe('v11');
    expect(app.applied).toBe(3); // blocks 9..11 executed again; 1..8 came in the snapshot
    expect(
      events.map((e) => (e.kind === 'committed' ? `committed ${e.block.header.height} ${e.replayed}` : e.kind === 'stateInstalled' ? `installed ${e.seq} ${e.fromPeer}` : e.kind)),
    ).toEqual(['installed 8 null', 'committed 9 true', 'committed 10 true', 'committed 11 true', 'replicaStarted']);
    expect(starts).toHaveLength(1);
    // Epoch 0 starts at genesis (digest zero); the replica resumes at the stored checkpoint 8.
    expect(starts[0]).toMatchObject({ self: 0, startDigest: new Uint8Array(32), resumeFrom: { seq: 8, replicaState: utf8('rs8'), certificate: utf8('cp8') } });
    expect(toHex(starts[0]!.resumeFrom!.stateDigest)).toBe(toHex(blockHash(blocks[7]!.header)));
  });

  it('replays from genesis when nothing was snapshotted yet', async () => {
    const { store } = await stored(3, 0);
    const { node, starts } = await restart(store);
    expect(node.height).toBe(3);
    expect(starts[0]!.resumeFrom).toBeUndefined();
    expect(starts[0]!.epoch.since).toBe(0);
  });

  it.each([
    ['a forged certificate', (b: Block) => (b.header.height === 10 ? { ...b, certificate: cert(99) } : b), 9, 'certificate-malformed'],
    ['a changed transaction', (b: Block) => (b.header.height === 10 ? { ...b, txs: [utf8('k10=forged')] } : b), 9, 'tx-root-mismatch'],
    ['a broken link', (b: Block) => (b.header.height === 10 ? { ...b, header: { ...b.header, prevHash: new Uint8Array(32) } } : b), 9, 'prev-hash-mismatch'],
    // The state root is checked after executing: the app goes back to the snapshot, never past a bad block.
    ['a wrong state root', (b: Block) => (b.header.height === 10 ? { ...b, header: { ...b.header, stateRoot: new Uint8Array(32).fill(3) } } : b), 8, 'state-root-mismatch'],
  ] as const)('stops at %s in the store, with its reason', async (_name, tamper, height, reason) => {
    const { store } = await stored(11, 8, tamper);
    const { node, app, events } = await restart(store);
    expect(events.filter((e) => e.kind === 'resumeStopped')).toEqual([{ kind: 'resumeStopped', height: 10, reason }]);
    expect(node.height).toBe(height);
    expect(app.get('k10')).toBeUndefined();
    expect(app.get(`k${height}`)).toBe(`v${height}`);
  });

  it('a snapshot that does not match its block is not restored', async () => {
    const { store, blocks } = await stored(5, 4);
    await store.putSnapshot({ seq: 4, blockHash: blockHash(blocks[3]!.header), app: new KvApp().snapshot(), replicaState: utf8('rs4'), certificate: utf8('cp4') });
    const { node, events } = await restart(store);
    expect(events[0]).toEqual({ kind: 'resumeStopped', height: 4, reason: 'snapshot-mismatch' });
    expect(node.height).toBe(5); // replayed from genesis instead
  });
});
