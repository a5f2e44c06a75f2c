// A restarted node resumes from its own store: the app from the latest stored snapshot (a stable checkpoint),
// then every stored block above it, each verified (its certificate against the validators of its height, its
// link to the previous block) and executed again, its state root compared with the one stored. A block that
// fails stops the replay there; what is above it comes again from peers. The replica resumes at the snapshot's
// checkpoint, so it re-executes the replayed seqs and the host confirms each against the block it holds.

import {
  blockHash,
  effectiveSchedule,
  epochId,
  type Block,
  type BlockCheck,
  type BlockHeader,
  type EpochHistory,
  type LedgerApp,
  type LedgerStore,
  type StoredSnapshot,
} from '../ledger/index.ts';
import { equalBytes } from '../util/index.ts';
import type { LocalChain } from './chain.ts';
import { applyBatch } from './apply.ts';
import type { ConsensusEvent, PayloadOf } from './types.ts';

export interface ResumeContext {
  readonly store: LedgerStore;
  readonly chain: LocalChain;
  readonly app: LedgerApp;
  readonly K: number;
  readonly epochs: EpochHistory;
  readonly payloadOf: PayloadOf;
  verify(block: Block, prev: BlockHeader | undefined): BlockCheck;
  readonly trustAfter: ((seq: number) => number[] | undefined) | undefined;
}

export interface Resumed {
  /** The stored checkpoint the app was restored from (the replica resumes there), or null (genesis). */
  readonly checkpoint: StoredSnapshot | null;
  /** Stored blocks executed again above it. */
  readonly replayed: number;
  /** App snapshots at the checkpoint seqs replayed, for when the replica makes those checkpoints stable. */
  readonly candidates: Map<number, { app: Uint8Array; blockHash: Uint8Array }>;
  /** Trust scores after each replayed seq, for when the replica executes it again. */
  readonly trust: Map<number, number[] | undefined>;
  readonly events: ConsensusEvent[];
}

/** Replays are read from the store a page at a time, so a long chain never sits in memory at once. */
const REPLAY_PAGE = 512;

export async function resumeFromStore(ctx: ResumeContext): Promise<Resumed> {
  const { store, chain, app, K } = ctx;
  const events: ConsensusEvent[] = [];
  const candidates = new Map<number, { app: Uint8Array; blockHash: Uint8Array }>();
  const trust = new Map<number, number[] | undefined>();
  const storedTip = await store.tip();
  if (!storedTip) return { checkpoint: null, replayed: 0, candidates, trust, events };

  const genesisState = app.snapshot();
  let checkpoint: StoredSnapshot | null = null;
  const snap = await store.latestSnapshot();
  if (snap) {
    const block = await store.getBlock(snap.seq);
    const restored = block !== undefined && equalBytes(blockHash(block.header), snap.blockHash) && restore(app, snap.app, block.header.stateRoot);
    if (restored) {
      checkpoint = snap;
      chain.setTip(block, snap.blockHash);
      chain.keepSnapshot(snap, false);
      events.push({ kind: 'stateInstalled', seq: snap.seq, fetchedBlocks: 0, fromPeer: null });
      // The epoch the restored state is in (the validators of the blocks after it).
      const schedule = app.validatorSchedule?.();
      if (schedule) {
        const e = effectiveSchedule(schedule, snap.seq);
        if (e.epoch > 0) ctx.epochs.adopt({ number: e.epoch, since: e.since, validators: e.validators, id: epochId(e.epoch, ctx.epochs.genesisHash, e.since, e.validators) });
      }
    } else {
      app.restore(genesisState);
      events.push({ kind: 'resumeStopped', height: snap.seq, reason: 'snapshot-mismatch' });
    }
  }

  // The recent history below the restored state, held in memory to serve peers at once.
  const low = Math.max(1, storedTip.height - chain.retainBlocks + 1);
  if (low <= chain.tip.height) {
    for (const b of await store.getBlocks(low, chain.tip.height)) if (b.header.height !== chain.tip.height) chain.hold(b);
  }
  for (const [h, cert] of await store.getAttestations(low, storedTip.height)) chain.holdAttestation(h, cert);

  let replayed = 0;
  for (let from = chain.tip.height + 1; from <= storedTip.height; from += REPLAY_PAGE) {
    const page = await store.getBlocks(from, Math.min(storedTip.height, from + REPLAY_PAGE - 1));
    for (const b of page) {
      const h = b.header.height;
      const tip = chain.tip;
      if (h !== tip.height + 1) {
        events.push({ kind: 'resumeStopped', height: tip.height + 1, reason: 'missing-block' });
        return { checkpoint, replayed, candidates, trust, events };
      }
      const check = ctx.verify(b, tip.header ?? undefined);
      if (!check.ok) {
        events.push({ kind: 'resumeStopped', height: h, reason: check.reason });
        return { checkpoint, replayed, candidates, trust, events };
      }
      const results = applyBatch(app, b.txs, b.header.skipped, h, b.header.time, ctx.payloadOf);
      if (!equalBytes(app.stateRoot(), b.header.stateRoot)) {
        // The store's block says another state than executing it gives: the app is now past a bad block, so
        // go back to the last good state we can name (the restored checkpoint, or genesis) and stop.
        events.push({ kind: 'resumeStopped', height: h, reason: 'state-root-mismatch' });
        return rewind(ctx, checkpoint, genesisState, events);
      }
      chain.setTip(b, check.hash);
      replayed++;
      events.push({ kind: 'committed', block: b, hash: check.hash, results, replayed: true });
      trust.set(h, ctx.trustAfter?.(h));
      if (h % K === 0) {
        candidates.set(h, { app: app.snapshot(), blockHash: check.hash });
        const schedule = app.validatorSchedule?.();
        if (schedule) ctx.epochs.observe(h, schedule);
      }
    }
    if (page.length === 0) break;
  }
  return { checkpoint, replayed, candidates, trust, events };
}

function restore(app: LedgerApp, bytes: Uint8Array, stateRoot: Uint8Array): boolean {
  try {
    app.restore(bytes);
  } catch {
    return false;
  }
  return equalBytes(app.stateRoot(), stateRoot);
}

/** Back to the restored checkpoint (or genesis) after a stored block failed its state root. */
async function rewind(ctx: ResumeContext, checkpoint: StoredSnapshot | null, genesisState: Uint8Array, events: ConsensusEvent[]): Promise<Resumed> {
  ctx.app.restore(checkpoint ? checkpoint.app : genesisState);
  if (checkpoint) {
    const block = await ctx.store.getBlock(checkpoint.seq);
    if (block) ctx.chain.setTip(block, checkpoint.blockHash);
  } else {
    ctx.chain.tip = { height: 0, hash: ctx.epochs.genesisHash, header: null };
  }
  return { checkpoint, replayed: 0, candidates: new Map(), trust: new Map(), events: events.filter((e) => e.kind !== 'committed') };
}
