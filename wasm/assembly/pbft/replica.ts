// The PBFT replica (Castro–Liskov, with Ed25519 signatures so that every certificate is transferable, and
// authenticated channels for acting on normal-case votes). A pure state machine: each on*() call consumes one
// event and writes actions through io.ts. No clock (times come in with events), no randomness, no I/O.
//
// This file holds the replica's state, its configuration and the helpers every phase shares; the phases are
// functions over it: intake.ts (client requests), normal.ts (pre-prepare, prepare, commit, execute),
// checkpoint.ts (checkpoints, stability, garbage collection), transfer.ts (commit proofs and state transfer),
// viewchange.ts (view change, new view, messages for later views). votes.ts is the one vote collector.
//
// Invariants worth knowing (the README says why):
// - Nothing is decided on a message before its signature verified, except dropping it and counting a vote
//   whose sender the channel authenticated: such a vote is verified when a quorum is built from it, and a
//   quorum is only acted on once every vote in it verified.
// - Every buffer a peer can fill is bounded: the log by the watermark window, checkpoint votes by
//   window / K (plus 4 far-ahead votes per peer), view changes by one per peer, future-view messages by
//   maxFuture per peer, client requests by maxPending (plus what the window's pre-prepares carry).
// - Trust scores decide who leads, never who counts: quorums are ceil((n+f+1)/2) (constants.ts). A new leader
//   order (from the trust committed at a stable checkpoint) takes effect at the next view change; the current
//   view's primary is fixed when the view is entered, so replicas never disagree on it mid-view.
import { ed25519DerivePublicKey } from '../sign/ed25519';
import { CreateError, InfoCode, MsgType, Reject, TimerKind } from './boundary';
import { DIGEST_BYTES, faultsTolerated, quorumSize, tagFor } from './constants';
import { sha256, SigBatch, signBody, verifyBody } from './crypto';
import { actCancelTimer, actReject, actSetTimer } from './io';
import { leaderOrder } from './leader';
import { Buffered, Entry, OwnCheckpoint, Stable } from './log';
import { Checkpoint, Envelope, parseCertificate, parseCheckpoint, parseEnvelope, ViewChange } from './messages';
import { ClientRequest, ClientTable, RequestCache } from './requests';
import { decodeReplicaState } from './state';
import { Ballot, VoteSet } from './votes';
import { onBatchTimer, onRequest, verifyPending } from './intake';
import { hasUncommitted, onPrePrepare, onVote } from './normal';
import { onCheckpoint, onExecuted, validCheckpointProof } from './checkpoint';
import { onCommitted, onFetch, onStateInstalled } from './transfer';
import { countViewChanges, onNewView, onViewChange, resendViewChange, startViewChange } from './viewchange';
import { onSuspect, suspectPrimary } from './suspect';

const MAX_TIMER_ATTEMPT: i32 = 16;

export class Config {
  n: i32 = 4;
  self: i32 = 0;
  K: u64 = 16;
  window: u64 = 64;
  maxBatch: i32 = 64;
  trustFloor: f64 = -Infinity;
  maxSkew: u64 = 30000;
  maxMsg: i32 = 4 << 20;
  maxPending: i32 = 8192;
  maxFuture: i32 = 64;
  keys: Array<Uint8Array> = new Array();
  trust: StaticArray<i64> = new StaticArray(0);
  seed: Uint8Array = new Uint8Array(32);
  // The epoch: every signature covers its id; it starts at a stable checkpoint (startSeq, startDigest) that
  // needs no proof inside the epoch, with the replica state certified there before (or none at genesis).
  epochId: Uint8Array = new Uint8Array(32);
  startSeq: u64 = 0;
  startDigest: Uint8Array = new Uint8Array(32);
  startState: Uint8Array | null = null;
  // A restart at a later stable checkpoint of this epoch (resumeSeq > 0), with its certificate.
  resumeSeq: u64 = 0;
  resumeDigest: Uint8Array = new Uint8Array(32);
  resumeState: Uint8Array = new Uint8Array(0);
  resumeCert: Uint8Array = new Uint8Array(0);
}

export class Replica {
  // Configuration.
  n: i32;
  f: i32;
  /** Votes that decide anything: any two such sets share an honest replica. */
  quorum: i32;
  self: i32;
  K: u64;
  window: u64;
  maxBatch: i32;
  trustFloor: f64;
  maxSkew: u64;
  maxMsg: i32;
  maxPending: i32;
  maxFuture: i32;
  keys: Array<Uint8Array>;
  seed: Uint8Array;
  pk: Uint8Array;
  epochId: Uint8Array;
  epochStart: u64;
  epochDigest: Uint8Array;
  /**
   * Derived from the seed; it would key the coefficients of a randomized batch verifier. The sign subsystem's
   * batch verifier is exact (no coefficients), so it is passed along unused.
   */
  batchSecret: Uint8Array;
  batch: SigBatch = new SigBatch();

  // Leadership.
  trust: StaticArray<i64>; // committed at the last stable checkpoint
  execTrust: StaticArray<i64>; // as of the last executed batch (becomes `trust` at a stable checkpoint)
  order: Array<i32>;
  view: u64 = 0;
  changing: bool = false;
  primary: i32 = 0;
  vcAttempt: i32 = 0;
  vcLatest: StaticArray<ViewChange | null>;
  /** Per replica, 1 + the view whose primary it last said it suspects (0: none); see suspect.ts. */
  suspects: StaticArray<u64>;
  suspectAttempt: i32 = 0;
  nvWire: Uint8Array | null = null;
  nvSentTo: u64 = 0;
  /** lastExecuted when we last asked peers for missing commit proofs (MAX_VALUE: never). */
  askedAt: u64 = U64.MAX_VALUE;
  ckptProofSentTo: u64 = 0;

  // Ordering and execution.
  low: u64 = 0;
  stable: Stable = new Stable(0, new Uint8Array(DIGEST_BYTES), new Uint8Array(DIGEST_BYTES), new Array<Uint8Array>(), new Array<i32>());
  stableEmitted: bool = true;
  nextSeq: u64 = 0;
  lastExecuted: u64 = 0;
  lastTime: u64 = 0;
  lastProposedTime: u64 = 0;
  lastNow: u64 = 0;
  fetching: u64 = 0;
  log: Map<u64, Entry> = new Map();
  ckptVotes: Map<u64, VoteSet> = new Map();
  /** Per peer, its last few checkpoint votes beyond our high watermark (how we notice we fell behind). */
  farVotes: StaticArray<Array<Ballot>>;
  own: Map<u64, OwnCheckpoint> = new Map();
  tableSnaps: Map<u64, Uint8Array> = new Map();

  // Client requests.
  clients: ClientTable = new ClientTable();
  cache: RequestCache = new RequestCache();
  queue: Array<ClientRequest> = new Array();
  qHead: i32 = 0;
  cursor: i32 = 0;
  pendingLive: i32 = 0;

  // Timers and buffers.
  vcTimerOn: bool = false;
  batchTimerOn: bool = false;
  future: StaticArray<Array<Buffered>>;
  futureCount: i32 = 0;

  constructor(cfg: Config, pk: Uint8Array) {
    this.n = cfg.n;
    this.f = faultsTolerated(cfg.n);
    this.quorum = quorumSize(cfg.n);
    this.self = cfg.self;
    this.K = cfg.K;
    this.window = cfg.window;
    this.maxBatch = cfg.maxBatch;
    this.trustFloor = cfg.trustFloor;
    this.maxSkew = cfg.maxSkew;
    this.maxMsg = cfg.maxMsg;
    this.maxPending = cfg.maxPending;
    this.maxFuture = cfg.maxFuture;
    this.keys = cfg.keys;
    this.seed = cfg.seed;
    this.pk = pk;
    this.epochId = cfg.epochId;
    this.epochStart = cfg.startSeq;
    this.epochDigest = cfg.startDigest;
    const keyed = new Uint8Array(32 + 32);
    keyed.set(cfg.seed, 0);
    keyed.set(cfg.epochId, 32);
    this.batchSecret = sha256(keyed);
    keyed.fill(0);
    this.trust = cfg.trust;
    this.execTrust = cfg.trust;
    this.order = leaderOrder(cfg.trust, cfg.keys, cfg.trustFloor, faultsTolerated(cfg.n));
    this.vcLatest = new StaticArray<ViewChange | null>(cfg.n);
    this.suspects = new StaticArray<u64>(cfg.n);
    this.farVotes = new StaticArray<Array<Ballot>>(cfg.n);
    this.future = new StaticArray<Array<Buffered>>(cfg.n);
    for (let i = 0; i < cfg.n; i++) {
      unchecked((this.farVotes[i] = new Array<Ballot>()));
      unchecked((this.future[i] = new Array<Buffered>()));
    }
    this.primary = this.primaryOf(0);
  }

  /**
   * Places the replica at its epoch's start checkpoint, or at a later stable checkpoint of the epoch it
   * restarts from: the low watermark and lastExecuted there, nothing at or below it accepted.
   */
  start(cfg: Config): i32 {
    const E = cfg.startSeq;
    if (E % this.K != 0 || cfg.startDigest.length != DIGEST_BYTES || cfg.epochId.length != DIGEST_BYTES) return CreateError.BadEpochStart;
    this.low = E;
    this.lastExecuted = E;
    this.nextSeq = E;
    // The epoch's start is stable by construction (every replica of the epoch starts there): no proof, and a
    // zero replica digest stand for it in view changes, as at genesis.
    this.stable = new Stable(E, cfg.startDigest, new Uint8Array(DIGEST_BYTES), new Array<Uint8Array>(), new Array<i32>());
    const startState = cfg.startState;
    if (startState != null) {
      // The previous epoch's clients and time carry over (its trust scores were for another validator set).
      const st = decodeReplicaState(startState, 64);
      if (st == null || st.seq != E) return CreateError.BadEpochStart;
      this.clients = st.clients;
      this.lastTime = st.lastTime;
    }
    if (cfg.resumeSeq == 0) return 0;
    const S = cfg.resumeSeq;
    if (S <= E || S % this.K != 0 || cfg.resumeDigest.length != DIGEST_BYTES) return CreateError.BadResume;
    const proof = parseCertificate(cfg.resumeCert, this.n, this.maxMsg);
    const st = decodeReplicaState(cfg.resumeState, this.n);
    if (proof == null || st == null || st.seq != S || st.trust.length != this.n) return CreateError.BadResume;
    const checkpoints = new Array<Checkpoint>();
    for (let i = 0; i < proof.length; i++) {
      const c = parseCheckpoint(unchecked(proof[i]));
      if (c == null) return CreateError.BadResume;
      checkpoints.push(c);
    }
    const replicaDigest = sha256(cfg.resumeState);
    if (!validCheckpointProof(this, S, cfg.resumeDigest, replicaDigest, checkpoints)) return CreateError.BadResume;
    this.low = S;
    this.lastExecuted = S;
    this.nextSeq = S;
    this.stable = Stable.proven(S, cfg.resumeDigest, replicaDigest, checkpoints);
    this.own.set(S, new OwnCheckpoint(S, cfg.resumeDigest, cfg.resumeState, replicaDigest));
    this.clients = st.clients;
    this.lastTime = st.lastTime;
    this.execTrust = st.trust;
    this.setTrust(st.trust);
    this.primary = this.primaryOf(0);
    return 0;
  }

  primaryOf(view: u64): i32 {
    const len = <u64>this.order.length;
    return unchecked(this.order[<i32>(view % len)]);
  }

  setTrust(t: StaticArray<i64>): void {
    this.trust = t;
    this.order = leaderOrder(t, this.keys, this.trustFloor, this.f);
  }

  /** Wipes the secret seed and what was derived from it (dispose). */
  wipe(): void {
    this.seed.fill(0);
    this.batchSecret.fill(0);
  }

  // ---- helpers every phase uses ---------------------------------------------------------------------------

  reject(reason: Reject, from: i32): void {
    actReject(<i32>reason, from);
  }

  /** Whether a parsed peer message's signer may send it: another validator (else the input is rejected). */
  fromPeer(sender: i32): bool {
    if (sender >= this.n) {
      this.reject(Reject.BadSender, -1);
      return false;
    }
    if (sender == this.self) {
      this.reject(Reject.Duplicate, sender);
      return false;
    }
    return true;
  }

  sign(type: u32, body: Uint8Array): Uint8Array {
    return signBody(tagFor(type), this.epochId, body, this.seed, this.pk);
  }

  /** Checks one message's signature now (what is not counted before it is checked). */
  verifyEnv(env: Envelope, sender: i32): bool {
    return verifyBody(tagFor(env.type), this.epochId, env.body, unchecked(this.keys[sender]), env.sig);
  }

  /** Adds a message's signature check to the current batch (see checkBatch). */
  batchEnv(env: Envelope, sender: i32): void {
    this.batch.add(tagFor(env.type), this.epochId, env.body, unchecked(this.keys[sender]), env.sig);
  }

  /** Verifies the current batch: the positions whose signature failed (empty: all valid). */
  checkBatch(): Array<i32> {
    return this.batch.verify(this.batchSecret);
  }

  /**
   * The one quorum rule: `need` votes of `set` agreeing on `key` (none from `exclude`), every one verified.
   * The unverified among the chosen are checked in one batch; a bad signature is rejected, its sender never
   * counts again in this set, and others are chosen. Null while there are not enough.
   */
  quorumOf(set: VoteSet, key: Uint8Array, need: i32, exclude: i32): Array<Ballot> | null {
    // Each round either returns or marks a sender bad, so it ends after at most n rounds.
    while (true) {
      const picked = set.pick(key, exclude, need);
      if (picked.length < need) return null;
      const bad = this.failedSignatures(picked);
      if (bad.length == 0) return picked;
      for (let i = 0; i < bad.length; i++) {
        const b = unchecked(bad[i]);
        set.markBad(b.sender);
        this.reject(Reject.BadSignature, b.sender);
      }
    }
    return null;
  }

  /**
   * Checks the signatures of the items not verified yet (ballots, client requests) in one batch and marks
   * them verified; returns those that failed, in order, marked unverified again (empty: all hold).
   */
  failedSignatures<T>(items: Array<T>): Array<T> {
    const pending = new Array<T>();
    for (let i = 0; i < items.length; i++) if (!unchecked(items[i]).verified) pending.push(unchecked(items[i]));
    const failed = new Array<T>();
    if (pending.length == 0) return failed;
    for (let i = 0; i < pending.length; i++) unchecked(pending[i]).queueCheck(this);
    const bad = this.checkBatch();
    for (let i = 0; i < pending.length; i++) unchecked(pending[i]).verified = true;
    for (let i = 0; i < bad.length; i++) {
      const item = unchecked(pending[unchecked(bad[i])]);
      item.verified = false;
      failed.push(item);
    }
    return failed;
  }

  inWindow(seq: u64): bool {
    return seq > this.low && seq <= this.low + this.window;
  }

  entryFor(seq: u64): Entry {
    if (this.log.has(seq)) {
      const e = this.log.get(seq);
      if (e.view < this.view) e.resetVotes(this.view);
      return e;
    }
    const e = new Entry(seq, this.view, this.n);
    this.log.set(seq, e);
    return e;
  }

  startVcTimer(attempt: i32): void {
    this.vcTimerOn = true;
    actSetTimer(<i32>TimerKind.ViewChange, min(attempt, MAX_TIMER_ATTEMPT));
  }

  stopVcTimer(): void {
    if (this.vcTimerOn) {
      this.vcTimerOn = false;
      actCancelTimer(<i32>TimerKind.ViewChange);
    }
  }

  startBatchTimer(): void {
    if (this.batchTimerOn) return;
    this.batchTimerOn = true;
    actSetTimer(<i32>TimerKind.Batch, 0);
  }

  stopBatchTimer(): void {
    if (this.batchTimerOn) {
      this.batchTimerOn = false;
      actCancelTimer(<i32>TimerKind.Batch);
    }
  }

  touchNow(now: u64): void {
    if (now > this.lastNow) this.lastNow = now;
  }

  // ---- events ---------------------------------------------------------------------------------------------

  /**
   * A peer message. `from` is the validator the transport authenticated as its sender (-1 if it cannot say):
   * a vote whose body names that same sender counts before its signature is checked.
   */
  onMessage(bytes: Uint8Array, from: i32, now: u64): void {
    this.touchNow(now);
    if (bytes.length > this.maxMsg) return this.reject(Reject.Oversize, -1);
    const env = parseEnvelope(bytes, this.maxMsg);
    if (env == null) return this.reject(Reject.Malformed, -1);
    this.dispatch(env, from >= 0 && from < this.n ? from : -1);
  }

  dispatch(env: Envelope, from: i32): void {
    const t = env.type;
    if (t == MsgType.Request) onRequest(this, env.body, this.lastNow, true);
    else if (t == MsgType.PrePrepare) onPrePrepare(this, env, from);
    else if (t == MsgType.Prepare || t == MsgType.Commit) onVote(this, env, from);
    else if (t == MsgType.Checkpoint) onCheckpoint(this, env, from);
    else if (t == MsgType.ViewChange) onViewChange(this, env, from);
    else if (t == MsgType.NewView) onNewView(this, env, from);
    else if (t == MsgType.Committed) onCommitted(this, env.body);
    else if (t == MsgType.Fetch) onFetch(this, env, from);
    else if (t == MsgType.Suspect) onSuspect(this, env, from);
    else this.reject(Reject.Malformed, -1);
  }

  onClientRequest(bytes: Uint8Array, now: u64): void {
    onRequest(this, bytes, now, false);
  }

  onBatchTimer(now: u64): void {
    this.touchNow(now);
    this.batchTimerOn = false;
    onBatchTimer(this);
  }

  onViewChangeTimer(now: u64): void {
    this.touchNow(now);
    this.vcTimerOn = false;
    // Requests nobody ordered may be forgeries: only valid ones make the primary suspect.
    verifyPending(this);
    if (this.changing) {
      // Castro–Liskov: move past a view only once a quorum asked for it (its primary is then to blame).
      // Alone, keep asking while we have work: resend our view change (it may have been lost) and wait.
      // (Going back to the old view would be unsafe: our view change may already count in a new-view.)
      if (countViewChanges(this, this.view) >= this.quorum) {
        startViewChange(this, this.view + 1);
      } else if (this.pendingLive > 0) {
        resendViewChange(this);
        this.startVcTimer(this.vcAttempt);
      }
      return;
    }
    if (this.pendingLive == 0 && !hasUncommitted(this)) return;
    suspectPrimary(this);
  }

  onExecuted(seq: u64, stateDigest: Uint8Array, trust: StaticArray<i64> | null): void {
    onExecuted(this, seq, stateDigest, trust);
  }

  onStateInstalled(seq: u64, stateDigest: Uint8Array, replicaState: Uint8Array): void {
    onStateInstalled(this, seq, stateDigest, replicaState);
  }

  // ---- introspection -------------------------------------------------------------------------------------

  info(what: i32): f64 {
    if (what == InfoCode.View) return <f64>this.view;
    if (what == InfoCode.Primary) return <f64>this.primary;
    if (what == InfoCode.LastExecuted) return <f64>this.lastExecuted;
    if (what == InfoCode.LowWatermark) return <f64>this.low;
    if (what == InfoCode.ChangingView) return this.changing ? 1 : 0;
    if (what == InfoCode.LogSize) return <f64>this.log.size;
    if (what == InfoCode.PendingRequests) return <f64>this.pendingLive;
    if (what == InfoCode.BufferedMessages) return <f64>this.futureCount;
    return -1;
  }
}

/** The public key of a seed (what a replica signs with). */
export function publicKeyOf(seed: Uint8Array): Uint8Array {
  const pk = new Uint8Array(32);
  ed25519DerivePublicKey(seed.dataStart, pk.dataStart);
  return pk;
}
