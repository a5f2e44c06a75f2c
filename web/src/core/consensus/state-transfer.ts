// State transfer on CHANNEL_STATE: serving peers, and three ways of catching up, all verified and all paced by
// the host's one back-off policy (backoff.ts: PeerRotation):
// - checkpoint: the replica proved a checkpoint digest (a quorum of signed checkpoints) and asked for that state: fetch
//   the blocks from our tip up to it and the snapshot at it; the target block must hash to the digest, every
//   block below must link to it and carry a valid certificate, and the snapshot must produce its state root;
// - history: after such an install, the blocks below it that we lack, page by page downwards, each the block
//   its successor names by prevHash (so the hash chain from the proven block authenticates them);
// - follow: a node with no replica in the current epoch (not a validator, or behind an epoch change) fetches
//   the blocks above its tip and executes them itself, each checked against the validators of its height.
// Nothing a peer sends is trusted; a liar costs us one request and is skipped, and a full round of failures
// makes us wait (doubling, capped) so a lying or flooding peer cannot make us spin.

import { blockHash, decodeBlock, encodeBlock, type Block, type BlockCheck, type BlockHeader } from '../ledger/index.ts';
import { equalBytes } from '../util/index.ts';
import type { PeerId } from '../net/index.ts';
import { MAX_BLOCKS_PER_REPLY, type StateReply, type StateRequest } from './frames.ts';
import type { LocalChain } from './chain.ts';
import { PeerRotation } from './backoff.ts';
import type { Clock, ConsensusEvent, StateTransferRejectReason } from './types.ts';

/** Rounds over all peers before a history or follow fetch gives up (a later trigger starts it again). */
const GIVE_UP_ROUNDS = 3;
/** A request for blocks this close to our tip is a follower keeping up (see admit). */
const LIVE_BLOCKS = 2;
/** Replies to a follower keeping up, per peer and base timeout. */
const LIVE_PER_BASE = 32;
/** Peers remembered for rate limiting; beyond it the oldest entries go. */
const MAX_RATE_ENTRIES = 1024;

export type InstallResult = 'installed' | 'state-root-mismatch' | 'replica-refused';

/** What state transfer needs from the node that owns it. */
export interface StateTransferHost {
  readonly clock: Clock;
  readonly chain: LocalChain;
  /** The base of the back-off (TimerPolicy.stateTransferMs). */
  readonly baseMs: number;
  send(to: PeerId, m: StateRequest | StateReply): void;
  emit(e: ConsensusEvent): void;
  closed(): boolean;
  /** Checks a block against the validators of its height (and `prev`, if given, as its predecessor). */
  verify(block: Block, prev: BlockHeader | undefined): BlockCheck;
  /** Keeps an attestation certificate that came with a verified block, if it verifies. */
  adoptAttestation(header: BlockHeader, certificate: Uint8Array | null): boolean;
  /** Installs a proven checkpoint state (the blocks, verified, come with it). */
  install(
    seq: number,
    digest: Uint8Array,
    blocks: Block[],
    attestations: (Uint8Array | null)[],
    snapshot: NonNullable<StateReply['snapshot']>,
    fromPeer: PeerId | null,
  ): InstallResult;
  /**
   * Executes followed blocks (ascending from tip + 1, decoded; the host checks them). Returns how many it
   * executed and, if it refused one, why.
   */
  applyFollowed(blocks: Block[], attestations: (Uint8Array | null)[], from: PeerId): { applied: number; stop?: StateTransferRejectReason; detail?: string };
  /** Whether following should go on (no replica drives the chain, or it has fallen behind an epoch). */
  wantsToFollow(): boolean;
}

interface Pending {
  readonly rotation: PeerRotation;
  requestId: number;
  peer: PeerId | null;
  cancelTimer: (() => void) | null;
}

interface CheckpointFetch extends Pending {
  readonly kind: 'checkpoint';
  readonly seq: number;
  readonly digest: Uint8Array;
  /** Takes the verified blocks (ending at the proven block) and the snapshot; says whether they did. */
  readonly accept: (blocks: Block[], attestations: (Uint8Array | null)[], snapshot: NonNullable<StateReply['snapshot']>, from: PeerId) => InstallResult;
}

interface HistoryFetch extends Pending {
  readonly kind: 'history';
  /** The lowest block held of the run being extended downwards: the next page must end at its predecessor. */
  below: BlockHeader;
}

interface FollowFetch extends Pending {
  readonly kind: 'follow';
}

export class StateTransfer {
  private checkpoint: CheckpointFetch | null = null;
  /** A certified replica state this node needs to start its replica (joining an epoch), apart from `checkpoint`. */
  private replicaState: CheckpointFetch | null = null;
  private history: HistoryFetch | null = null;
  private following: FollowFetch | null = null;
  /** When each peer was last served, per kind of request ('s' snapshot or 'b' blocks, then the peer id). */
  private readonly served = new Map<string, { since: number; count: number }>();
  private nextRequestId = 1;
  readonly counters = { served: 0, installs: 0, rejected: 0, followedBlocks: 0 };

  constructor(private readonly host: StateTransferHost) {}

  /** The checkpoint being fetched, if any. */
  get fetching(): number | null {
    return this.checkpoint?.seq ?? null;
  }

  get isFollowing(): boolean {
    return this.following !== null;
  }

  stop(): void {
    for (const p of [this.checkpoint, this.replicaState, this.history, this.following]) p?.cancelTimer?.();
    this.checkpoint = this.replicaState = this.history = this.following = null;
  }

  // ---- serving ----------------------------------------------------------------------------------------

  /**
   * Answers a peer's request with the highest contiguous run of blocks ending at min(toHeight, snapshotSeq,
   * our tip), at most a page, and the snapshot if we hold the one asked for. Replies can be large, so a peer
   * is answered only within the limits of `admit` (an honest one has at most one of each kind outstanding at a
   * peer — a replica's checkpoint fetch beside the host following the chain): requests cannot amplify traffic.
   */
  serve(from: PeerId, req: StateRequest): void {
    const chain = this.host.chain;
    const tip = chain.tip.height;
    if (!this.admit(from, req, tip)) {
      this.reject('rate-limited', from);
      return;
    }
    this.counters.served++;
    const top = Math.min(req.toHeight, req.snapshotSeq > 0 ? req.snapshotSeq : req.toHeight, tip);
    const bottom = Math.max(1, req.fromHeight, top - MAX_BLOCKS_PER_REPLY + 1);
    let snapshot: StateReply['snapshot'] = null;
    if (req.snapshotSeq > 0) {
      const s = chain.snapshot(req.snapshotSeq);
      if (s && equalBytes(s.blockHash, req.snapshotDigest)) snapshot = { app: s.app, replicaState: s.replicaState, certificate: s.certificate };
    }
    const held = chain.heldRun(bottom, top);
    if (held.length === Math.max(0, top - bottom + 1)) {
      // All in memory: answer now (the hot case, and what keeps a virtual-clock run deterministic).
      this.reply(from, req.id, tip, held, (h) => chain.attestation(h), snapshot);
      return;
    }
    // Older history: read it from the store, then answer.
    void (async () => {
      const stored = await chain.storedBlocks(bottom, top - held.length);
      const run = [...stored, ...held];
      const contiguous: Block[] = [];
      for (let i = run.length - 1, h = top; i >= 0 && run[i]!.header.height === h; i--, h--) contiguous.push(run[i]!);
      contiguous.reverse();
      const stAtt = contiguous.length ? await chain.storedAttestations(contiguous[0]!.header.height, top) : new Map<number, Uint8Array>();
      if (!this.host.closed()) this.reply(from, req.id, tip, contiguous, (h) => chain.attestation(h) ?? stAtt.get(h), snapshot);
    })().catch(() => this.host.emit({ kind: 'storageError', message: 'reading blocks to serve failed' }));
  }

  /**
   * Whether to answer: a peer gets at most one reply per quarter base timeout for each kind of request (blocks,
   * snapshot), except for a follower keeping up (no snapshot, from our last LIVE_BLOCKS blocks: a small reply),
   * which asks once per block and gets up to LIVE_PER_BASE replies per base timeout.
   */
  private admit(from: PeerId, req: StateRequest, tip: number): boolean {
    const now = this.host.clock.now();
    const live = req.snapshotSeq === 0 && req.fromHeight > tip - LIVE_BLOCKS;
    const key = `${live ? 'l' : req.snapshotSeq > 0 ? 's' : 'b'}${from}`;
    const w = this.served.get(key);
    const windowMs = live ? this.host.baseMs : this.host.baseMs / 4;
    const allowed = live ? LIVE_PER_BASE : 1;
    if (w && now - w.since < windowMs) {
      if (w.count >= allowed) return false;
      w.count++;
      return true;
    }
    this.served.delete(key);
    this.served.set(key, { since: now, count: 1 });
    if (this.served.size > MAX_RATE_ENTRIES) this.served.delete(this.served.keys().next().value!);
    return true;
  }

  private reply(to: PeerId, id: number, tip: number, run: readonly Block[], attestation: (h: number) => Uint8Array | undefined, snapshot: StateReply['snapshot']): void {
    this.host.send(to, {
      type: 'reply',
      id,
      tip,
      blocks: run.map(encodeBlock),
      attestations: run.map((b) => attestation(b.header.height) ?? null),
      snapshot,
    });
  }

  // ---- replies ----------------------------------------------------------------------------------------

  onReply(from: PeerId, reply: StateReply): void {
    for (const p of [this.checkpoint, this.replicaState, this.history, this.following]) {
      if (p && reply.id === p.requestId && from === p.peer) {
        p.cancelTimer?.();
        p.requestId = 0;
        if (p.kind === 'checkpoint') this.onCheckpointReply(from, p, reply);
        else if (p.kind === 'history') this.onHistoryReply(from, p, reply);
        else this.onFollowReply(from, p, reply);
        return;
      }
    }
    this.reject('unsolicited', from);
  }

  private reject(reason: StateTransferRejectReason, from: PeerId, detail?: string): void {
    this.counters.rejected++;
    this.host.emit({ kind: 'stateTransferRejected', reason, from, ...(detail ? { detail } : {}) });
  }

  /** Sends the pending fetch's next request (to the next peer in its rotation) and arms its timeout. */
  private ask(p: Pending, req: Omit<StateRequest, 'type' | 'id'>, retry: () => void): void {
    if (this.host.closed()) return;
    const { peer, timeoutMs } = p.rotation.take();
    p.peer = peer;
    p.requestId = this.nextRequestId++;
    const id = p.requestId;
    this.host.send(peer, { type: 'request', id, ...req });
    p.cancelTimer = this.host.clock.schedule(timeoutMs, () => {
      if (p.requestId === id) retry();
    });
  }

  /** A reply handler's answer to a bad reply: the peer is rejected and the fetch asks again (retryAfterFailure). */
  private failure(from: PeerId, p: Pending, retry: () => void): (reason: StateTransferRejectReason, detail?: string) => void {
    return (reason, detail) => {
      this.reject(reason, from, detail);
      this.retryAfterFailure(p, retry);
    };
  }

  /** After a bad reply: the next peer at once, or after a pause when a round of peers is spent. */
  private retryAfterFailure(p: Pending, retry: () => void): void {
    const wait = p.rotation.pauseAfterFailure();
    if (wait === 0) {
      retry();
      return;
    }
    p.cancelTimer = this.host.clock.schedule(wait, retry);
  }

  // ---- checkpoint: the state the replica proved -------------------------------------------------------

  /** The replica asked for the state at a proven checkpoint (`peers` signed it). */
  fetchCheckpoint(seq: number, digest: Uint8Array, peers: PeerId[], local: (() => boolean) | null): void {
    if (this.checkpoint && this.checkpoint.seq >= seq) return; // already after this or a newer checkpoint
    this.checkpoint?.cancelTimer?.();
    const accept: CheckpointFetch['accept'] = (blocks, attestations, snapshot, from) => this.host.install(seq, digest, blocks, attestations, snapshot, from);
    const f: CheckpointFetch = { kind: 'checkpoint', seq, digest, accept, rotation: new PeerRotation(peers, this.host.baseMs), requestId: 0, peer: null, cancelTimer: null };
    this.checkpoint = f;
    // Installing steps the replica, so it happens after the current step, never inside it.
    f.cancelTimer = this.host.clock.schedule(0, () => {
      if (this.checkpoint !== f) return;
      if (local?.()) return;
      this.askCheckpoint(f);
    });
  }

  /**
   * Fetches the snapshot at checkpoint `seq` (block hash `digest`, a block this node holds) for the replica
   * state a new replica starts from; `accept` checks it (its checkpoint certificate) and says whether it did.
   */
  fetchReplicaState(seq: number, digest: Uint8Array, peers: PeerId[], accept: (snapshot: NonNullable<StateReply['snapshot']>) => boolean): void {
    if (this.replicaState && this.replicaState.seq === seq) return;
    this.replicaState?.cancelTimer?.();
    const f: CheckpointFetch = {
      kind: 'checkpoint',
      seq,
      digest,
      accept: (_blocks, _attestations, snapshot) => (accept(snapshot) ? 'installed' : 'replica-refused'),
      rotation: new PeerRotation(peers, this.host.baseMs),
      requestId: 0,
      peer: null,
      cancelTimer: null,
    };
    this.replicaState = f;
    this.askCheckpoint(f);
  }

  /** Stops fetching a replica state (the switch happened, or another checkpoint will do). */
  cancelReplicaState(): void {
    this.replicaState?.cancelTimer?.();
    this.replicaState = null;
  }

  /** The checkpoint fetch is satisfied some other way (installed from our own store). */
  checkpointDone(seq: number): void {
    if (this.checkpoint && this.checkpoint.seq <= seq) {
      this.checkpoint.cancelTimer?.();
      this.checkpoint = null;
    }
  }

  private askCheckpoint(f: CheckpointFetch): void {
    if ((this.checkpoint !== f && this.replicaState !== f) || f.rotation.peers.length === 0) return;
    // Blocks from our tip up to the target (at least the target itself: its hash is what the snapshot proves).
    const from = Math.min(this.host.chain.tip.height + 1, f.seq);
    this.ask(f, { fromHeight: from, toHeight: f.seq, snapshotSeq: f.seq, snapshotDigest: f.digest }, () => this.askCheckpoint(f));
  }

  private onCheckpointReply(from: PeerId, f: CheckpointFetch, reply: StateReply): void {
    const fail = this.failure(from, f, () => this.askCheckpoint(f));
    const blocks = decodeBlocks(reply);
    if (!blocks) return fail('malformed');
    const target = blocks[blocks.length - 1];
    if (!target || target.header.height !== f.seq || !reply.snapshot) return fail('missing-target');
    if (!equalBytes(blockHash(target.header), f.digest)) return fail('digest-mismatch');
    // Walk down from the proven block: each must be the predecessor of the one above, by hash and height, and
    // carry a valid commit certificate for its own batch.
    for (let i = blocks.length - 1; i >= 0; i--) {
      const b = blocks[i]!;
      const above = blocks[i + 1];
      if (above && (b.header.height !== above.header.height - 1 || !equalBytes(blockHash(b.header), above.header.prevHash))) return fail('chain-broken');
      const check = this.host.verify(b, blocks[i - 1]?.header);
      if (!check.ok) {
        const chainFault = check.reason === 'prev-hash-mismatch' || check.reason === 'height-mismatch';
        return fail(chainFault ? 'chain-broken' : 'block-invalid', `${check.reason} at ${b.header.height}`);
      }
    }
    const result = f.accept(blocks, reply.attestations, reply.snapshot, from);
    if (result !== 'installed') return fail(result);
    if (this.replicaState === f) {
      this.replicaState = null;
      return;
    }
    this.counters.installs++;
    if (this.checkpoint === f) this.checkpoint = null;
    this.fillHistoryBelow(blocks[0]!.header, from);
  }

  // ---- history: the blocks below an installed checkpoint ---------------------------------------------

  /** Whether we hold the block below `h` and it links to `h`. */
  private linksDown(h: BlockHeader): boolean {
    if (h.height <= 1) return true;
    const below = this.host.chain.block(h.height - 1);
    return below !== undefined && equalBytes(blockHash(below.header), h.prevHash);
  }

  fillHistoryBelow(lowest: BlockHeader, lastServer: PeerId | null, peers: readonly PeerId[] = this.peers()): void {
    this.history?.cancelTimer?.();
    this.history = null;
    if (this.linksDown(lowest)) return;
    // The peer that just served us goes last: it rate-limits repeated requests.
    const order = lastServer ? [...peers.filter((p) => p !== lastServer), lastServer] : [...peers];
    if (order.length === 0) return;
    const h: HistoryFetch = { kind: 'history', below: lowest, rotation: new PeerRotation(order, this.host.baseMs), requestId: 0, peer: null, cancelTimer: null };
    this.history = h;
    this.askHistory(h);
  }

  /** Peers to ask for history and blocks to follow (set by the node: the validators it knows, but itself). */
  peers: () => PeerId[] = () => [];

  private askHistory(h: HistoryFetch): void {
    if (this.history !== h) return;
    if (h.rotation.rounds >= GIVE_UP_ROUNDS) {
      this.history = null; // nobody has it now; a later install starts again
      return;
    }
    const top = h.below.height - 1;
    this.ask(h, { fromHeight: Math.max(1, top - MAX_BLOCKS_PER_REPLY + 1), toHeight: top, snapshotSeq: 0, snapshotDigest: new Uint8Array(32) }, () => this.askHistory(h));
  }

  private onHistoryReply(from: PeerId, h: HistoryFetch, reply: StateReply): void {
    const fail = this.failure(from, h, () => this.askHistory(h));
    const blocks = decodeBlocks(reply);
    if (!blocks) return fail('malformed');
    // From the top down, each block must be the one the block above names, and valid in itself.
    let above = h.below;
    const accepted: { block: Block; attestation: Uint8Array | null }[] = [];
    for (let i = blocks.length - 1; i >= 0; i--) {
      const blk = blocks[i]!;
      if (blk.header.height !== above.height - 1 || !equalBytes(blockHash(blk.header), above.prevHash)) break;
      const check = this.host.verify(blk, undefined);
      if (!check.ok) break;
      accepted.push({ block: blk, attestation: reply.attestations[i] ?? null });
      above = blk.header;
    }
    if (accepted.length === 0) return fail(blocks.length ? 'chain-broken' : 'missing-target');
    for (const { block, attestation } of accepted) {
      this.host.chain.addHistory(block);
      this.host.adoptAttestation(block.header, attestation);
    }
    h.below = above;
    h.rotation.succeeded();
    if (this.linksDown(above)) {
      this.history = null;
      this.host.emit({ kind: 'historyFilled', down: above.height });
      return;
    }
    this.askHistory(h);
  }

  // ---- follow: blocks above our tip, executed here ---------------------------------------------------

  /** Starts (or keeps) fetching blocks above the tip from `peers` (a hint: who showed us a later height). */
  follow(peers: readonly PeerId[]): void {
    if (this.following || !this.host.wantsToFollow()) return;
    const order = [...new Set([...peers, ...this.peers()])];
    if (order.length === 0) return;
    const f: FollowFetch = { kind: 'follow', rotation: new PeerRotation(order, this.host.baseMs), requestId: 0, peer: null, cancelTimer: null };
    this.following = f;
    this.askFollow(f);
  }

  private askFollow(f: FollowFetch): void {
    if (this.following !== f) return;
    if (!this.host.wantsToFollow() || f.rotation.rounds >= GIVE_UP_ROUNDS) {
      this.following = null;
      return;
    }
    const from = this.host.chain.tip.height + 1;
    this.ask(f, { fromHeight: from, toHeight: from + MAX_BLOCKS_PER_REPLY - 1, snapshotSeq: 0, snapshotDigest: new Uint8Array(32) }, () => this.askFollow(f));
  }

  private onFollowReply(from: PeerId, f: FollowFetch, reply: StateReply): void {
    const fail = this.failure(from, f, () => this.askFollow(f));
    const blocks = decodeBlocks(reply);
    if (!blocks) return fail('malformed');
    const tip = this.host.chain.tip.height;
    if (blocks.length === 0 || blocks[0]!.header.height !== tip + 1) {
      // Nothing new from this peer: caught up with it (or it lacks the blocks just above our tip).
      if (reply.tip <= tip) {
        this.following = null;
        return;
      }
      return fail('missing-target', `from ${tip + 1}`);
    }
    const { applied, stop, detail } = this.host.applyFollowed(blocks, reply.attestations, from);
    this.counters.followedBlocks += applied;
    if (stop) return fail(stop, detail);
    if (applied === 0) {
      // Nothing this peer sent is attested yet (or we must wait, e.g. for an epoch switch): ask again later.
      this.retryAfterFailure(f, () => this.askFollow(f));
      return;
    }
    f.rotation.succeeded();
    if (this.host.chain.tip.height >= reply.tip) {
      this.following = null;
      return;
    }
    this.askFollow(f);
  }
}

/** A reply's blocks, decoded; null when any of them does not decode. */
function decodeBlocks(reply: StateReply): Block[] | null {
  try {
    return reply.blocks.map((b) => decodeBlock(b));
  } catch {
    return null;
  }
}
