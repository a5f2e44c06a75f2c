// How the ledger's costs grow with its length (issue 15, "how cost grows"): four validators of the simulator's
// cluster (real wasm replicas and ConsensusNodes over SimNetwork in virtual time, the key-value app), the
// fourth down while the other three commit a chain of `blocks` client requests; then it comes back with an
// empty store, a new replica, while a client keeps committing a request every 100 ms. Measured:
//  - what the store holds per block (encoded blocks and their attestation certificates: what IndexedDB is
//    asked to keep) and the latest snapshot's size (the key-value app's state is small and does not grow
//    with the chain; the contracts' state would, and a state transfer carries it);
//  - the new replica's time to the head (on this process's clock: the catch-up's CPU work; the network's
//    virtual time beside it), and to a full, verified history (every block from 1 held in its store);
//  - how it got there: blocks it followed (fetched, verified and executed) and state transfers.
import { Cluster } from '../../sim/cluster.ts';
import { MemoryLedgerStore, encodeBlock } from '../../../web/src/core/ledger/index.ts';
import { type BenchSection, type Row } from '../harness.ts';

const LENGTHS = [250, 1_000, 4_000];
const QUICK_LENGTHS = [100, 400];
/** Virtual time allowed to build a chain or catch up (far more than either takes). */
const DEADLINE_MS = 600_000;

interface LedgerPoint {
  blocks: number;
  /** Wall-clock ms the three validators took to commit the chain (the simulator's cost, for scale). */
  buildMs: number;
  blockBytesPerBlock: number;
  certificateBytesPerBlock: number;
  snapshotBytes: number;
  toHeadMs: number;
  toHeadVirtualMs: number;
  toHistoryMs: number;
  toHistoryVirtualMs: number;
  followed: number;
  stateTransfers: number;
}

async function point(blocks: number): Promise<LedgerPoint> {
  const c = await Cluster.create({ seed: 7, n: 4, checkpointInterval: 16, watermarkWindow: 64, maxBatch: 64 });
  for (let i = 0; i < 4; i++) c.add(i);
  c.addClients(4);
  await c.start();
  try {
    await c.crash('r3');
    // One request every 4 virtual ms: about one block each (the primary proposes at once when idle).
    const built = performance.now();
    for (let j = 0; j < blocks; j++) c.at(c.now + 4 * j, () => c.submit(j % 4, `key${j % 64}=v${j}`));
    if (!(await c.run(() => c.committedCount() === blocks, c.now + 4 * blocks + DEADLINE_MS))) throw new Error(`${blocks} requests did not commit`);
    const buildMs = performance.now() - built;
    const r0 = c.instance('r0');
    await r0.node!.flushed();
    const height = r0.node!.height;
    let blockBytes = 0;
    for (const b of await r0.store.getBlocks(1, height)) blockBytes += encodeBlock(b).length;
    let certificateBytes = 0;
    for (const a of (await r0.store.getAttestations(1, height)).values()) certificateBytes += a.length;
    const snap = await r0.store.latestSnapshot();

    const fresh = new MemoryLedgerStore();
    await c.restart('r3', fresh);
    const r3 = c.instance('r3');
    let k = blocks;
    const client = (): void => {
      c.submit(k % 4, `key${k % 64}=v${k}`);
      k++;
      c.at(c.now + 100, client);
    };
    c.at(c.now + 1, client);
    const wall = performance.now();
    const virtual = c.now;
    if (!(await c.run(() => r3.node!.height >= r0.node!.height, c.now + DEADLINE_MS))) throw new Error(`the new replica did not reach the head of ${blocks} blocks`);
    const toHeadMs = performance.now() - wall;
    const toHeadVirtualMs = c.now - virtual;
    // History: every height from 1 in its store (backfilled after the head, if the head came by state transfer).
    const held = async (): Promise<number> => {
      await r3.node!.flushed();
      return (await fresh.getBlocks(1, r3.node!.height)).length;
    };
    while ((await held()) < r3.node!.height) {
      if (c.now - virtual > DEADLINE_MS) throw new Error(`the new replica did not backfill the history of ${blocks} blocks`);
      await c.run(() => false, c.now + 100);
    }
    return {
      blocks: height,
      buildMs: Math.round(buildMs),
      blockBytesPerBlock: Math.round(blockBytes / height),
      certificateBytesPerBlock: Math.round(certificateBytes / height),
      snapshotBytes: snap ? snap.app.length + snap.replicaState.length + snap.certificate.length : 0,
      toHeadMs: Math.round(toHeadMs),
      toHeadVirtualMs: Math.round(toHeadVirtualMs),
      toHistoryMs: Math.round(performance.now() - wall),
      toHistoryVirtualMs: Math.round(c.now - virtual),
      followed: r3.node!.counters.followed,
      stateTransfers: r3.node!.counters.stateTransfers,
    };
  } finally {
    for (const i of c.instances) await c.crash(i.name);
  }
}

const section: BenchSection = {
  name: 'ledger-scale',
  async run(ctx) {
    const points: LedgerPoint[] = [];
    for (const blocks of ctx.quick ? QUICK_LENGTHS : LENGTHS) {
      const p = await point(blocks);
      points.push(p);
      ctx.log(
        `ledger-scale ${p.blocks} blocks: ${p.blockBytesPerBlock} + ${p.certificateBytesPerBlock} bytes a block, snapshot ${p.snapshotBytes} bytes; a new replica at the head in ${p.toHeadMs} ms (virtual ${p.toHeadVirtualMs}), full history in ${p.toHistoryMs} ms (virtual ${p.toHistoryVirtualMs}); followed ${p.followed} blocks, ${p.stateTransfers} state transfer(s)`,
      );
    }
    const rows: Row[] = points.map((p) => ({
      blocks: p.blocks,
      'block B': p.blockBytesPerBlock,
      'certificate B': p.certificateBytesPerBlock,
      'store MiB': Math.round((((p.blockBytesPerBlock + p.certificateBytesPerBlock) * p.blocks) / 2 ** 20) * 100) / 100,
      'to head ms': p.toHeadMs,
      'to history ms': p.toHistoryMs,
      followed: p.followed,
      'state transfers': p.stateTransfers,
    }));
    return { rows, data: { points }, targets: [] };
  },
};

export default section;
