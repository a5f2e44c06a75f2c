// The consensus host: drives one sans-IO PBFT replica per epoch with a Transport (peer messages), a Clock (its
// two timers), a LedgerApp (executes committed batches), and a LedgerStore (blocks, attestations, snapshots).
// The same code runs in Node and the browser, under the simulator's virtual clock or the system clock.
//
// Everything on the hot path is synchronous (so a virtual-clock run is deterministic, and the page never waits
// on storage); writes go behind, in order. The state digest the host hands the replica for seq is the hash of
// block seq, so a checkpoint certificate certifies the whole chain up to it, and state transfer verifies blocks
// and snapshots against it.
//
// The app may be ahead of the replica: a restarted node replays its stored blocks (each verified) before its
// replica, started at its last stable checkpoint, has caught up; then each `execute` at or below the app's
// height is a confirmation, checked against the block already executed, and never applied twice.
//
// Epochs (ledger/epoch.ts): after every block that is a multiple of K the host reads the app's validator
// schedule; when it puts a new set in force at block E, the host keeps the old replica until its checkpoint at
// E is stable (its replica state is what the new replica starts from, the same at every node), then disposes
// it and creates the new epoch's replica at E. PBFT frames carry the epoch number; a node that is no validator
// of the current epoch follows the chain (blocks fetched and executed here, anchored on attested blocks)
// without voting, and a newly admitted validator joins with a certified replica state.
//
// This file composes the parts: the replica loop, its timers and the transport stay here; epoch switching is
// epoch-switch.ts, when to follow the chain (catching up, probing a peer that connects) is catch-up.ts, how to
// fetch and verify blocks and states is state-transfer.ts, attestations are attestations.ts; every wait they
// make is a step of one back-off policy (backoff.ts).

import { ed25519Verify, sha256, type ReplicaAction, type ReplicaEvent, type TimerKind } from '../../../../wasm/index.ts';
import {
  EpochHistory,
  blockHash,
  buildBlock,
  certifyingBlock,
  checkpointReplicaDigest,
  genesisEpoch,
  genesisHash,
  quorumSize,
  verifyAttestation,
  verifyBlock,
  verifyCheckpointCertificate,
  type Block,
  type BlockCheck,
  type BlockHeader,
  type CertificateVerifier,
  type Epoch,
  type LedgerApp,
  type LedgerStore,
  type SignatureVerifier,
  type StoredSnapshot,
} from '../ledger/index.ts';
import { CHANNEL_ATTEST, CHANNEL_PBFT, CHANNEL_STATE, onChannel, type PeerId, type Transport } from '../net/index.ts';
import { equalBytes, toHex } from '../util/index.ts';
import { applyBatch, clientPayload } from './apply.ts';
import { LocalChain } from './chain.ts';
import { AttestationPool, type AttestationRejectReason } from './attestations.ts';
import { NextEpochFrames } from './epoch-frames.ts';
import { HeldFrames } from './held-frames.ts';
import { decodePbftPayload, decodeStateMessage, encodeStateMessage, pbftFrame, type StateReply } from './frames.ts';
import { resumeFromStore } from './resume.ts';
import { Backoff } from './backoff.ts';
import { CatchUp } from './catch-up.ts';
import { EpochSwitch, type ReplicaSource } from './epoch-switch.ts';
import { StateTransfer, type InstallResult } from './state-transfer.ts';
import {
  DEFAULT_TIMERS,
  type Clock,
  type ConsensusEvent,
  type CreateReplica,
  type PayloadOf,
  type ReplicaLike,
  type ReplicaStart,
  type StateTransferRejectReason,
  type TimerPolicy,
} from './types.ts';

export interface ConsensusNodeOptions {
  /** The genesis validators' public keys, in order (epoch 0). */
  readonly validators: Uint8Array[];
  /** This node's public key (its validator key when it is one). */
  readonly key: Uint8Array;
  /** Makes the replica of an epoch in which this node is a validator (and again after a restart). */
  readonly createReplica: CreateReplica;
  readonly transport: Transport;
  readonly clock: Clock;
  readonly app: LedgerApp;
  readonly store: LedgerStore;
  /** K, as the replicas are configured: the host snapshots the app at every multiple of it. */
  readonly checkpointInterval: number;
  readonly timers?: Partial<TimerPolicy>;
  /** Overrides the PeerId of the validator at an index of the current epoch (the simulator's Twins); default: hex of its key. */
  readonly peerOf?: (index: number) => PeerId;
  readonly payloadOf?: PayloadOf;
  readonly verifyCertificate?: CertificateVerifier;
  /**
   * Trust scores (one integer per validator) derived from the committed state after block `seq`, if they
   * changed: handed to the replica with `executed`, they decide leader order from the next stable checkpoint
   * on (never quorums). Must be deterministic in the committed state, like the app itself.
   */
  readonly trustAfter?: (seq: number) => number[] | undefined;
  /** Blocks kept in memory (default 4096) to serve state transfer without touching storage. */
  readonly retainBlocks?: number;
  /** Snapshots kept (default 2). */
  readonly retainSnapshots?: number;
  /**
   * Signs with this node's key (Ed25519): its block attestations when it is a validator of the block's epoch.
   * Without it the node gathers attestations but never attests.
   */
  readonly signAttestation?: (message: Uint8Array) => Uint8Array;
  /** Checks an Ed25519 signature (attestations); default the wasm core's. */
  readonly verifySignature?: SignatureVerifier;
  readonly onEvent?: (e: ConsensusEvent) => void;
}

export class ConsensusNode {
  readonly key: Uint8Array;
  readonly genesisValidators: Uint8Array[];
  readonly epochs: EpochHistory;
  private readonly createReplica: CreateReplica;
  private readonly transport: Transport;
  private readonly clock: Clock;
  private readonly app: LedgerApp;
  private readonly K: number;
  private readonly timers: TimerPolicy;
  private readonly peerOfIndex: ((index: number) => PeerId) | undefined;
  private readonly payloadOf: PayloadOf;
  private readonly verifyCertificate: CertificateVerifier | undefined;
  private readonly verifySignature: SignatureVerifier;
  private readonly trustAfter: ((seq: number) => number[] | undefined) | undefined;
  private readonly onEvent: (e: ConsensusEvent) => void;
  private readonly genesis: Uint8Array;
  private readonly chain: LocalChain;
  private readonly sync: StateTransfer;
  private readonly attestations: AttestationPool;
  /** The view-change back-off (its timer, and the catch-up and epoch-switch waits). */
  private readonly backoff: Backoff;
  private readonly catchUp: CatchUp;
  private readonly switches: EpochSwitch;
  private replica: ReplicaLike | null = null;
  /** The epoch whose replica runs here, or that this node follows without one. */
  private running: Epoch;
  private readonly nextFrames = new NextEpochFrames(64, 1024);
  /** Replica frames for validators this node has had no link to yet, until the first link comes. */
  private readonly held: HeldFrames;
  /** Peer ids of the running epoch's validators, by index, and back. */
  private peers: PeerId[] = [];
  private readonly indexOfPeer = new Map<PeerId, number>();
  /** App snapshots taken at checkpoint seqs, waiting for the checkpoint to become stable. */
  private readonly candidates = new Map<number, { app: Uint8Array; blockHash: Uint8Array }>();
  /** Trust scores computed while replaying, handed to the replica when it confirms those seqs. */
  private readonly replayedTrust = new Map<number, number[] | undefined>();
  private readonly timerCancels = new Map<TimerKind, () => void>();
  private readonly inbox: ReplicaEvent[] = [];
  private stepping = false;
  private closed = false;
  private halted: string | null = null;
  private unsubscribe: (() => void) | null = null;
  /** For tests and metrics. */
  readonly counters = {
    executed: 0,
    confirmed: 0,
    replayed: 0,
    followed: 0,
    messagesIn: 0,
    messagesOut: 0,
    rejected: 0,
    stateTransfers: 0,
    epochSwitches: 0,
    /** Old-epoch executes above the epoch's last block, ignored (their clients resubmit). */
    ignoredAfterEpoch: 0,
    /** PBFT frames of an epoch other than the running one (or the next), dropped unread. */
    otherEpochFrames: 0,
  };

  constructor(opts: ConsensusNodeOptions) {
    this.genesisValidators = opts.validators.map((k) => k.slice());
    this.key = opts.key.slice();
    this.createReplica = opts.createReplica;
    this.transport = opts.transport;
    this.clock = opts.clock;
    this.app = opts.app;
    this.K = opts.checkpointInterval;
    this.timers = { ...DEFAULT_TIMERS, ...opts.timers };
    this.peerOfIndex = opts.peerOf;
    this.payloadOf = opts.payloadOf ?? clientPayload;
    this.verifyCertificate = opts.verifyCertificate;
    this.verifySignature = opts.verifySignature ?? ed25519Verify;
    this.trustAfter = opts.trustAfter;
    this.onEvent = opts.onEvent ?? (() => {});
    this.genesis = genesisHash(this.genesisValidators);
    this.epochs = new EpochHistory(genesisEpoch(this.genesisValidators, this.genesis), this.K, this.genesis);
    this.running = this.epochs.current;
    this.backoff = new Backoff(this.timers.viewChangeBaseMs, this.timers.viewChangeMaxMs);
    this.held = new HeldFrames({ now: () => this.clock.now() });
    this.catchUp = new CatchUp({
      clock: this.clock,
      backoff: this.backoff,
      follow: (peers) => this.sync.follow(peers),
      tipHeight: () => this.chain.tip.height,
      votesForNext: () => {
        const next = this.chain.tip.height + 1;
        return this.attestations.votersAt(next) >= quorumSize(this.epochs.epochOf(next).validators.length);
      },
      hasReplica: () => this.replica !== null,
      stopped: () => this.closed || this.halted !== null,
    });
    this.switches = new EpochSwitch({
      clock: this.clock,
      backoff: this.backoff,
      epochs: this.epochs,
      K: this.K,
      hasSchedule: () => this.app.validatorSchedule !== undefined,
      schedule: () => this.app.validatorSchedule!(),
      hasReplica: () => this.replica !== null,
      stepping: () => this.stepping,
      closed: () => this.closed,
      rejoinIfNeeded: () => {
        if (this.replica === null && EpochHistory.indexOf(this.running, this.key) >= 0) this.join();
      },
      switchTo: (epoch, source) => {
        this.counters.epochSwitches++;
        this.enterEpoch(epoch, source);
        this.onEvent({ kind: 'epochChanged', epoch: epoch.number, since: epoch.since, validators: epoch.validators.length, validator: EpochHistory.indexOf(epoch, this.key) >= 0 });
      },
      halt: (reason) => this.halt(reason),
    });
    this.chain = new LocalChain(opts.store, this.genesis, opts.retainBlocks ?? 4096, opts.retainSnapshots ?? 2, (message) => this.onEvent({ kind: 'storageError', message }));
    this.sync = new StateTransfer({
      clock: this.clock,
      chain: this.chain,
      baseMs: this.timers.stateTransferMs,
      send: (to, m) => this.transport.send(to, onChannel(CHANNEL_STATE, encodeStateMessage(m))),
      emit: (e) => this.onEvent(e),
      closed: () => this.closed,
      verify: (b, prev) => this.verify(b, prev),
      install: (seq, digest, blocks, attestations, snapshot, from) => this.install(seq, digest, blocks, attestations, snapshot, from),
      adoptAttestation: (header, certificate) => this.attestations.adopt(header, certificate),
      applyFollowed: (blocks, attestations) => this.applyFollowed(blocks, attestations),
      wantsToFollow: () => this.catchUp.wantsToFollow(),
    });
    this.sync.peers = () => this.peers.filter((p) => p !== this.transport.self);
    this.attestations = new AttestationPool(
      {
        tipHeight: () => this.chain.tip.height,
        header: (h) => (h === this.chain.tip.height ? (this.chain.tip.header ?? undefined) : this.chain.block(h)?.header),
        hashAt: (h) => this.chain.hashAt(h),
        epochOf: (h) => this.epochs.epochOf(h),
        currentEpoch: () => this.epochs.current,
        peerOf: (epoch, i) => this.peerIdOf(epoch, i),
        selfIndex: (epoch) => EpochHistory.indexOf(epoch, this.key),
        broadcast: (bytes) => this.transport.broadcast(onChannel(CHANNEL_ATTEST, bytes)),
        send: (to, bytes) => this.transport.send(to, onChannel(CHANNEL_ATTEST, bytes)),
        store: (h, cert) => this.chain.putAttestation(h, cert),
        emit: (e) => this.onEvent(e),
        behind: (from, height) => this.catchUp.peerAhead(from, height),
      },
      {
        ...(opts.signAttestation ? { sign: opts.signAttestation } : {}),
        verify: this.verifySignature,
        ahead: Math.max(2 * this.K, 64),
        behind: Math.max(2 * this.K, 64),
      },
    );
  }

  /**
   * Resumes from the store (the latest snapshot, then every stored block above it, each verified and executed),
   * starts the replica of the current epoch if this node is one of its validators, and starts listening.
   */
  async start(): Promise<void> {
    const resumed = await resumeFromStore({
      store: this.chain.store,
      chain: this.chain,
      app: this.app,
      K: this.K,
      epochs: this.epochs,
      payloadOf: this.payloadOf,
      verify: (b, prev) => this.verify(b, prev),
      trustAfter: this.trustAfter,
    });
    for (const [seq, c] of resumed.candidates) this.candidates.set(seq, c);
    for (const [seq, t] of resumed.trust) this.replayedTrust.set(seq, t);
    this.counters.replayed = resumed.replayed;
    for (const e of resumed.events) this.onEvent(e);
    // Where the replica of the current epoch starts: the restored checkpoint if it is of this epoch, or the
    // epoch's first checkpoint if this node stored its snapshot (it switched there before it stopped).
    const epoch = this.epochs.current;
    let source: ReplicaSource = null;
    const cp = resumed.checkpoint;
    if (cp && cp.seq >= epoch.since) source = cp;
    else if (epoch.since > 0) source = (await this.chain.store.getSnapshot(epoch.since)) ?? null;
    if (epoch.since > 0 && !this.chain.hashAt(epoch.since)) {
      const b = await this.chain.store.getBlock(epoch.since);
      if (b) this.chain.hold(b);
    }
    const offMessages = this.transport.onMessage((from, bytes) => this.onFrame(from, bytes));
    for (const p of this.transport.peers()) this.held.linked(p);
    const offPeers = this.transport.onPeer((peer, state) => {
      if (state !== 'connected') return;
      for (const frame of this.held.linked(peer)) this.transport.send(peer, frame);
      this.catchUp.probe(peer);
    });
    this.unsubscribe = () => {
      offMessages();
      offPeers();
    };
    this.enterEpoch(epoch, source);
    // Attest again the recent blocks this node executed but holds no certificate for (it may have stopped
    // before the quorum formed): peers that certified them answer with the certificate.
    const tip = this.chain.tip.height;
    for (let h = Math.max(1, tip - 2 * this.K + 1); h <= tip; h++) {
      const hash = this.chain.hashAt(h);
      if (hash && !this.chain.attestation(h)) this.attestations.onExecuted(h, hash, true);
    }
    if (!this.replica) this.sync.follow([]);
  }

  /** A client's signed request (submit it to every validator: backups then watch the primary). */
  submit(request: Uint8Array): void {
    this.drive({ kind: 'request', bytes: request, now: this.clock.now() });
  }

  get height(): number {
    return this.chain.tip.height;
  }
  get tipHash(): Uint8Array {
    return this.chain.tip.hash;
  }
  get view(): number {
    return this.replica?.view ?? 0;
  }
  get primary(): number {
    return this.replica?.primary ?? -1;
  }
  /** The epoch this node is in (its validators certify the blocks after its `since`). */
  get epoch(): Epoch {
    return this.epochs.current;
  }
  /** Whether this node votes (runs a replica) now. */
  get isValidator(): boolean {
    return this.replica !== null;
  }
  /**
   * Whether its replica takes part in the view the others run: not changing views (perhaps alone, in a view no
   * quorum joins) and not behind them. A client request handed only to a replica that is not live waits for
   * the client's re-send timeout.
   */
  get isLive(): boolean {
    return this.replica !== null && this.replica.changingView !== true && !this.catchUp.wantsToFollow();
  }
  /** Why the node stopped executing, if it did (it never forks silently). */
  get haltedReason(): string | null {
    return this.halted;
  }
  block(height: number): Block | undefined {
    return this.chain.block(height);
  }
  /** The attestation certificate of block `height`, if this node holds it in memory. */
  attestation(height: number): Uint8Array | undefined {
    return this.chain.attestation(height);
  }
  /**
   * Blocks [from, to] with their attestation certificates, from memory or the store (what a node serves a
   * light client or the relay): the contiguous run ending at `to` that this node holds.
   */
  async history(from: number, to: number): Promise<{ block: Block; attestation: Uint8Array | null }[]> {
    const top = Math.min(to, this.chain.tip.height);
    if (top < from) return [];
    const held = this.chain.heldRun(from, top);
    const stored = held.length === top - from + 1 ? [] : await this.chain.storedBlocks(from, top - held.length);
    const run = [...stored, ...held];
    const attested = await this.chain.storedAttestations(from, top);
    return run.map((block) => ({ block, attestation: this.chain.attestation(block.header.height) ?? attested.get(block.header.height) ?? null }));
  }
  /** Attestations refused so far, by reason (for the security layer). */
  attestationRejections(): Partial<Record<AttestationRejectReason, number>> {
    return this.attestations.rejections();
  }
  /** The newest stable checkpoint this node holds (snapshot, replica state and checkpoint certificate). */
  latestCheckpoint(): StoredSnapshot | undefined {
    return this.chain.latestSnapshot();
  }
  /** Resolves when every storage write issued so far has finished. */
  flushed(): Promise<void> {
    return this.chain.flushed();
  }

  /** Stops: timers cancelled, transport unsubscribed, replica disposed. Does not close the transport. */
  async stop(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.cancelTimers();
    this.switches.stop();
    this.sync.stop();
    this.unsubscribe?.();
    this.held.clear();
    await this.chain.flushed();
    this.replica?.dispose();
    this.replica = null;
  }

  // ---- epochs -----------------------------------------------------------------------------------------

  /**
   * Makes `epoch` the running one: its peers, and, if this node is one of its validators, its replica, started
   * from `source` (a certified checkpoint at or above the epoch's start; at genesis none is needed). A
   * validator without a source fetches one from its peers and follows the chain meanwhile.
   */
  private enterEpoch(epoch: Epoch, source: ReplicaSource): void {
    this.cancelTimers();
    this.replica?.dispose();
    this.replica = null;
    this.running = epoch;
    this.peers = epoch.validators.map((_, i) => this.peerIdOf(epoch, i));
    this.indexOfPeer.clear();
    this.peers.forEach((p, i) => this.indexOfPeer.set(p, i));
    this.catchUp.enteredEpoch();
    const self = EpochHistory.indexOf(epoch, this.key);
    if (self < 0) return;
    if (!source && epoch.since > 0) {
      this.join();
      return;
    }
    const startDigest = epoch.since === 0 ? new Uint8Array(32) : this.chain.hashAt(epoch.since);
    if (!startDigest) {
      this.join();
      return;
    }
    const start: ReplicaStart = {
      epoch,
      self,
      startDigest,
      ...(source && source.seq === epoch.since ? { replicaState: source.replicaState } : {}),
      ...(source && source.seq > epoch.since
        ? { resumeFrom: { seq: source.seq, stateDigest: this.chain.hashAt(source.seq)!, replicaState: source.replicaState, certificate: source.certificate } }
        : {}),
    };
    try {
      this.replica = this.createReplica(start);
    } catch {
      // The replica refused the start (a stored checkpoint it cannot prove): get a certified one from peers.
      this.replica = null;
      this.join();
      return;
    }
    this.sync.cancelReplicaState();
    this.onEvent({ kind: 'replicaStarted', epoch: epoch.number, seq: start.resumeFrom?.seq ?? epoch.since });
    for (const f of this.nextFrames.take(epoch.number)) this.onPbft(f.from, epoch.number, f.message);
  }

  /**
   * A validator of the running epoch without a replica (admitted at its start, or its replica state lost):
   * fetch a certified replica state at the newest checkpoint this node has executed in the epoch, and keep
   * following the chain meanwhile; the replica starts when one verifies.
   */
  private join(): void {
    const epoch = this.running;
    const tip = this.chain.tip.height;
    const seq = Math.max(epoch.since, Math.floor(tip / this.K) * this.K);
    const digest = this.chain.hashAt(seq);
    if (!digest) return;
    // The checkpoint at the epoch's start was certified by the previous epoch's validators; later ones by its own.
    const certifiers = seq === epoch.since ? this.epochs.epochOf(seq) : epoch;
    const peers = [...new Set([...this.peers, ...certifiers.validators.map((_, i) => this.peerIdOf(certifiers, i))])].filter((p) => p !== this.transport.self);
    this.sync.fetchReplicaState(seq, digest, peers, (snapshot) => {
      const check = verifyCheckpointCertificate(snapshot.certificate, certifiers.validators, seq, digest, this.verifySignature, certifiers.id);
      const rd = checkpointReplicaDigest(snapshot.certificate);
      if (!check.ok || !rd || !equalBytes(rd, sha256(snapshot.replicaState))) return false;
      if (this.running !== epoch || this.replica) return true;
      this.enterEpoch(epoch, { seq, replicaState: snapshot.replicaState, certificate: snapshot.certificate });
      return true;
    });
    this.sync.follow([]);
  }

  /** After block `height` (executed, replayed, followed or installed): a new epoch in force from here? */
  private afterBlock(height: number): void {
    this.switches.afterBlock(height);
  }

  /** The PeerId of validator `index` of `epoch` (the simulator's Twins wire the genesis indices differently). */
  private peerIdOf(epoch: Epoch, index: number): PeerId {
    return (epoch.number === 0 ? this.peerOfIndex?.(index) : undefined) ?? toHex(epoch.validators[index]!);
  }

  /** Checks a block against the validators of its height (and `prev` as its predecessor, if given). */
  private verify(block: Block, prev: BlockHeader | undefined): BlockCheck {
    const epoch = this.epochs.epochOf(block.header.height);
    return verifyBlock(block, epoch.validators, {
      epochId: epoch.id,
      genesisHash: this.genesis,
      ...(prev ? { prev } : {}),
      ...(this.verifyCertificate ? { verifyCertificate: this.verifyCertificate } : {}),
    });
  }

  // ---- the replica loop -------------------------------------------------------------------------------

  private drive(event: ReplicaEvent): void {
    if (this.closed || this.halted || !this.replica) return;
    this.inbox.push(event);
    if (this.stepping) return; // re-entrant input (e.g. an `executed` produced while handling actions)
    this.stepping = true;
    try {
      for (let ev = this.inbox.shift(); ev; ev = this.inbox.shift()) {
        const replica = this.replica;
        if (!replica || this.halted) break;
        for (const a of replica.step(ev)) this.act(a);
      }
    } finally {
      this.inbox.length = 0;
      this.stepping = false;
    }
    this.switches.afterStep();
  }

  private act(a: ReplicaAction): void {
    switch (a.kind) {
      case 'send':
        if (a.to >= 0 && a.to < this.peers.length && this.peers[a.to] !== this.transport.self) this.sendPbft(this.peers[a.to]!, a.bytes);
        break;
      case 'broadcast':
        for (const p of this.peers) if (p !== this.transport.self) this.sendPbft(p, a.bytes);
        break;
      case 'setTimer':
        this.setTimer(a.timer, a.attempt);
        break;
      case 'cancelTimer':
        this.timerCancels.get(a.timer)?.();
        this.timerCancels.delete(a.timer);
        break;
      case 'execute':
        this.execute(a);
        break;
      case 'checkpointStable':
        this.checkpointStable(a.seq, a.stateDigest, a.replicaState, a.certificate);
        break;
      case 'viewChanged':
        this.onEvent({ kind: 'viewChanged', view: a.view, primary: a.primary });
        break;
      case 'fetchState':
        this.fetchState(a.seq, a.stateDigest, a.peers);
        break;
      case 'rejected':
        this.counters.rejected++;
        this.onEvent({ kind: 'rejected', reason: a.reason, from: a.from });
        break;
    }
  }

  private sendPbft(to: PeerId, bytes: Uint8Array): void {
    this.counters.messagesOut++;
    const frame = pbftFrame(this.running.number, bytes);
    if (!this.held.hold(to, frame)) this.transport.send(to, frame);
  }

  private setTimer(timer: TimerKind, attempt: number): void {
    this.timerCancels.get(timer)?.();
    const delay = timer === 'batch' ? this.timers.batchMs : this.backoff.delay(attempt);
    const fire = (): void => {
      if (this.timerCancels.get(timer) !== cancel || this.closed) return;
      this.timerCancels.delete(timer);
      this.drive({ kind: 'timer', timer, now: this.clock.now() });
    };
    const cancel = this.clock.schedule(delay, () => {
      // The timer says the others did not order a request in time. On a starved page the messages that
      // ordered it may be queued behind it: let them run first, or this replica suspects a primary that did
      // its job (harmless alone, but two such suspicions change the view for nothing).
      if (timer === 'viewChange' && this.clock.afterQueued) this.clock.afterQueued(fire);
      else fire();
    });
    this.timerCancels.set(timer, cancel);
  }

  private cancelTimers(): void {
    for (const c of this.timerCancels.values()) c();
    this.timerCancels.clear();
  }

  private execute(a: Extract<ReplicaAction, { kind: 'execute' }>): void {
    if (this.switches.beyondEpoch(a.seq)) {
      // The old epoch ended at E: what its replica executes above E is no block (its clients resubmit).
      this.counters.ignoredAfterEpoch++;
      return;
    }
    const tip = this.chain.tip;
    if (a.seq <= tip.height) {
      this.confirm(a);
      return;
    }
    if (a.seq !== tip.height + 1) {
      // The replica executes in order from the state the host holds; anything else is a bug to surface.
      this.onEvent({ kind: 'outOfOrder', seq: a.seq, height: tip.height });
    }
    // The block carries the whole certified batch (what the commit certificate signs, so anyone can check
    // it); the app applies the requests the replica executed (the batch without stale duplicates).
    const results = applyBatch(this.app, a.batch, a.skipped, a.seq, a.time, this.payloadOf);
    const block = buildBlock({
      height: a.seq,
      time: a.time,
      batchTime: a.batchTime,
      prevHash: tip.hash,
      txs: a.batch,
      skipped: a.skipped,
      stateRoot: this.app.stateRoot(),
      certificate: a.certificate,
      batchDigest: a.batchDigest,
    });
    const hash = blockHash(block.header);
    this.chain.append(block, hash);
    if (a.seq % this.K === 0) this.candidates.set(a.seq, { app: this.app.snapshot(), blockHash: hash });
    this.counters.executed++;
    this.catchUp.replicaLive();
    this.onEvent({ kind: 'committed', block, hash, results });
    // Attesting the block (a signature, a message to each peer, checking the votes that waited for it) is a
    // task of its own: the commit reaches the app's listeners and the screen without waiting for it, and no
    // task on a tablet's page grows by it.
    this.clock.schedule(0, () => {
      if (!this.closed && !this.halted) this.attestations.onExecuted(a.seq, hash, true);
    });
    this.afterBlock(a.seq);
    const trust = this.trustFor(a.seq);
    this.drive({ kind: 'executed', seq: a.seq, stateDigest: hash, ...(trust ? { trust } : {}) });
  }

  /**
   * The trust scores after `seq`, when they fit the replica that executed it: around an epoch switch the app
   * may already score the next epoch's validators while this epoch's replica still executes, and a vector of
   * another length would be refused.
   */
  private trustFor(seq: number): number[] | undefined {
    const trust = this.trustAfter?.(seq);
    return trust && trust.length === this.running.validators.length ? trust : undefined;
  }

  /**
   * The replica executed a seq the app already holds (replayed from the store, followed, or installed): the
   * batch must be the one in our block. A different one means two commit certificates for one seq: never
   * fork silently.
   */
  private confirm(a: Extract<ReplicaAction, { kind: 'execute' }>): void {
    const held = this.chain.block(a.seq);
    const same =
      held !== undefined &&
      equalBytes(held.header.batchDigest, a.batchDigest) &&
      held.header.skipped.length === a.skipped.length &&
      held.header.skipped.every((k, i) => k === a.skipped[i]);
    if (!same) {
      this.halt(`the replica executed another batch at ${a.seq} than the block this node holds`);
      return;
    }
    this.counters.confirmed++;
    const replayed = this.replayedTrust.get(a.seq);
    const trust = replayed && replayed.length === this.running.validators.length ? replayed : undefined;
    this.replayedTrust.delete(a.seq);
    this.drive({ kind: 'executed', seq: a.seq, stateDigest: blockHash(held.header), ...(trust ? { trust } : {}) });
  }

  private halt(reason: string): void {
    if (this.halted) return;
    this.halted = reason;
    this.onEvent({ kind: 'halted', reason });
  }

  private checkpointStable(seq: number, digest: Uint8Array, replicaState: Uint8Array, certificate: Uint8Array): void {
    const c = this.candidates.get(seq);
    for (const k of [...this.candidates.keys()]) if (k <= seq) this.candidates.delete(k);
    for (const k of [...this.replayedTrust.keys()]) if (k <= seq) this.replayedTrust.delete(k);
    if (c && equalBytes(c.blockHash, digest)) this.chain.keepSnapshot({ seq, blockHash: digest, app: c.app, replicaState, certificate });
    this.onEvent({ kind: 'checkpointStable', seq });
    this.switches.checkpointStable(seq, digest, replicaState, certificate, this.chain.hashAt(seq));
  }

  // ---- the transport ----------------------------------------------------------------------------------

  private onFrame(from: PeerId, bytes: Uint8Array): void {
    if (this.closed || bytes.length === 0) return;
    const channel = bytes[0];
    if (channel === CHANNEL_ATTEST) {
      // Any peer may send one; the pool accepts it only from the validator it names.
      this.attestations.onMessage(from, bytes.subarray(1));
      return;
    }
    if (channel === CHANNEL_PBFT) {
      const frame = decodePbftPayload(bytes.subarray(1));
      if (!frame) {
        this.onEvent({ kind: 'rejected', reason: 'malformed', from: this.indexOfPeer.get(from) ?? -1 });
        return;
      }
      this.onPbft(from, frame.epoch, frame.message);
      return;
    }
    if (channel !== CHANNEL_STATE) return; // another subsystem's frame
    let m;
    try {
      m = decodeStateMessage(bytes.subarray(1));
    } catch {
      this.onEvent({ kind: 'stateTransferRejected', reason: 'malformed', from });
      return;
    }
    // Any member may ask for blocks (followers too; the transport admits only members), paced per peer.
    if (m.type === 'request') this.sync.serve(from, m);
    else this.sync.onReply(from, m);
  }

  /** A PBFT message of epoch `epoch`: to the running replica, held for the next epoch, or dropped. */
  private onPbft(from: PeerId, epoch: number, message: Uint8Array): void {
    const running = this.running.number;
    if (epoch === running && this.replica) {
      const index = this.indexOfPeer.get(from);
      if (index === undefined) {
        this.onEvent({ kind: 'rejected', reason: 'badSender', from: -1 });
        return;
      }
      this.counters.messagesIn++;
      // The transport authenticated the sender: the replica trusts `from` for normal-case votes.
      this.drive({ kind: 'message', bytes: message, now: this.clock.now(), from: index });
      return;
    }
    if (epoch > running) {
      // The next epoch's traffic: held (bounded) for the replica this node is about to create. Unless it has
      // executed the epoch's first checkpoint already (and only waits for it to become stable), a later
      // epoch's traffic means this node is behind an epoch change: it follows the chain up to it.
      const held = epoch === running + 1 && this.nextFrames.hold(epoch, from, message);
      if (!this.switches.waiting) this.catchUp.laterEpochSeen(from);
      if (held) return;
    }
    this.counters.otherEpochFrames++;
  }

  // ---- state transfer ---------------------------------------------------------------------------------

  private fetchState(seq: number, digest: Uint8Array, peerIndexes: number[]): void {
    const peers = peerIndexes
      .filter((i) => i >= 0 && i < this.peers.length)
      .map((i) => this.peers[i]!)
      .filter((p) => p !== this.transport.self);
    // Our own store may already hold the proven state (a restart): install it without the network.
    const local = (): boolean => {
      const s = this.chain.snapshot(seq);
      const held = this.chain.hashAt(seq);
      if (!s || !held || !equalBytes(s.blockHash, digest) || !equalBytes(held, digest)) return false;
      const block = this.chain.block(seq);
      if (!block) return false;
      const done = this.install(seq, digest, [block], [null], { app: s.app, replicaState: s.replicaState, certificate: s.certificate }, null) === 'installed';
      if (done) this.sync.checkpointDone(seq);
      return done;
    };
    this.sync.fetchCheckpoint(seq, digest, peers.length ? peers : this.sync.peers(), local);
  }

  /**
   * Installs a verified state: `blocks` end at the proven block `seq` (hash `digest`). If the app already holds
   * that very block (it executed or replayed past it), only the replica moves; otherwise the snapshot replaces
   * the app's state, but only if it produces the block's state root and the replica accepts the replica state
   * that came with it (it checks it against the checkpoint's proof). Nothing changes when either fails.
   */
  private install(
    seq: number,
    digest: Uint8Array,
    blocks: Block[],
    attestations: readonly (Uint8Array | null)[],
    snapshot: NonNullable<StateReply['snapshot']>,
    fromPeer: PeerId | null,
  ): InstallResult {
    const target = blocks[blocks.length - 1]!;
    const held = this.chain.hashAt(seq);
    const appAlreadyThere = seq <= this.chain.tip.height && held !== undefined && equalBytes(held, digest);
    const before = appAlreadyThere ? null : this.app.snapshot();
    if (before) {
      try {
        this.app.restore(snapshot.app);
      } catch {
        this.app.restore(before);
        return 'state-root-mismatch';
      }
      if (!equalBytes(this.app.stateRoot(), target.header.stateRoot)) {
        this.app.restore(before);
        return 'state-root-mismatch';
      }
    }
    const prevTip = this.chain.tip;
    const fresh = blocks.filter((b) => {
      const mine = this.chain.hashAt(b.header.height);
      return !mine || !equalBytes(mine, blockHash(b.header));
    });
    if (before) {
      this.chain.setTip(target, digest);
      this.afterBlock(seq); // before the replica is stepped: it may make this checkpoint stable at once
    }
    // The blocks are committed history whatever happens next (each verified, chained to the proven digest),
    // and so are the attestation certificates that verify for them.
    for (const b of fresh) this.chain.addHistory(b);
    blocks.forEach((b, i) => {
      if (!this.chain.attestation(b.header.height)) this.attestations.adopt(b.header, attestations[i] ?? null);
    });
    // Said before the replica is stepped (stepping it may execute the seqs above at once), and only when the
    // app's state changed (not when only the replica caught up with an app that replayed past seq).
    if (before) this.onEvent({ kind: 'stateInstalled', seq, fetchedBlocks: fromPeer === null ? 0 : blocks.length, fromPeer });
    this.drive({ kind: 'stateInstalled', seq, stateDigest: digest, replicaState: snapshot.replicaState });
    if (!this.replica || this.replica.lastExecuted < seq) {
      if (before) {
        this.app.restore(before);
        this.chain.tip = prevTip;
      }
      return 'replica-refused';
    }
    if (before) {
      for (const k of [...this.candidates.keys()]) if (k <= seq) this.candidates.delete(k);
      this.chain.keepSnapshot({ seq, blockHash: digest, app: snapshot.app, replicaState: snapshot.replicaState, certificate: snapshot.certificate });
      this.counters.stateTransfers++;
      // Attest what was installed: each block is bound by the hash chain to the checkpoint digest a quorum
      // signed, and the snapshot gave the target's state root. (Otherwise, with n - quorum validators
      // lagging, no block they skipped would ever gather an attestation quorum.)
      for (const b of blocks) this.attestations.onExecuted(b.header.height, blockHash(b.header), true);
    }
    if (fromPeer !== null) this.sync.fillHistoryBelow(blocks[0]!.header, fromPeer);
    return 'installed';
  }

  /**
   * Executes blocks fetched above the tip (following). A block counts only when it is bound to an attested
   * block: the highest block in the page whose attestation certificate verifies against the validators of its
   * height (known for every height up to the next checkpoint after the tip), and each block below it by the
   * hash chain. Each is then checked like a block from storage (certificate, link) and executed; its state
   * root must come out as the attested chain says. Nothing above an epoch switch still to make is executed.
   */
  private applyFollowed(blocks: Block[], attestations: readonly (Uint8Array | null)[]): { applied: number; stop?: StateTransferRejectReason; detail?: string } {
    let applied = 0;
    let i = 0;
    while (i < blocks.length && !this.halted) {
      if (this.switches.waiting) break; // switch first: the blocks after E are certified by the new validators
      const tip = this.chain.tip;
      // The validators of every height up to the next checkpoint are known from the state at the tip.
      const horizon = certifyingBlock(tip.height + 1, this.K) + this.K;
      let anchor = -1;
      for (let j = i; j < blocks.length && blocks[j]!.header.height <= horizon; j++) {
        // A block served before the peer's own quorum formed comes without a certificate: the votes this node
        // heard for it may make one.
        const cert = attestations[j] ?? this.attestations.assemble(blocks[j]!.header);
        if (!cert) continue;
        const epoch = this.epochs.epochOf(blocks[j]!.header.height);
        if (verifyAttestation(blocks[j]!.header, cert, epoch.validators, epoch.id, this.verifySignature).ok) anchor = j;
      }
      if (anchor < 0) break;
      // The hash chain from the anchor down to the block after our tip.
      for (let j = anchor; j > i; j--) {
        if (!equalBytes(blockHash(blocks[j - 1]!.header), blocks[j]!.header.prevHash)) return { applied, stop: 'chain-broken', detail: `at ${blocks[j - 1]!.header.height}` };
      }
      for (; i <= anchor; i++) {
        const b = blocks[i]!;
        const check = this.verify(b, this.chain.tip.header ?? undefined);
        if (!check.ok)
          return {
            applied,
            stop: check.reason === 'prev-hash-mismatch' || check.reason === 'height-mismatch' ? 'chain-broken' : 'block-invalid',
            detail: `${check.reason} at ${b.header.height}`,
          };
        const h = b.header.height;
        const results = applyBatch(this.app, b.txs, b.header.skipped, h, b.header.time, this.payloadOf);
        if (!equalBytes(this.app.stateRoot(), b.header.stateRoot)) {
          // The attested chain says another state: this node's app diverged. Never go on from it.
          this.halt(`executing followed block ${h} gives another state root than the attested chain`);
          return { applied };
        }
        this.chain.append(b, check.hash);
        if (attestations[i]) this.attestations.adopt(b.header, attestations[i]!);
        // The votes this node heard for it (validators broadcast them to every member) make its certificate
        // here too, when the page came without one; a joining validator attests it.
        this.attestations.onExecuted(h, check.hash, true);
        this.counters.followed++;
        applied++;
        // The app is now ahead of our replica: it follows until it restarts from a certified checkpoint.
        this.catchUp.followedPastReplica();
        this.onEvent({ kind: 'committed', block: b, hash: check.hash, results });
        if (h % this.K === 0) this.candidates.set(h, { app: this.app.snapshot(), blockHash: check.hash });
        this.afterBlock(h);
        if (this.switches.waiting) {
          i++;
          break;
        }
      }
    }
    return { applied };
  }
}

export type { StateTransferRejectReason };
