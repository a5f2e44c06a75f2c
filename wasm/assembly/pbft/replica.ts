// The PBFT replica (Castro–Liskov, with Ed25519 signatures instead of MACs so every certificate is
// transferable). A pure state machine: each on*() call consumes one event and writes actions through io.ts.
// No clock (times come in with events), no randomness, no I/O.
//
// Invariants worth knowing:
// - Nothing is decided on a message before its signature verified, except dropping it: a body identical to
//   one already verified is a duplicate; a stale view or a seq outside the watermarks is dropped unread.
// - Every buffer a peer can fill is bounded: the log by the watermark window, checkpoint votes by
//   window / K (plus 4 far-ahead votes per peer), view changes by one per peer, future-view messages by
//   maxFuture per peer, client requests by maxPending (plus what the window's pre-prepares carry).
// - Trust scores decide who leads, never who counts: quorums are ceil((n+f+1)/2) (constants.ts). A new leader order (from the trust
//   committed at a stable checkpoint) takes effect at the next view change; the current view's primary is
//   fixed when the view is entered, so replicas never disagree on it mid-view because of a checkpoint.
import { Reader } from "../codec/reader";
import { Writer } from "../codec/writer";
import { DIGEST_BYTES, faultsTolerated, MAX_SAFE, MsgType, quorumSize, Reject, Timer } from "./constants";
import { bytesCompare, bytesEqual, sha256, signBody, verifyBody } from "./crypto";
import {
  actBroadcast,
  actCancelTimer,
  actReject,
  actSend,
  actSetTimer,
  actViewChanged,
  putBytes,
  putF64,
  putU32,
  putU8,
} from "./io";
import { leaderOrder } from "./leader";
import {
  batchDigestOf,
  Checkpoint,
  encodeBatch,
  encodeCertificate,
  encodeCommitted,
  encodeFetchBody,
  encodeCheckpointBody,
  encodeEnvelope,
  encodeForwardedRequest,
  encodeNewViewBody,
  encodePrePrepareBody,
  encodeViewChangeBody,
  encodeVoteBody,
  Envelope,
  NewView,
  parseCertificate,
  parseCheckpoint,
  parseEnvelope,
  parseNewView,
  parsePrePrepare,
  parseViewChange,
  parseVote,
  PrePrepare,
  PreparedCert,
  ViewChange,
  Vote,
} from "./messages";
import { ClientRequest, ClientTable, parseRequest, RequestCache } from "./requests";
import { decodeReplicaState, encodeReplicaState, encodeTableSnapshot } from "./state";
import { tagFor } from "./constants";

const FAR_CHECKPOINTS_PER_PEER: i32 = 4;
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

/** Why pbftCreate refused a start point (the face names them). */
export enum StartError {
  None = 0,
  BadEpochStart = 3, // startSeq not a multiple of K, or the start replica state does not decode or is for another seq
  BadResume = 4, // the resume checkpoint's certificate, digests or replica state do not hold
}

/** The state of one sequence number. */
class Entry {
  seq: u64;
  view: u64 = 0; // the view of the vote state below
  pp: PrePrepare | null = null;
  prepares: StaticArray<Vote | null>;
  commits: StaticArray<Vote | null>;
  prepared: bool = false;
  commitSent: bool = false;
  // What committed here (survives view changes): its pre-prepare, view and certificate.
  committed: bool = false;
  executed: bool = false;
  cPP: PrePrepare | null = null;
  cView: u64 = 0;
  cCert: Uint8Array = new Uint8Array(0);
  // The prepared certificate of the highest view, carried by view changes.
  best: PreparedCert | null = null;
  /** Peers we already sent this seq's commit proof to (once each). */
  proofSentTo: u64 = 0;

  constructor(seq: u64, view: u64, n: i32) {
    this.seq = seq;
    this.view = view;
    this.prepares = new StaticArray<Vote | null>(n);
    this.commits = new StaticArray<Vote | null>(n);
  }

  resetVotes(view: u64): void {
    this.view = view;
    this.pp = null;
    for (let i = 0; i < this.prepares.length; i++) {
      unchecked((this.prepares[i] = null));
      unchecked((this.commits[i] = null));
    }
    this.prepared = false;
    this.commitSent = false;
  }
}

class OwnCheckpoint {
  constructor(
    public seq: u64,
    public stateDigest: Uint8Array,
    public replicaState: Uint8Array,
    public replicaDigest: Uint8Array,
  ) {}
}

class Stable {
  constructor(
    public seq: u64,
    public stateDigest: Uint8Array,
    public replicaDigest: Uint8Array,
    public proof: Array<Uint8Array>,
    public senders: Array<i32>,
  ) {}
}

/** A verified message for a view we have not entered yet. */
class Buffered {
  constructor(
    public view: u64,
    public env: Envelope,
  ) {}
}

/** The O set entry of a new view: what goes at one seq. */
class Proposal {
  constructor(
    public seq: u64,
    public digest: Uint8Array,
    public time: u64,
    public batch: Array<Uint8Array>,
    public reqDigests: Array<Uint8Array>,
  ) {}
}

class OSet {
  minS: u64 = 0;
  maxS: u64 = 0;
  ckpt: ViewChange | null = null;
  items: Array<Proposal> = new Array();
}

let NULL_DIGEST: Uint8Array | null = null;
function nullDigest(): Uint8Array {
  if (NULL_DIGEST == null) NULL_DIGEST = batchDigestOf(0, new Array<Uint8Array>());
  return NULL_DIGEST!;
}

function sortU64(a: u64, b: u64): i32 {
  return a < b ? -1 : a > b ? 1 : 0;
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

  // Leadership.
  trust: StaticArray<i64>; // committed at the last stable checkpoint
  execTrust: StaticArray<i64>; // as of the last executed batch (becomes `trust` at a stable checkpoint)
  order: Array<i32>;
  view: u64 = 0;
  changing: bool = false;
  primary: i32 = 0;
  vcAttempt: i32 = 0;
  vcLatest: StaticArray<ViewChange | null>;
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
  ckptVotes: Map<u64, StaticArray<Checkpoint | null>> = new Map();
  farVotes: StaticArray<Array<Checkpoint>>;
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
    this.trust = cfg.trust;
    this.execTrust = cfg.trust;
    this.order = leaderOrder(cfg.trust, cfg.keys, cfg.trustFloor, (cfg.n - 1) / 3);
    this.vcLatest = new StaticArray<ViewChange | null>(cfg.n);
    this.farVotes = new StaticArray<Array<Checkpoint>>(cfg.n);
    this.future = new StaticArray<Array<Buffered>>(cfg.n);
    for (let i = 0; i < cfg.n; i++) {
      unchecked((this.farVotes[i] = new Array<Checkpoint>()));
      unchecked((this.future[i] = new Array<Buffered>()));
    }
    this.primary = this.primaryOf(0);
  }

  /**
   * Places the replica at its epoch's start checkpoint, or at a later stable checkpoint of the epoch it
   * restarts from: the low watermark and lastExecuted there, nothing at or below it accepted.
   */
  start(cfg: Config): StartError {
    const E = cfg.startSeq;
    if (E % this.K != 0 || cfg.startDigest.length != DIGEST_BYTES || cfg.epochId.length != DIGEST_BYTES) return StartError.BadEpochStart;
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
      if (st == null || st.seq != E) return StartError.BadEpochStart;
      this.clients = st.clients;
      this.lastTime = st.lastTime;
    }
    if (cfg.resumeSeq == 0) return StartError.None;
    const S = cfg.resumeSeq;
    if (S <= E || S % this.K != 0 || cfg.resumeDigest.length != DIGEST_BYTES) return StartError.BadResume;
    const proof = parseCertificate(cfg.resumeCert, this.n, this.maxMsg);
    const st = decodeReplicaState(cfg.resumeState, this.n);
    if (proof == null || st == null || st.seq != S || st.trust.length != this.n) return StartError.BadResume;
    const checkpoints = new Array<Checkpoint>();
    for (let i = 0; i < proof.length; i++) {
      const c = parseCheckpoint(unchecked(proof[i]));
      if (c == null) return StartError.BadResume;
      checkpoints.push(c);
    }
    const replicaDigest = sha256(cfg.resumeState);
    if (!this.validCheckpointProof(S, cfg.resumeDigest, replicaDigest, checkpoints)) return StartError.BadResume;
    const wires = new Array<Uint8Array>();
    const senders = new Array<i32>();
    for (let i = 0; i < checkpoints.length; i++) {
      wires.push(unchecked(checkpoints[i]).env!.wire);
      senders.push(unchecked(checkpoints[i]).sender);
    }
    this.low = S;
    this.lastExecuted = S;
    this.nextSeq = S;
    this.stable = new Stable(S, cfg.resumeDigest, replicaDigest, wires, senders);
    this.own.set(S, new OwnCheckpoint(S, cfg.resumeDigest, cfg.resumeState, replicaDigest));
    this.clients = st.clients;
    this.lastTime = st.lastTime;
    this.execTrust = st.trust;
    this.setTrust(st.trust);
    this.primary = this.primaryOf(0);
    return StartError.None;
  }

  primaryOf(view: u64): i32 {
    const len = <u64>this.order.length;
    return unchecked(this.order[<i32>(view % len)]);
  }

  /** Wipes the secret seed (dispose). */
  wipe(): void {
    this.seed.fill(0);
  }

  // ---- helpers --------------------------------------------------------------------------------------------

  private reject(reason: Reject, from: i32): void {
    actReject(<i32>reason, from);
  }

  private sign(type: u32, body: Uint8Array): Uint8Array {
    return signBody(tagFor(type), this.epochId, body, this.seed, this.pk);
  }

  private verifyEnv(env: Envelope, sender: i32): bool {
    return verifyBody(tagFor(env.type), this.epochId, env.body, unchecked(this.keys[sender]), env.sig);
  }

  private inWindow(seq: u64): bool {
    return seq > this.low && seq <= this.low + this.window;
  }

  private entryFor(seq: u64): Entry {
    if (this.log.has(seq)) {
      const e = this.log.get(seq);
      if (e.view < this.view) e.resetVotes(this.view);
      return e;
    }
    const e = new Entry(seq, this.view, this.n);
    this.log.set(seq, e);
    return e;
  }

  private startVcTimer(attempt: i32): void {
    this.vcTimerOn = true;
    actSetTimer(<i32>Timer.ViewChange, min(attempt, MAX_TIMER_ATTEMPT));
  }

  private stopVcTimer(): void {
    if (this.vcTimerOn) {
      this.vcTimerOn = false;
      actCancelTimer(<i32>Timer.ViewChange);
    }
  }

  private stopBatchTimer(): void {
    if (this.batchTimerOn) {
      this.batchTimerOn = false;
      actCancelTimer(<i32>Timer.Batch);
    }
  }

  private touchNow(now: u64): void {
    if (now > this.lastNow) this.lastNow = now;
  }

  // ---- events ---------------------------------------------------------------------------------------------

  onMessage(bytes: Uint8Array, now: u64): void {
    this.touchNow(now);
    if (bytes.length > this.maxMsg) {
      this.reject(Reject.Oversize, -1);
      return;
    }
    const env = parseEnvelope(bytes, this.maxMsg);
    if (env == null) {
      this.reject(Reject.Malformed, -1);
      return;
    }
    this.dispatch(env, false);
  }

  private dispatch(env: Envelope, verified: bool): void {
    const t = env.type;
    if (t == MsgType.Request) this.onRequest(env.body, this.lastNow, true);
    else if (t == MsgType.PrePrepare) this.onPrePrepare(env, verified);
    else if (t == MsgType.Prepare || t == MsgType.Commit) this.onVote(env, verified);
    else if (t == MsgType.Checkpoint) this.onCheckpoint(env);
    else if (t == MsgType.ViewChange) this.onViewChange(env);
    else if (t == MsgType.NewView) this.onNewView(env);
    else if (t == MsgType.Committed) this.onCommitted(env.body);
    else if (t == MsgType.Fetch) this.onFetch(env);
    else this.reject(Reject.Malformed, -1);
  }

  onRequest(bytes: Uint8Array, now: u64, forwarded: bool): void {
    this.touchNow(now);
    if (bytes.length > this.maxMsg) {
      this.reject(Reject.Oversize, -1);
      return;
    }
    const req = parseRequest(bytes, this.maxMsg);
    if (req == null) {
      this.reject(Reject.Malformed, -1);
      return;
    }
    if (this.clients.isStale(req.key, req.seq)) {
      this.reject(Reject.StaleRequest, -1);
      return;
    }
    if (this.cache.get(req.digest) != null) {
      // A backup forwarding what the client also sent us is the normal case, not an anomaly.
      if (!forwarded) this.reject(Reject.Duplicate, -1);
      return;
    }
    if (this.pendingLive >= this.maxPending) {
      this.reject(Reject.BufferFull, -1);
      return;
    }
    if (!req.verify()) {
      this.reject(Reject.BadRequest, -1);
      return;
    }
    this.admit(req);
    if (!forwarded && this.self != this.primary && !this.changing) {
      actSend(this.primary, encodeForwardedRequest(bytes));
    }
    if (!this.vcTimerOn) this.startVcTimer(this.changing ? this.vcAttempt : 0);
    this.tryPropose(false);
  }

  /** Drops retired requests from the queue's head, and the dead prefix of the array now and then. */
  private compactQueue(): void {
    while (this.qHead < this.queue.length && unchecked(this.queue[this.qHead]).done) this.qHead++;
    if (this.cursor < this.qHead) this.cursor = this.qHead;
    if (this.qHead > 1024 && this.qHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.qHead);
      this.cursor -= this.qHead;
      this.qHead = 0;
    }
  }

  private admit(req: ClientRequest): void {
    this.cache.add(req);
    req.queued = true;
    this.queue.push(req);
    this.pendingLive++;
  }

  private retire(req: ClientRequest): void {
    if (req.done) return;
    req.done = true;
    if (req.queued) this.pendingLive--;
    this.cache.remove(req);
  }

  onBatchTimer(now: u64): void {
    this.touchNow(now);
    this.batchTimerOn = false;
    this.tryPropose(true);
  }

  onViewChangeTimer(now: u64): void {
    this.touchNow(now);
    this.vcTimerOn = false;
    this.retireStale();
    if (this.changing) {
      // Castro–Liskov: move past a view only once a quorum asked for it (its primary is then to blame).
      // Alone, keep asking while we have work: resend our view change (it may have been lost) and wait.
      // (Going back to the old view would be unsafe: our view change may already count in a new-view.)
      if (this.countViewChanges(this.view) >= this.quorum) {
        this.startViewChange(this.view + 1);
      } else if (this.pendingLive > 0) {
        const mine = unchecked(this.vcLatest[this.self]);
        if (mine != null && mine.view == this.view) actBroadcast(mine.env!.wire);
        this.startVcTimer(this.vcAttempt);
      }
      return;
    }
    if (this.pendingLive == 0 && !this.hasUncommitted()) return;
    this.startViewChange(this.view + 1);
  }

  /** A request whose client already executed a later seq can never execute: stop waiting for it. */
  private retireStale(): void {
    for (let i = this.qHead; i < this.queue.length; i++) {
      const r = unchecked(this.queue[i]);
      if (!r.done && this.clients.isStale(r.key, r.seq)) this.retire(r);
    }
    this.compactQueue();
  }

  private countViewChanges(view: u64): i32 {
    let count = 0;
    for (let i = 0; i < this.n; i++) {
      const o = unchecked(this.vcLatest[i]);
      if (o != null && o.view == view) count++;
    }
    return count;
  }

  private hasUncommitted(): bool {
    const vals = this.log.values();
    for (let i = 0; i < vals.length; i++) {
      const e = unchecked(vals[i]);
      if (e.pp != null && !e.committed) return true;
    }
    return false;
  }

  // ---- normal case: pre-prepare, prepare, commit ---------------------------------------------------------

  /** The primary orders pending requests; a partial batch waits while earlier batches are in flight. */
  private tryPropose(force: bool): void {
    if (this.self != this.primary || this.changing || this.fetching != 0) return;
    while (this.nextSeq < this.low + this.window) {
      this.compactQueue();
      const batch = new Array<ClientRequest>();
      let i = this.cursor;
      while (i < this.queue.length && batch.length < this.maxBatch) {
        const r = unchecked(this.queue[i]);
        if (!r.done && !r.proposed) {
          if (this.clients.isStale(r.key, r.seq)) this.retire(r);
          else batch.push(r);
        }
        i++;
      }
      if (batch.length == 0) {
        this.cursor = i;
        break;
      }
      const inflight = this.nextSeq > this.lastExecuted;
      if (batch.length < this.maxBatch && inflight && !force) {
        if (!this.batchTimerOn) {
          this.batchTimerOn = true;
          actSetTimer(<i32>Timer.Batch, 0);
        }
        break;
      }
      this.cursor = i;
      this.propose(batch);
      force = false;
    }
  }

  private propose(reqs: Array<ClientRequest>): void {
    let time = this.lastNow;
    if (time < this.lastProposedTime) time = this.lastProposedTime;
    if (time < this.lastTime) time = this.lastTime;
    this.lastProposedTime = time;
    const digests = new Array<Uint8Array>(reqs.length);
    const bytes = new Array<Uint8Array>(reqs.length);
    for (let i = 0; i < reqs.length; i++) {
      const r = unchecked(reqs[i]);
      r.proposed = true;
      unchecked((digests[i] = r.digest));
      unchecked((bytes[i] = r.bytes));
    }
    const digest = batchDigestOf(time, digests);
    const seq = ++this.nextSeq;
    const body = encodePrePrepareBody(this.self, this.view, seq, time, digest);
    const sig = this.sign(MsgType.PrePrepare, body);
    const tail = encodeBatch(bytes);
    const wire = encodeEnvelope(MsgType.PrePrepare, body, sig, tail);
    const pp = new PrePrepare();
    pp.sender = this.self;
    pp.view = this.view;
    pp.seq = seq;
    pp.time = time;
    pp.digest = digest;
    pp.batch = bytes;
    pp.reqDigests = digests;
    pp.env = new Envelope(MsgType.PrePrepare, body, sig, wire.subarray(wire.length - tail.length), wire);
    const e = this.entryFor(seq);
    e.pp = pp;
    actBroadcast(wire);
    this.checkPrepared(e);
  }

  private onPrePrepare(env: Envelope, verified: bool): void {
    const pp = parsePrePrepare(env, this.maxBatch, this.maxMsg, true);
    if (pp == null) {
      this.reject(Reject.Malformed, -1);
      return;
    }
    const s = pp.sender;
    if (s >= this.n) {
      this.reject(Reject.BadSender, -1);
      return;
    }
    if (s == this.self) {
      this.reject(Reject.Duplicate, s);
      return;
    }
    if (pp.view < this.view) {
      this.reject(Reject.OldView, s);
      this.helpLaggard(s);
      return;
    }
    if (pp.view > this.view || this.changing) {
      this.bufferFuture(s, pp.view, env, verified);
      return;
    }
    if (s != this.primary) {
      this.reject(Reject.BadSender, s);
      return;
    }
    if (!this.inWindow(pp.seq)) {
      this.reject(Reject.OutOfWatermark, s);
      return;
    }
    if (this.log.has(pp.seq)) {
      const old = this.log.get(pp.seq);
      if (old.view == this.view && old.pp != null) {
        const prior = old.pp!;
        if (bytesEqual(prior.env!.body, env.body)) {
          this.reject(Reject.Duplicate, s);
          return;
        }
        if (!verified && !this.verifyEnv(env, s)) {
          this.reject(Reject.BadSignature, s);
          return;
        }
        this.reject(Reject.Conflict, s);
        return;
      }
    }
    if (!verified && !this.verifyEnv(env, s)) {
      this.reject(Reject.BadSignature, s);
      return;
    }
    const now = this.lastNow;
    const skew = pp.time > now ? pp.time - now : now - pp.time;
    if (skew > this.maxSkew) {
      this.reject(Reject.ClockSkew, s);
      return;
    }
    // The batch must hash to the signed digest, and every request in it must be a validly signed request.
    const count = pp.batch.length;
    const digests = new Array<Uint8Array>(count);
    for (let i = 0; i < count; i++) unchecked((digests[i] = sha256(unchecked(pp.batch[i]))));
    if (!bytesEqual(batchDigestOf(pp.time, digests), pp.digest)) {
      this.reject(Reject.DigestMismatch, s);
      return;
    }
    pp.reqDigests = digests;
    const fresh = new Array<ClientRequest>();
    for (let i = 0; i < count; i++) {
      const d = unchecked(digests[i]);
      let r = this.cache.get(d);
      if (r == null) {
        for (let j = 0; j < fresh.length; j++) {
          if (bytesEqual(unchecked(fresh[j]).digest, d)) {
            r = unchecked(fresh[j]);
            break;
          }
        }
      }
      if (r == null) {
        const parsed = parseRequest(unchecked(pp.batch[i]), this.maxMsg);
        if (parsed == null || !parsed.verify()) {
          this.reject(Reject.BadRequest, s);
          return;
        }
        fresh.push(parsed);
      } else if (!r.verify()) {
        this.reject(Reject.BadRequest, s);
        return;
      }
    }
    for (let i = 0; i < fresh.length; i++) this.admit(unchecked(fresh[i]));
    for (let i = 0; i < count; i++) {
      const r = this.cache.get(unchecked(digests[i]));
      if (r != null) r.proposed = true;
    }
    const e = this.entryFor(pp.seq);
    e.pp = pp;
    this.sendVote(MsgType.Prepare, e);
    this.checkPrepared(e);
  }

  private sendVote(type: u32, e: Entry): void {
    const body = encodeVoteBody(this.self, this.view, e.seq, e.pp!.digest);
    const sig = this.sign(type, body);
    const wire = encodeEnvelope(type, body, sig, null);
    const v = new Vote();
    v.sender = this.self;
    v.view = this.view;
    v.seq = e.seq;
    v.digest = e.pp!.digest;
    v.env = new Envelope(type, body, sig, new Uint8Array(0), wire);
    if (type == MsgType.Prepare) unchecked((e.prepares[this.self] = v));
    else unchecked((e.commits[this.self] = v));
    actBroadcast(wire);
  }

  private onVote(env: Envelope, verified: bool): void {
    const type = env.type;
    const v = parseVote(env, type);
    if (v == null) {
      this.reject(Reject.Malformed, -1);
      return;
    }
    const s = v.sender;
    if (s >= this.n) {
      this.reject(Reject.BadSender, -1);
      return;
    }
    if (s == this.self) {
      this.reject(Reject.Duplicate, s);
      return;
    }
    if (v.view < this.view) {
      this.reject(Reject.OldView, s);
      this.helpLaggard(s);
      return;
    }
    if (v.view > this.view || this.changing) {
      this.bufferFuture(s, v.view, env, verified);
      return;
    }
    if (type == MsgType.Prepare && s == this.primary) {
      this.reject(Reject.BadSender, s);
      return;
    }
    if (!this.inWindow(v.seq)) {
      this.reject(Reject.OutOfWatermark, s);
      return;
    }
    let prior: Vote | null = null;
    if (this.log.has(v.seq)) {
      const old = this.log.get(v.seq);
      if (old.view == this.view) prior = type == MsgType.Prepare ? unchecked(old.prepares[s]) : unchecked(old.commits[s]);
    }
    if (prior != null && bytesEqual(prior.env!.body, env.body)) {
      this.reject(Reject.Duplicate, s);
      return;
    }
    if (prior == null && this.log.has(v.seq)) {
      // A vote beyond the quorum we already hold changes nothing: skip the signature check (the hot path's
      // biggest cost) and keep nothing. Its certificate was complete without it.
      const e = this.log.get(v.seq);
      if (e.view == this.view && e.pp != null && (type == MsgType.Prepare ? e.prepared : e.committed && e.cView == this.view)) return;
    }
    if (!verified && !this.verifyEnv(env, s)) {
      this.reject(Reject.BadSignature, s);
      return;
    }
    if (prior != null) {
      this.reject(Reject.Conflict, s);
      return;
    }
    const e = this.entryFor(v.seq);
    if (type == MsgType.Prepare) {
      unchecked((e.prepares[s] = v));
      this.checkPrepared(e);
    } else {
      unchecked((e.commits[s] = v));
      this.checkCommitted(e);
    }
  }

  private checkPrepared(e: Entry): void {
    if (e.prepared || e.pp == null) return;
    const pp = e.pp!;
    const matching = new Array<Vote>();
    for (let i = 0; i < this.n; i++) {
      const v = unchecked(e.prepares[i]);
      if (v != null && i != pp.sender && bytesEqual(v.digest, pp.digest)) matching.push(v);
    }
    // Prepared: the pre-prepare and quorum - 1 matching prepares, so a quorum accepted the proposal.
    if (matching.length < this.quorum - 1) return;
    e.prepared = true;
    const cert = new PreparedCert(pp);
    for (let i = 0; i < this.quorum - 1; i++) cert.prepares.push(unchecked(matching[i]));
    e.best = cert;
    if (!e.commitSent) {
      e.commitSent = true;
      this.sendVote(MsgType.Commit, e);
    }
    this.checkCommitted(e);
  }

  private checkCommitted(e: Entry): void {
    if (!e.prepared || e.pp == null || e.committed) return; // committed in an earlier view: stays so
    const pp = e.pp!;
    const wires = new Array<Uint8Array>();
    for (let i = 0; i < this.n; i++) {
      const v = unchecked(e.commits[i]);
      if (v != null && bytesEqual(v.digest, pp.digest)) wires.push(v.env!.wire);
    }
    if (wires.length < this.quorum) return;
    wires.length = this.quorum;
    e.committed = true;
    e.cPP = pp;
    e.cView = e.view;
    e.cCert = encodeCertificate(wires);
    this.tryExecute();
    this.askForMissing(e.seq);
  }

  // ---- catching up on commits we missed ------------------------------------------------------------------

  /** Seq `upTo` committed but an earlier one did not: ask the peers for proofs, once per lastExecuted. */
  private askForMissing(upTo: u64): void {
    if (this.fetching != 0 || upTo <= this.lastExecuted + 1 || this.askedAt == this.lastExecuted) return;
    this.askedAt = this.lastExecuted;
    const body = encodeFetchBody(this.self, this.lastExecuted + 1, upTo - 1);
    actBroadcast(encodeEnvelope(MsgType.Fetch, body, this.sign(MsgType.Fetch, body), null));
  }

  private sendProof(e: Entry, to: i32): void {
    const bit = (<u64>1) << <u64>to;
    if ((e.proofSentTo & bit) != 0 || e.cPP == null) return;
    e.proofSentTo |= bit;
    const proof = encodeCommitted(e.cPP!.env!.wire, e.cCert);
    if (proof.length <= this.maxMsg) actSend(to, proof);
  }

  private onFetch(env: Envelope): void {
    const r = new Reader(env.body, 64);
    const s = <i32>r.uint(255);
    const from = r.uint(MAX_SAFE);
    const to = r.uint(MAX_SAFE);
    if (!r.end() || to < from) {
      this.reject(Reject.Malformed, -1);
      return;
    }
    if (s >= this.n) {
      this.reject(Reject.BadSender, -1);
      return;
    }
    if (s == this.self) {
      this.reject(Reject.Duplicate, s);
      return;
    }
    if (!this.verifyEnv(env, s)) {
      this.reject(Reject.BadSignature, s);
      return;
    }
    // Below our low watermark only a checkpoint proof helps (it leads to state transfer); send it once.
    const bit = (<u64>1) << <u64>s;
    if (from <= this.low && this.low > 0 && (this.ckptProofSentTo & bit) == 0) {
      this.ckptProofSentTo |= bit;
      for (let i = 0; i < this.stable.proof.length; i++) actSend(s, unchecked(this.stable.proof[i]));
    }
    let seq = from > this.low ? from : this.low + 1;
    const last = to < this.low + this.window ? to : this.low + this.window;
    for (; seq <= last; seq++) {
      if (!this.log.has(seq)) continue;
      const e = this.log.get(seq);
      if (e.committed) this.sendProof(e, s);
    }
  }

  /** A relayed proof that a batch committed: a quorum of signed commits for its digest, and the batch itself. */
  private onCommitted(body: Uint8Array): void {
    const r = new Reader(body, this.maxMsg);
    const ppEnv = parseEnvelope(r.bytes(this.maxMsg), this.maxMsg);
    const certBytes = r.bytes(this.maxMsg);
    if (!r.end() || ppEnv == null) {
      this.reject(Reject.Malformed, -1);
      return;
    }
    const pp = parsePrePrepare(ppEnv, this.maxBatch, this.maxMsg, true);
    if (pp == null) {
      this.reject(Reject.Malformed, -1);
      return;
    }
    if (!this.inWindow(pp.seq)) {
      this.reject(Reject.OutOfWatermark, -1);
      return;
    }
    if (this.log.has(pp.seq) && this.log.get(pp.seq).committed) {
      this.reject(Reject.Duplicate, -1);
      return;
    }
    const cr = new Reader(certBytes, certBytes.length);
    const count = <i32>cr.uint(<u64>this.n);
    let seen: u64 = 0;
    let view: u64 = 0;
    for (let i = 0; i < count && cr.ok; i++) {
      const ce = parseEnvelope(cr.bytes(certBytes.length), certBytes.length);
      const v = ce != null ? parseVote(ce, MsgType.Commit) : null;
      if (v == null || v.sender >= this.n) {
        this.reject(Reject.Malformed, -1);
        return;
      }
      const bit = (<u64>1) << <u64>v.sender;
      if (i == 0) view = v.view;
      if ((seen & bit) != 0 || v.view != view || v.seq != pp.seq || !bytesEqual(v.digest, pp.digest)) {
        this.reject(Reject.BadCheckpoint, -1);
        return;
      }
      if (!this.verifyEnv(ce!, v.sender)) {
        this.reject(Reject.BadSignature, v.sender);
        return;
      }
      seen |= bit;
    }
    if (!cr.end() || count < this.quorum) {
      this.reject(Reject.Malformed, -1);
      return;
    }
    const digests = new Array<Uint8Array>(pp.batch.length);
    for (let i = 0; i < pp.batch.length; i++) {
      const b = unchecked(pp.batch[i]);
      if (parseRequest(b, this.maxMsg) == null) {
        this.reject(Reject.BadRequest, -1);
        return;
      }
      unchecked((digests[i] = sha256(b)));
    }
    if (!bytesEqual(batchDigestOf(pp.time, digests), pp.digest)) {
      this.reject(Reject.DigestMismatch, -1);
      return;
    }
    pp.reqDigests = digests;
    const e = this.entryFor(pp.seq);
    e.committed = true;
    e.cPP = pp;
    e.cView = view;
    e.cCert = certBytes;
    this.tryExecute();
    this.askForMissing(pp.seq);
  }

  private tryExecute(): void {
    let progressed = false;
    while (this.fetching == 0) {
      const next = this.lastExecuted + 1;
      if (!this.log.has(next)) break;
      const e = this.log.get(next);
      if (!e.committed || e.executed) break;
      this.execute(e);
      progressed = true;
    }
    if (!progressed) return;
    this.compactQueue();
    if (this.pendingLive > 0 && !this.changing) this.startVcTimer(0);
    else if (this.pendingLive == 0) this.stopVcTimer();
    this.tryPropose(false);
  }

  private execute(e: Entry): void {
    const pp = e.cPP!;
    let time = pp.time;
    if (time < this.lastTime) time = this.lastTime;
    this.lastTime = time;
    // The whole certified batch goes to the host (so it can rebuild what the certificate signs) with the
    // positions skipped as stale duplicates.
    const skipped = new Array<u32>();
    for (let i = 0; i < pp.batch.length; i++) {
      const bytes = unchecked(pp.batch[i]);
      let r = i < pp.reqDigests.length ? this.cache.get(unchecked(pp.reqDigests[i])) : null;
      if (r == null) r = parseRequest(bytes, this.maxMsg);
      if (r == null) {
        skipped.push(<u32>i); // unreachable: batches are checked before they prepare
        continue;
      }
      if (!this.clients.isStale(r.key, r.seq)) this.clients.record(r.key, r.seq);
      else skipped.push(<u32>i);
      this.retire(r);
    }
    e.executed = true;
    this.lastExecuted = e.seq;
    if (this.nextSeq < e.seq) this.nextSeq = e.seq;
    putU8(5);
    putF64(<f64>e.seq);
    putF64(<f64>e.cView);
    putF64(<f64>time);
    putF64(<f64>pp.time);
    putBytes(pp.digest);
    putU32(<u32>pp.batch.length);
    for (let i = 0; i < pp.batch.length; i++) putBytes(unchecked(pp.batch[i]));
    putU32(<u32>skipped.length);
    for (let i = 0; i < skipped.length; i++) putU32(unchecked(skipped[i]));
    putBytes(e.cCert);
    if (e.seq % this.K == 0) this.tableSnaps.set(e.seq, encodeTableSnapshot(time, this.clients));
  }

  // ---- checkpoints and state transfer --------------------------------------------------------------------

  /** The host applied batch `seq`; at checkpoint seqs its state digest goes into our checkpoint. */
  onExecuted(seq: u64, stateDigest: Uint8Array, trust: StaticArray<i64> | null): void {
    if (trust != null) this.execTrust = trust;
    if (seq == 0 || seq % this.K != 0 || seq > this.lastExecuted || seq < this.low) return;
    if (!this.tableSnaps.has(seq) || this.own.has(seq)) return;
    if (stateDigest.length != DIGEST_BYTES) {
      this.reject(Reject.StateMismatch, -1);
      return;
    }
    const snap = this.tableSnaps.get(seq);
    this.tableSnaps.delete(seq);
    const state = encodeReplicaState(seq, this.execTrust, snap);
    const own = new OwnCheckpoint(seq, stateDigest, state, sha256(state));
    this.own.set(seq, own);
    if (seq == this.low) {
      this.finishStable();
      return;
    }
    const body = encodeCheckpointBody(this.self, seq, stateDigest, own.replicaDigest);
    const sig = this.sign(MsgType.Checkpoint, body);
    const wire = encodeEnvelope(MsgType.Checkpoint, body, sig, null);
    actBroadcast(wire);
    const c = new Checkpoint();
    c.sender = this.self;
    c.seq = seq;
    c.stateDigest = stateDigest;
    c.replicaDigest = own.replicaDigest;
    c.env = new Envelope(MsgType.Checkpoint, body, sig, new Uint8Array(0), wire);
    if (seq <= this.low + this.window) {
      const votes = this.votesFor(seq);
      unchecked((votes[this.self] = c));
      this.checkStable(c);
    }
  }

  private votesFor(seq: u64): StaticArray<Checkpoint | null> {
    if (this.ckptVotes.has(seq)) return this.ckptVotes.get(seq);
    const v = new StaticArray<Checkpoint | null>(this.n);
    this.ckptVotes.set(seq, v);
    return v;
  }

  private onCheckpoint(env: Envelope): void {
    const c = parseCheckpoint(env);
    if (c == null || c.seq == 0 || c.seq % this.K != 0) {
      this.reject(Reject.Malformed, -1);
      return;
    }
    const s = c.sender;
    if (s >= this.n) {
      this.reject(Reject.BadSender, -1);
      return;
    }
    if (s == this.self) {
      this.reject(Reject.Duplicate, s);
      return;
    }
    if (c.seq < this.low) {
      this.reject(Reject.OutOfWatermark, s);
      return;
    }
    if (c.seq == this.low) return; // a late vote for the checkpoint that just became stable: nothing to do
    if (c.seq <= this.low + this.window) {
      const votes = this.votesFor(c.seq);
      const prior = unchecked(votes[s]);
      if (prior != null && bytesEqual(prior.env!.body, env.body)) {
        this.reject(Reject.Duplicate, s);
        return;
      }
      if (!this.verifyEnv(env, s)) {
        this.reject(Reject.BadSignature, s);
        return;
      }
      if (prior != null) {
        this.reject(Reject.Conflict, s);
        return;
      }
      unchecked((votes[s] = c));
    } else {
      // Beyond our high watermark: a peer is far ahead. Keep its last few votes to detect that we fell behind.
      const far = unchecked(this.farVotes[s]);
      for (let i = 0; i < far.length; i++) {
        const p = unchecked(far[i]);
        if (p.seq == c.seq) {
          this.reject(bytesEqual(p.env!.body, env.body) ? Reject.Duplicate : Reject.Conflict, s);
          return;
        }
      }
      if (!this.verifyEnv(env, s)) {
        this.reject(Reject.BadSignature, s);
        return;
      }
      if (far.length >= FAR_CHECKPOINTS_PER_PEER) far.shift();
      far.push(c);
    }
    this.checkStable(c);
  }

  /** A quorum of matching checkpoint votes for c's (seq, digests) make it stable. */
  private checkStable(c: Checkpoint): void {
    const wires = new Array<Uint8Array>();
    const senders = new Array<i32>();
    const inWindow = c.seq <= this.low + this.window;
    for (let i = 0; i < this.n; i++) {
      let v: Checkpoint | null = null;
      if (inWindow) {
        v = unchecked(this.votesFor(c.seq)[i]);
      } else {
        const far = unchecked(this.farVotes[i]);
        for (let j = 0; j < far.length; j++) if (unchecked(far[j]).seq == c.seq) v = unchecked(far[j]);
      }
      if (v != null && bytesEqual(v.stateDigest, c.stateDigest) && bytesEqual(v.replicaDigest, c.replicaDigest)) {
        wires.push(v.env!.wire);
        senders.push(i);
      }
    }
    if (wires.length < this.quorum) return;
    wires.length = this.quorum;
    senders.length = this.quorum;
    this.becomeStable(new Stable(c.seq, c.stateDigest, c.replicaDigest, wires, senders));
  }

  /** A proven stable checkpoint: move the low watermark, collect garbage, fetch state if we are behind. */
  private becomeStable(st: Stable): void {
    if (st.seq <= this.low) return;
    this.tryExecute();
    this.low = st.seq;
    this.stable = st;
    this.stableEmitted = false;
    // Garbage collection below the new low watermark.
    const seqs = this.log.keys();
    for (let i = 0; i < seqs.length; i++) if (unchecked(seqs[i]) <= st.seq) this.log.delete(unchecked(seqs[i]));
    const cs = this.ckptVotes.keys();
    for (let i = 0; i < cs.length; i++) if (unchecked(cs[i]) <= st.seq) this.ckptVotes.delete(unchecked(cs[i]));
    for (let s = 0; s < this.n; s++) {
      const far = unchecked(this.farVotes[s]);
      const keep = new Array<Checkpoint>();
      for (let j = 0; j < far.length; j++) {
        const c = unchecked(far[j]);
        if (c.seq > this.low + this.window) keep.push(c);
        else if (c.seq > this.low) {
          const votes = this.votesFor(c.seq);
          if (unchecked(votes[s]) == null) unchecked((votes[s] = c));
        }
      }
      unchecked((this.farVotes[s] = keep));
    }
    const os = this.own.keys();
    for (let i = 0; i < os.length; i++) if (unchecked(os[i]) < st.seq) this.own.delete(unchecked(os[i]));
    const ts = this.tableSnaps.keys();
    for (let i = 0; i < ts.length; i++) if (unchecked(ts[i]) < st.seq) this.tableSnaps.delete(unchecked(ts[i]));
    if (this.nextSeq < st.seq) this.nextSeq = st.seq;

    if (this.lastExecuted < st.seq) {
      this.requestState();
    } else if (this.own.has(st.seq)) {
      this.finishStable();
    } // else: our own `executed` for st.seq is still to come; onExecuted finishes it.
    // Votes that were beyond the old window may now complete a checkpoint.
    const later = this.ckptVotes.keys();
    later.sort(sortU64);
    for (let i = 0; i < later.length; i++) {
      const votes = this.ckptVotes.get(unchecked(later[i]));
      for (let s = 0; s < this.n; s++) {
        const c = unchecked(votes[s]);
        if (c != null && c.seq > this.low) {
          this.checkStable(c);
          break;
        }
      }
    }
    this.tryPropose(false);
  }

  private requestState(): void {
    this.fetching = this.stable.seq;
    putU8(8);
    putF64(<f64>this.stable.seq);
    putBytes(this.stable.stateDigest);
    let count: u32 = 0;
    for (let i = 0; i < this.stable.senders.length; i++) if (unchecked(this.stable.senders[i]) != this.self) count++;
    putU32(count);
    for (let i = 0; i < this.stable.senders.length; i++) {
      const s = unchecked(this.stable.senders[i]);
      if (s != this.self) putU32(<u32>s);
    }
  }

  /** Our own state at the stable checkpoint is known: compare, adopt its trust, tell the host. */
  private finishStable(): void {
    if (this.stableEmitted) return;
    const st = this.stable;
    const own = this.own.get(st.seq);
    if (!bytesEqual(own.stateDigest, st.stateDigest) || !bytesEqual(own.replicaDigest, st.replicaDigest)) {
      // We executed to a different state than a quorum proved: replace ours by theirs.
      this.reject(Reject.StateMismatch, -1);
      this.own.delete(st.seq);
      this.requestState();
      return;
    }
    this.stableEmitted = true;
    this.adoptTrustFrom(own.replicaState);
    putU8(6);
    putF64(<f64>st.seq);
    putBytes(st.stateDigest);
    putBytes(own.replicaState);
    putBytes(encodeCertificate(st.proof));
  }

  private adoptTrustFrom(state: Uint8Array): void {
    const st = decodeReplicaState(state, this.n);
    if (st == null || st.trust.length != this.n) return;
    this.setTrust(st.trust);
  }

  private setTrust(t: StaticArray<i64>): void {
    this.trust = t;
    this.order = leaderOrder(t, this.keys, this.trustFloor, this.f);
  }

  /** The host installed the state of the checkpoint we asked for (after fetchState). */
  onStateInstalled(seq: u64, stateDigest: Uint8Array, replicaState: Uint8Array): void {
    const st = this.stable;
    if (
      this.fetching == 0 ||
      seq != this.fetching ||
      !bytesEqual(stateDigest, st.stateDigest) ||
      !bytesEqual(sha256(replicaState), st.replicaDigest)
    ) {
      this.reject(Reject.StateMismatch, -1);
      return;
    }
    const decoded = decodeReplicaState(replicaState, this.n);
    if (decoded == null || decoded.seq != seq || decoded.trust.length != this.n) {
      this.reject(Reject.StateMismatch, -1);
      return;
    }
    this.clients = decoded.clients;
    this.lastTime = decoded.lastTime;
    this.execTrust = decoded.trust;
    this.lastExecuted = seq;
    this.fetching = 0;
    if (this.nextSeq < seq) this.nextSeq = seq;
    this.own.set(seq, new OwnCheckpoint(seq, stateDigest, replicaState, st.replicaDigest));
    this.stableEmitted = false;
    this.finishStable();
    this.tryExecute();
    this.tryPropose(false);
  }

  // ---- view change ---------------------------------------------------------------------------------------

  private startViewChange(v: u64): void {
    if (v <= this.view && this.changing) return;
    if (v < this.view) return;
    this.view = v;
    this.changing = true;
    this.primary = this.primaryOf(v);
    this.nvWire = null;
    this.stopBatchTimer();
    // Our view-change message: stable checkpoint proof + the prepared certificates above it.
    const seqs = this.log.keys();
    seqs.sort(sortU64);
    const certs = new Array<PreparedCert>();
    for (let i = 0; i < seqs.length; i++) {
      const e = this.log.get(unchecked(seqs[i]));
      if (e.seq > this.low && e.best != null) certs.push(e.best!);
    }
    const st = this.stable;
    const body = encodeViewChangeBody(this.self, v, st.seq, st.stateDigest, st.replicaDigest, st.proof, certs);
    const sig = this.sign(MsgType.ViewChange, body);
    const wire = encodeEnvelope(MsgType.ViewChange, body, sig, null);
    const env = new Envelope(MsgType.ViewChange, body, sig, new Uint8Array(0), wire);
    const vc = parseViewChange(env, this.n, this.maxBatch, <i32>this.window, this.maxMsg);
    if (vc != null) {
      vc.valid = true;
      this.fillReqDigests(vc);
      unchecked((this.vcLatest[this.self] = vc));
    }
    actBroadcast(wire);
    this.startVcTimer(this.vcAttempt);
    this.vcAttempt++;
    this.maybeSendNewView();
  }

  private fillReqDigests(vc: ViewChange): void {
    for (let i = 0; i < vc.certs.length; i++) {
      const pp = unchecked(vc.certs[i]).pp;
      if (pp.reqDigests.length == pp.batch.length) continue;
      const d = new Array<Uint8Array>(pp.batch.length);
      for (let j = 0; j < pp.batch.length; j++) unchecked((d[j] = sha256(unchecked(pp.batch[j]))));
      pp.reqDigests = d;
    }
  }

  /** Checks a view change's signature, checkpoint proof and prepared certificates. */
  private validViewChange(vc: ViewChange): bool {
    if (vc.valid) return true;
    const s = vc.sender;
    if (s >= this.n || !this.verifyEnv(vc.env!, s)) return false;
    if (!this.validCheckpointProof(vc.stableSeq, vc.stateDigest, vc.replicaDigest, vc.proof)) return false;
    let lastSeq = vc.stableSeq;
    for (let i = 0; i < vc.certs.length; i++) {
      const cert = unchecked(vc.certs[i]);
      const pp = cert.pp;
      if (pp.seq <= lastSeq || pp.seq > vc.stableSeq + this.window || pp.view >= vc.view) return false;
      lastSeq = pp.seq;
      if (pp.sender >= this.n || !this.verifyEnv(pp.env!, pp.sender)) return false;
      const d = new Array<Uint8Array>(pp.batch.length);
      for (let j = 0; j < pp.batch.length; j++) {
        const b = unchecked(pp.batch[j]);
        if (parseRequest(b, this.maxMsg) == null) return false;
        unchecked((d[j] = sha256(b)));
      }
      if (!bytesEqual(batchDigestOf(pp.time, d), pp.digest)) return false;
      pp.reqDigests = d;
      let seen: u64 = 0;
      let count = 0;
      for (let j = 0; j < cert.prepares.length; j++) {
        const p = unchecked(cert.prepares[j]);
        if (p.sender >= this.n || p.sender == pp.sender) return false;
        const bit = (<u64>1) << <u64>p.sender;
        if ((seen & bit) != 0) return false;
        if (p.view != pp.view || p.seq != pp.seq || !bytesEqual(p.digest, pp.digest)) return false;
        if (!this.verifyEnv(p.env!, p.sender)) return false;
        seen |= bit;
        count++;
      }
      if (count < this.quorum - 1) return false;
    }
    vc.valid = true;
    return true;
  }

  private validCheckpointProof(seq: u64, sd: Uint8Array, rd: Uint8Array, proof: Array<Checkpoint>): bool {
    if (seq == this.epochStart) {
      return proof.length == 0 && bytesEqual(sd, this.epochDigest) && bytesEqual(rd, new Uint8Array(DIGEST_BYTES));
    }
    if (seq < this.epochStart || seq % this.K != 0 || proof.length < this.quorum) return false;
    let seen: u64 = 0;
    for (let i = 0; i < proof.length; i++) {
      const c = unchecked(proof[i]);
      if (c.sender >= this.n) return false;
      const bit = (<u64>1) << <u64>c.sender;
      if ((seen & bit) != 0) return false;
      if (c.seq != seq || !bytesEqual(c.stateDigest, sd) || !bytesEqual(c.replicaDigest, rd)) return false;
      if (!this.verifyEnv(c.env!, c.sender)) return false;
      seen |= bit;
    }
    return true;
  }

  private onViewChange(env: Envelope): void {
    const vc = parseViewChange(env, this.n, this.maxBatch, <i32>this.window, this.maxMsg);
    if (vc == null) {
      this.reject(Reject.Malformed, -1);
      return;
    }
    const s = vc.sender;
    if (s >= this.n) {
      this.reject(Reject.BadSender, -1);
      return;
    }
    if (s == this.self) {
      this.reject(Reject.Duplicate, s);
      return;
    }
    const latest = unchecked(this.vcLatest[s]);
    if (vc.view < this.view || (vc.view == this.view && !this.changing)) {
      // A laggard still asking for the view we are in: hand it the new-view (signed by the primary).
      if (vc.view == this.view && this.nvWire != null) {
        const known = latest != null && bytesEqual(latest.env!.body, env.body);
        if (known || this.verifyEnv(env, s)) actSend(s, this.nvWire!);
      }
      this.reject(Reject.OldView, s);
      return;
    }
    if (latest != null && latest.view >= vc.view) {
      if (bytesEqual(latest.env!.body, env.body)) this.reject(Reject.Duplicate, s);
      else if (latest.view > vc.view) this.reject(Reject.OldView, s);
      else if (!this.verifyEnv(env, s)) this.reject(Reject.BadSignature, s);
      else this.reject(Reject.Conflict, s);
      return;
    }
    if (!this.verifyEnv(env, s)) {
      this.reject(Reject.BadSignature, s);
      return;
    }
    if (!this.validViewChange(vc)) {
      this.reject(Reject.BadViewChange, s);
      return;
    }
    unchecked((this.vcLatest[s] = vc));
    if (vc.stableSeq > this.low) this.adoptProof(vc);
    // f+1 replicas want a later view: at least one is honest, so join the smallest of those views.
    let count = 0;
    let smallest: u64 = U64.MAX_VALUE;
    for (let i = 0; i < this.n; i++) {
      const o = unchecked(this.vcLatest[i]);
      if (i == this.self || o == null) continue;
      if (o.view > this.view) {
        count++;
        if (o.view < smallest) smallest = o.view;
      }
    }
    if (count >= this.f + 1) this.startViewChange(smallest);
    this.maybeSendNewView();
  }

  private adoptProof(vc: ViewChange): void {
    const wires = new Array<Uint8Array>();
    const senders = new Array<i32>();
    for (let i = 0; i < vc.proof.length; i++) {
      const c = unchecked(vc.proof[i]);
      wires.push(c.env!.wire);
      senders.push(c.sender);
    }
    this.becomeStable(new Stable(vc.stableSeq, vc.stateDigest, vc.replicaDigest, wires, senders));
  }

  /** The primary-to-be, holding a quorum of view changes for its view, sends the new-view. */
  private maybeSendNewView(): void {
    if (!this.changing || this.primary != this.self || this.nvWire != null) return;
    const vcs = new Array<ViewChange>();
    const mine = unchecked(this.vcLatest[this.self]);
    if (mine == null || mine.view != this.view) return;
    vcs.push(mine);
    for (let i = 0; i < this.n && vcs.length < this.quorum; i++) {
      const o = unchecked(this.vcLatest[i]);
      if (i != this.self && o != null && o.view == this.view) vcs.push(o);
    }
    if (vcs.length < this.quorum) return;
    const o = this.computeO(vcs);
    const headers = new Array<Uint8Array>();
    const pps = new Array<PrePrepare>();
    for (let i = 0; i < o.items.length; i++) {
      const p = unchecked(o.items[i]);
      const body = encodePrePrepareBody(this.self, this.view, p.seq, p.time, p.digest);
      const sig = this.sign(MsgType.PrePrepare, body);
      const header = encodeEnvelope(MsgType.PrePrepare, body, sig, null);
      headers.push(header);
      pps.push(this.withBatch(new Envelope(MsgType.PrePrepare, body, sig, new Uint8Array(0), header), p));
    }
    const body = encodeNewViewBody(this.self, this.view, vcs, headers);
    const sig = this.sign(MsgType.NewView, body);
    const wire = encodeEnvelope(MsgType.NewView, body, sig, null);
    this.nvWire = wire;
    this.nvSentTo = 0;
    actBroadcast(wire);
    this.installNewView(this.view, o, pps);
  }

  /** A pre-prepare of the O set with its batch re-attached (so later view changes can carry it). */
  private withBatch(header: Envelope, p: Proposal): PrePrepare {
    const tail = encodeBatch(p.batch);
    const w = new Writer(header.wire.length + tail.length);
    w.fixed(header.wire);
    w.fixed(tail);
    const wire = w.finish();
    const pp = new PrePrepare();
    pp.sender = this.primary;
    pp.view = this.view;
    pp.seq = p.seq;
    pp.time = p.time;
    pp.digest = p.digest;
    pp.batch = p.batch;
    pp.reqDigests = p.reqDigests;
    pp.env = new Envelope(MsgType.PrePrepare, header.body, header.sig, wire.subarray(header.wire.length), wire);
    return pp;
  }

  /** The O set both the new primary and every backup derive from the same quorum of view changes. */
  private computeO(vcs: Array<ViewChange>): OSet {
    const o = new OSet();
    for (let i = 0; i < vcs.length; i++) {
      const vc = unchecked(vcs[i]);
      if (vc.stableSeq > o.minS || o.ckpt == null) {
        if (o.ckpt == null || vc.stableSeq > o.minS) {
          o.minS = vc.stableSeq;
          o.ckpt = vc;
        }
      }
    }
    o.maxS = o.minS;
    for (let i = 0; i < vcs.length; i++) {
      const certs = unchecked(vcs[i]).certs;
      for (let j = 0; j < certs.length; j++) {
        const s = unchecked(certs[j]).pp.seq;
        if (s > o.maxS) o.maxS = s;
      }
    }
    for (let seq = o.minS + 1; seq <= o.maxS; seq++) {
      let best: PrePrepare | null = null;
      for (let i = 0; i < vcs.length; i++) {
        const certs = unchecked(vcs[i]).certs;
        for (let j = 0; j < certs.length; j++) {
          const pp = unchecked(certs[j]).pp;
          if (pp.seq != seq) continue;
          if (
            best == null ||
            pp.view > best.view ||
            (pp.view == best.view && bytesCompare(pp.digest, best.digest) < 0)
          ) {
            best = pp;
          }
        }
      }
      if (best != null) {
        o.items.push(new Proposal(seq, best.digest, best.time, best.batch, best.reqDigests));
      } else {
        o.items.push(new Proposal(seq, nullDigest(), 0, new Array<Uint8Array>(), new Array<Uint8Array>()));
      }
    }
    return o;
  }

  private onNewView(env: Envelope): void {
    const nv = parseNewView(env, this.n, this.maxBatch, <i32>this.window, this.maxMsg);
    if (nv == null) {
      this.reject(Reject.Malformed, -1);
      return;
    }
    const s = nv.sender;
    if (s >= this.n) {
      this.reject(Reject.BadSender, -1);
      return;
    }
    if (nv.view < this.view || (nv.view == this.view && !this.changing)) {
      const nw = this.nvWire;
      this.reject(nw != null && nv.view == this.view && bytesEqual(nw, env.wire) ? Reject.Duplicate : Reject.OldView, s);
      return;
    }
    if (s != this.primaryOf(nv.view)) {
      this.reject(Reject.BadSender, s);
      return;
    }
    if (s == this.self) {
      this.reject(Reject.Duplicate, s);
      return;
    }
    if (!this.verifyEnv(env, s)) {
      this.reject(Reject.BadSignature, s);
      return;
    }
    const o = this.checkNewView(nv);
    if (o == null) {
      // Signed by the primary and wrong: the primary is faulty. Move on to the next view.
      this.reject(Reject.BadNewView, s);
      this.startViewChange(nv.view + 1);
      return;
    }
    this.view = nv.view;
    this.primary = s;
    this.nvWire = env.wire;
    this.nvSentTo = 0;
    const pps = new Array<PrePrepare>();
    for (let i = 0; i < o.items.length; i++) pps.push(this.withBatch(unchecked(nv.pps[i]).env!, unchecked(o.items[i])));
    this.installNewView(nv.view, o, pps);
  }

  /** Recomputes the O set from the new-view's view changes; null unless it is exactly what was sent. */
  private checkNewView(nv: NewView): OSet | null {
    const vcs = nv.vcs;
    if (vcs.length < this.quorum) return null;
    let seen: u64 = 0;
    for (let i = 0; i < vcs.length; i++) {
      let vc = unchecked(vcs[i]);
      if (vc.sender >= this.n || vc.view != nv.view) return null;
      const bit = (<u64>1) << <u64>vc.sender;
      if ((seen & bit) != 0) return null;
      seen |= bit;
      // A view change we already checked (byte-identical) is not checked again.
      const known = unchecked(this.vcLatest[vc.sender]);
      if (known != null && known.valid && bytesEqual(known.env!.body, vc.env!.body)) {
        vc = known;
        unchecked((vcs[i] = known));
      } else if (!this.validViewChange(vc)) {
        return null;
      }
    }
    const o = this.computeO(vcs);
    if (o.items.length != nv.pps.length) return null;
    for (let i = 0; i < o.items.length; i++) {
      const want = unchecked(o.items[i]);
      const got = unchecked(nv.pps[i]);
      if (got.sender != nv.sender || got.view != nv.view || got.seq != want.seq || got.time != want.time) return null;
      if (!bytesEqual(got.digest, want.digest)) return null;
      if (!this.verifyEnv(got.env!, got.sender)) return null;
    }
    return o;
  }

  private installNewView(v: u64, o: OSet, pps: Array<PrePrepare>): void {
    this.view = v;
    this.changing = true; // until the O set is in place: nothing may be proposed meanwhile
    this.primary = this.primaryOf(v);
    const ck = o.ckpt;
    if (ck != null && ck.stableSeq > this.low) this.adoptProof(ck);
    this.changing = false;
    this.vcAttempt = 0;
    this.stopVcTimer();
    this.stopBatchTimer();
    // Votes of earlier views no longer count; what committed stays committed.
    const vals = this.log.values();
    for (let i = 0; i < vals.length; i++) unchecked(vals[i]).resetVotes(v);
    for (let i = this.qHead; i < this.queue.length; i++) unchecked(this.queue[i]).proposed = false;
    this.cursor = this.qHead;
    for (let i = 0; i < pps.length; i++) {
      const pp = unchecked(pps[i]);
      if (!this.inWindow(pp.seq)) continue;
      for (let j = 0; j < pp.batch.length; j++) {
        const d = unchecked(pp.reqDigests[j]);
        let r = this.cache.get(d);
        if (r == null) {
          const parsed = parseRequest(unchecked(pp.batch[j]), this.maxMsg);
          if (parsed == null) continue; // unreachable: checked with the view change
          parsed.verified = true; // prepared by a quorum, so checked by an honest replica
          if (this.clients.isStale(parsed.key, parsed.seq)) continue;
          this.admit(parsed);
          r = parsed;
        }
        r.proposed = true;
      }
      const e = this.entryFor(pp.seq);
      e.pp = pp;
      if (this.self != this.primary) this.sendVote(MsgType.Prepare, e);
    }
    let next = o.maxS;
    if (next < this.low) next = this.low;
    if (next < this.lastExecuted) next = this.lastExecuted;
    this.nextSeq = next;
    actViewChanged(v, this.primary);
    for (let i = 0; i < pps.length; i++) {
      const seq = unchecked(pps[i]).seq;
      if (this.log.has(seq)) this.checkPrepared(this.log.get(seq));
    }
    this.replayFuture();
    if (this.pendingLive > 0 && !this.vcTimerOn) this.startVcTimer(0);
    this.tryExecute();
    this.tryPropose(false);
  }

  /**
   * A peer still talking in an older view (e.g. restarted without memory) gets the new-view that proves the
   * current one, once per view: it is signed by the primary, so the peer need not trust us.
   */
  private helpLaggard(s: i32): void {
    const nv = this.nvWire;
    if (nv == null || this.changing) return;
    const bit = (<u64>1) << <u64>s;
    if ((this.nvSentTo & bit) != 0) return;
    this.nvSentTo |= bit;
    actSend(s, nv);
  }

  // ---- future-view buffer --------------------------------------------------------------------------------

  private bufferFuture(s: i32, view: u64, env: Envelope, verified: bool): void {
    const buf = unchecked(this.future[s]);
    for (let i = 0; i < buf.length; i++) {
      if (bytesEqual(unchecked(buf[i]).env.body, env.body)) {
        this.reject(Reject.Duplicate, s);
        return;
      }
    }
    if (!verified && !this.verifyEnv(env, s)) {
      this.reject(Reject.BadSignature, s);
      return;
    }
    if (buf.length >= this.maxFuture) {
      this.reject(Reject.BufferFull, s);
      return;
    }
    buf.push(new Buffered(view, env));
    this.futureCount++;
    this.joinIfLeftBehind();
  }

  /**
   * f+1 peers signing normal-case messages in a later view means an honest one installed it: we missed its
   * new-view (restarted, partitioned). Ask for that view; the replicas in it answer with the new-view.
   */
  private joinIfLeftBehind(): void {
    const views = new Array<u64>();
    for (let s = 0; s < this.n; s++) {
      const buf = unchecked(this.future[s]);
      let top: u64 = 0;
      for (let i = 0; i < buf.length; i++) if (unchecked(buf[i]).view > top) top = unchecked(buf[i]).view;
      if (top > this.view) views.push(top);
    }
    if (views.length < this.f + 1) return;
    views.sort(sortU64);
    const target = unchecked(views[views.length - 1 - this.f]); // f+1 peers are at this view or later
    if (target > this.view) this.startViewChange(target);
  }

  private replayFuture(): void {
    const ready = new Array<Envelope>();
    for (let s = 0; s < this.n; s++) {
      const buf = unchecked(this.future[s]);
      const keep = new Array<Buffered>();
      for (let i = 0; i < buf.length; i++) {
        const b = unchecked(buf[i]);
        if (b.view > this.view) keep.push(b);
        else if (b.view == this.view) ready.push(b.env);
      }
      this.futureCount -= buf.length - keep.length;
      unchecked((this.future[s] = keep));
    }
    // Pre-prepares first, so the votes that follow find their proposal.
    for (let i = 0; i < ready.length; i++) {
      const e = unchecked(ready[i]);
      if (e.type == MsgType.PrePrepare) this.dispatch(e, true);
    }
    for (let i = 0; i < ready.length; i++) {
      const e = unchecked(ready[i]);
      if (e.type != MsgType.PrePrepare) this.dispatch(e, true);
    }
  }

  // ---- introspection -------------------------------------------------------------------------------------

  info(what: i32): f64 {
    if (what == 0) return <f64>this.view;
    if (what == 1) return <f64>this.primary;
    if (what == 2) return <f64>this.lastExecuted;
    if (what == 3) return <f64>this.low;
    if (what == 4) return this.changing ? 1 : 0;
    if (what == 5) return <f64>this.log.size;
    if (what == 6) return <f64>this.pendingLive;
    if (what == 7) return <f64>this.futureCount;
    return -1;
  }
}
