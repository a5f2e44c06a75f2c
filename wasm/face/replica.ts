// The PBFT replica's JS face. The replica itself is a pure state machine in the wasm core
// (wasm/assembly/pbft/): step(event) -> actions, no clock, no randomness, no I/O. This file only moves
// events and actions across the boundary in a compact binary form through the module's memory.
//
// Wire facts a host needs (all bytes are opaque to the host except where said):
// - Every peer message is `uint(type) ‖ bytes(body) ‖ sig64 [‖ batch]`, signed by its sender over
//   signingBytes('hygeia/pbft/<type>/v1', epochId ‖ body) (epochId: 32 bytes, see `epoch` below). The host
//   just moves `send`/`broadcast` bytes to peers and steps them in as { kind: 'message', from }.
// - Authenticated channels. `from` is the validator index the transport authenticated as the message's
//   sender (-1 if it cannot say). A vote whose body names that same sender counts at once and its signature
//   is checked only when a quorum is built from it, all of the quorum's in one batch; a message relayed by
//   someone else is checked on arrival. A fetch (type 9) carries no signature and is answered only when its
//   channel is its sender's.
// - Epochs. A replica serves one validator set from one stable checkpoint on (`epoch`): every signature it
//   makes or checks covers the epoch id, so a vote (commit, checkpoint, view change) signed in one epoch is
//   never valid in another, and commit certificates are checked with the epoch id (`verifyCommitCertificate`).
//   The epoch's start (startSeq, startDigest) is stable by construction; the host creates the replicas of the
//   new set at the same checkpoint. Without `epoch` a replica runs from genesis (seq 0, zero digest) under the
//   default epoch id, 32 zero bytes: for tests and tools; a consortium always passes its epochId. Client
//   requests are signed by their clients and carry no epoch.
// - A client request travels as { kind: 'request' } (from a client) or inside a 'message' (forwarded
//   by a backup to the primary). Submitting a request to every replica is fine and is what makes backups
//   start their view-change timer when the primary is silent; de-duplication is by (clientKey, clientSeq).
// - After every `execute` action the host applies the batch and steps { kind: 'executed' } for that seq
//   (in order, every seq, including empty batches). At seq % checkpointInterval === 0 its stateDigest is
//   what replicas sign in checkpoints.
// - `checkpointStable` carries `replicaState`: the replica's own deterministic state at that checkpoint
//   (client de-dup table, trust scores, last batch time). The host stores it with its snapshot and ships it
//   with state transfer; `stateInstalled` hands it back and the replica checks it against the proof.
// - Message types on the wire: 1 forwarded request, 2 pre-prepare, 3 prepare, 4 commit, 5 checkpoint,
//   6 view-change, 7 new-view, 8 commit proof (batch + a quorum of commits, relayed to a replica that lacks a seq),
//   9 fetch (a lagging replica asks for commit proofs). Types 1 and 8 carry no relayer signature: they are
//   self-authenticating (a client signature; a quorum of replica signatures); type 9 carries none either.
// - A quorum is ceil((n + f + 1) / 2) with f = floor((n - 1) / 3) (`replicaQuorum`): 2f + 1 when n = 3f + 1,
//   more for other n (two quorums must share an honest replica). A prepared certificate is the pre-prepare and
//   quorum - 1 prepares.
// - Every dropped input yields a `rejected` action, except votes that arrive after their quorum was complete
//   (normal with n > 3f+1 or any delay): they are ignored unread, without a signature check.
// - A view change carries every prepared batch above the stable checkpoint: keep
//   watermarkWindow × maxBatch × request size within maxMessageBytes (or view changes cannot be sent).
// - A replica restarted without its memory rejoins: peers hand it the current new-view and commit proofs,
//   or it catches up by state transfer at the next stable checkpoint. It may not be counted as honest for
//   the seqs it voted on before the crash (an amnesiac replica can vote twice); the host may persist it.
import { core, type CoreExports } from './instance.ts';
import { ActionKind, CreateError, EventKind, InfoCode, Reject, TimerKind as TimerCode } from './replica-boundary.ts';

export interface ReplicaOptions {
  /** 32-byte Ed25519 public keys in genesis order; replica id = index. 1 <= n <= 64. */
  validators: Uint8Array[];
  /** This replica's index. */
  self: number;
  /** This replica's 32-byte Ed25519 seed; copied into wasm memory, wiped on dispose(). */
  secretKey: Uint8Array;
  /** K: a checkpoint every K sequence numbers. */
  checkpointInterval: number;
  /** high - low watermark; a positive multiple of K. */
  watermarkWindow: number;
  /** Requests per pre-prepare (1..1024). */
  maxBatch: number;
  /** Initial integer trust scores per validator (default: all equal). */
  trust?: number[];
  /** Validators whose trust is below it are skipped as primary (at most f of them). Default: -2^53, so none is. */
  trustFloor?: number;
  /** A backup rejects a proposed batch time further than this from its own `now` (default 30_000). */
  maxClockSkew?: number;
  /** Largest accepted message or request, in bytes (default 16 MiB). */
  maxMessageBytes?: number;
  /** Bound on verified client requests waiting to be ordered (default 8192). */
  maxPendingRequests?: number;
  /** Bound on messages buffered per peer for views ahead of ours (default 64). */
  maxFutureMessagesPerPeer?: number;
  /** The epoch this replica serves (default: genesis, id 32 zero bytes). */
  epoch?: ReplicaEpoch;
  /**
   * Restart at this node's own last stable checkpoint of the current epoch (above `epoch.startSeq`), as the
   * host stored it from a `checkpointStable` action: the replica checks the certificate (a quorum of this
   * epoch's checkpoint messages for seq, stateDigest and sha256(replicaState)) and starts there. The host
   * restores its application from the snapshot at the same seq.
   */
  resumeFrom?: ReplicaCheckpoint;
}

export interface ReplicaEpoch {
  /** 32 bytes: covered by every signature (the ledger's epochId of the validator set and its start). */
  id: Uint8Array;
  /** The stable checkpoint the epoch starts at: 0 or a multiple of checkpointInterval. Low watermark and
   * lastExecuted start here; nothing at or below it is accepted. */
  startSeq: number;
  /** 32 bytes: the state digest at startSeq (the host's block hash there; zeros at genesis). */
  startDigest: Uint8Array;
  /**
   * The replicaState of the checkpoint at startSeq, certified in the previous epoch (`checkpointStable`): its
   * client de-duplication table and last batch time carry over, so requests executed before the switch are
   * not executed again and block times never go back. Omit it only at genesis.
   */
  replicaState?: Uint8Array;
}

export interface ReplicaCheckpoint {
  seq: number;
  stateDigest: Uint8Array;
  replicaState: Uint8Array;
  /** The checkpoint certificate of the `checkpointStable` action. */
  certificate: Uint8Array;
}

export type TimerKind = Uncapitalize<keyof typeof TimerCode>;

export type ReplicaEvent =
  /** `from`: the validator the transport authenticated as the sender, -1 if none (see the header). */
  | { kind: 'message'; bytes: Uint8Array; now: number; from: number }
  | { kind: 'request'; bytes: Uint8Array; now: number }
  | { kind: 'timer'; timer: TimerKind; now: number }
  | { kind: 'executed'; seq: number; stateDigest: Uint8Array; trust?: number[] }
  | { kind: 'stateInstalled'; seq: number; stateDigest: Uint8Array; replicaState: Uint8Array };

/**
 * Why an input was dropped: the names of `Reject` in replica-boundary.ts (each explained in its table,
 * wasm/gen/boundary.json), lower camel case. Stable names: tests and the anomaly detector match on them.
 */
export type RejectReason = Uncapitalize<keyof typeof Reject>;

export type ReplicaAction =
  | { kind: 'send'; to: number; bytes: Uint8Array }
  | { kind: 'broadcast'; bytes: Uint8Array }
  | { kind: 'setTimer'; timer: TimerKind; attempt: number }
  | { kind: 'cancelTimer'; timer: TimerKind }
  | {
      kind: 'execute';
      seq: number;
      /** The view whose quorum of commits forms `certificate`. */
      view: number;
      /** The agreed execution time: max(batchTime, the previous batch's time), so it never goes backwards. */
      time: number;
      /** The time the primary proposed, as signed under `batchDigest` (0 for a null batch). */
      batchTime: number;
      /** sha256(uint(batchTime) ‖ uint(count) ‖ sha256(request_i)…): what the certificate's commits sign. */
      batchDigest: Uint8Array;
      /** The requests to apply, in order: `batch` without the skipped positions. */
      requests: Uint8Array[];
      /** The whole certified batch, in order, each the client's signed request bytes. */
      batch: Uint8Array[];
      /** Positions in `batch` not executed: a client seq that was already executed (de-duplication). */
      skipped: number[];
      /** Canonical bytes of a quorum of signed commits for (view, seq, batchDigest): uint(k) ‖ k × bytes(commit). */
      certificate: Uint8Array;
    }
  | { kind: 'checkpointStable'; seq: number; stateDigest: Uint8Array; replicaState: Uint8Array; certificate: Uint8Array }
  | { kind: 'viewChanged'; view: number; primary: number }
  | { kind: 'fetchState'; seq: number; stateDigest: Uint8Array; peers: number[] }
  | { kind: 'rejected'; reason: RejectReason; from: number };

/** Raised for bad options or undecodable inputs to the helpers below. */
export class ReplicaError extends Error {
  override readonly name = 'ReplicaError';
  constructor(
    readonly code: 'badOptions' | 'disposed' | 'malformed' | 'badKey' | 'badCheckpoint',
    message: string,
  ) {
    super(message);
  }
}

const uncapitalize = <T extends string>(name: T): Uncapitalize<T> => (name.charAt(0).toLowerCase() + name.slice(1)) as Uncapitalize<T>;
/** Code -> name, from the boundary's table. */
function names<T extends string>(table: Record<T, number>): Uncapitalize<T>[] {
  const out: Uncapitalize<T>[] = [];
  for (const [name, code] of Object.entries(table) as [T, number][]) out[code] = uncapitalize(name);
  return out;
}
const REJECT_REASONS: readonly RejectReason[] = names(Reject);
const TIMERS: readonly TimerKind[] = names(TimerCode);
/** The epoch id of a replica started without `epoch` (tests and tools): 32 zero bytes. */
const DEFAULT_EPOCH_ID = new Uint8Array(32);
const ZERO_DIGEST = new Uint8Array(32);

interface PbftExports extends CoreExports {
  pbftInput(len: number): number;
  pbftEventBuffer(len: number): number;
  pbftCryptoCounters(): number;
  pbftOutputLen(): number;
  pbftCreate(len: number): number;
  pbftStep(handle: number, kind: number, a: number, b: number, len: number): number;
  pbftInfo(handle: number, what: number): number;
  pbftDispose(handle: number): void;
  pbftEncodeRequest(clientSeq: number, payloadLen: number): number;
  pbftDecodeRequest(len: number): number;
  pbftVerifyCommitCert(n: number, seq: number, certLen: number): number;
  pbftBatchDigest(time: number, count: number, len: number): number;
  pbftPublicKey(): number;
  pbftQuorum(n: number): number;
}

function ex(): PbftExports {
  return core<PbftExports>();
}

/** Copies `parts` into the module's input scratch buffer and returns the total length. */
function writeInput(e: PbftExports, parts: readonly Uint8Array[]): number {
  let len = 0;
  for (const p of parts) len += p.length;
  const ptr = e.pbftInput(len);
  const mem = new Uint8Array(e.memory.buffer, ptr, len);
  let off = 0;
  for (const p of parts) {
    mem.set(p, off);
    off += p.length;
  }
  return len;
}

const NO_OUTPUT = new Uint8Array(0);

function readOutput(e: PbftExports, ptr: number): Uint8Array {
  const len = e.pbftOutputLen();
  if (len === 0) return NO_OUTPUT; // most steps (a request queued, a vote counted) act on nothing
  return new Uint8Array(e.memory.buffer, ptr, len).slice();
}

function u32le(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return b;
}
function f64le(v: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, v, true);
  return b;
}

function checkInt(name: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new ReplicaError('badOptions', `${name} must be an integer in [${min}, ${max}]`);
  }
}

// Config layout (little endian), read by pbftCreate:
// u32 n, u32 self, u32 K, u32 window, u32 maxBatch, f64 trustFloor, f64 maxClockSkew, u32 maxMessageBytes,
// u32 maxPendingRequests, u32 maxFuturePerPeer, n × (32-byte key), n × f64 trust, 32-byte seed,
// epochId32, f64 startSeq, startDigest32, u32 hasStartState, u32 len ‖ startState,
// f64 resumeSeq (0: none), resumeDigest32, u32 len ‖ resumeState, u32 len ‖ resumeCertificate.
function encodeOptions(o: ReplicaOptions): Uint8Array[] {
  const n = o.validators.length;
  checkInt('validators.length', n, 1, 64);
  checkInt('self', o.self, 0, n - 1);
  checkInt('checkpointInterval', o.checkpointInterval, 1, 1 << 20);
  checkInt('watermarkWindow', o.watermarkWindow, o.checkpointInterval, 1 << 22);
  if (o.watermarkWindow % o.checkpointInterval !== 0) {
    throw new ReplicaError('badOptions', 'watermarkWindow must be a multiple of checkpointInterval');
  }
  checkInt('maxBatch', o.maxBatch, 1, 1024);
  if (o.secretKey.length !== 32) throw new ReplicaError('badKey', 'secretKey must be a 32-byte seed');
  for (const k of o.validators) {
    if (k.length !== 32) throw new ReplicaError('badKey', 'every validator key must be 32 bytes');
  }
  const trust = o.trust ?? new Array<number>(n).fill(0);
  if (trust.length !== n) throw new ReplicaError('badOptions', 'trust must have one score per validator');
  for (const t of trust) checkInt('trust[i]', t, -(2 ** 52), 2 ** 52);
  const trustFloor = o.trustFloor ?? -(2 ** 53);
  const skew = o.maxClockSkew ?? 30_000;
  checkInt('maxClockSkew', skew, 0, 2 ** 52);
  const maxMsg = o.maxMessageBytes ?? 16 << 20;
  checkInt('maxMessageBytes', maxMsg, 1024, 64 << 20);
  const maxPending = o.maxPendingRequests ?? 8192;
  checkInt('maxPendingRequests', maxPending, 1, 1 << 20);
  const maxFuture = o.maxFutureMessagesPerPeer ?? 64;
  checkInt('maxFutureMessagesPerPeer', maxFuture, 1, 1 << 16);
  const parts: Uint8Array[] = [
    u32le(n),
    u32le(o.self),
    u32le(o.checkpointInterval),
    u32le(o.watermarkWindow),
    u32le(o.maxBatch),
    f64le(trustFloor),
    f64le(skew),
    u32le(maxMsg),
    u32le(maxPending),
    u32le(maxFuture),
  ];
  for (const k of o.validators) parts.push(k);
  for (const t of trust) parts.push(f64le(t));
  parts.push(o.secretKey);
  const epoch = o.epoch ?? { id: DEFAULT_EPOCH_ID, startSeq: 0, startDigest: ZERO_DIGEST };
  if (epoch.id.length !== 32 || epoch.startDigest.length !== 32) throw new ReplicaError('badOptions', 'epoch id and startDigest are 32 bytes');
  checkInt('epoch.startSeq', epoch.startSeq, 0, Number.MAX_SAFE_INTEGER);
  if (epoch.startSeq % o.checkpointInterval !== 0) throw new ReplicaError('badOptions', 'epoch.startSeq must be a multiple of checkpointInterval');
  const startState = epoch.replicaState ?? new Uint8Array(0);
  parts.push(epoch.id, f64le(epoch.startSeq), epoch.startDigest, u32le(epoch.replicaState ? 1 : 0), u32le(startState.length), startState);
  const resume = o.resumeFrom;
  if (resume) {
    checkInt('resumeFrom.seq', resume.seq, epoch.startSeq + 1, Number.MAX_SAFE_INTEGER);
    if (resume.stateDigest.length !== 32) throw new ReplicaError('badOptions', 'resumeFrom.stateDigest is 32 bytes');
  }
  parts.push(
    f64le(resume?.seq ?? 0),
    resume?.stateDigest ?? ZERO_DIGEST,
    u32le(resume?.replicaState.length ?? 0),
    resume?.replicaState ?? new Uint8Array(0),
    u32le(resume?.certificate.length ?? 0),
    resume?.certificate ?? new Uint8Array(0),
  );
  return parts;
}

/** The action stream's fields, read in order (a cursor object, not closures made again for every step). */
class ActionCursor {
  private p = 0;
  private readonly dv: DataView;
  constructor(private readonly buf: Uint8Array) {
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  get more(): boolean {
    return this.p < this.buf.length;
  }
  byte(): number {
    return this.buf[this.p++]!;
  }
  u32(): number {
    const v = this.dv.getUint32(this.p, true);
    this.p += 4;
    return v;
  }
  i32(): number {
    const v = this.dv.getInt32(this.p, true);
    this.p += 4;
    return v;
  }
  f64(): number {
    const v = this.dv.getFloat64(this.p, true);
    this.p += 8;
    return v;
  }
  bytes(): Uint8Array {
    const len = this.u32();
    const b = this.buf.subarray(this.p, this.p + len);
    this.p += len;
    return b;
  }
}

/** Decodes the action stream written by pbftStep (layout documented in wasm/assembly/pbft/io.ts). */
function decodeActions(buf: Uint8Array): ReplicaAction[] {
  const out: ReplicaAction[] = [];
  if (buf.length === 0) return out;
  const c = new ActionCursor(buf);
  while (c.more) {
    const kind = c.byte();
    switch (kind) {
      case ActionKind.Send:
        out.push({ kind: 'send', to: c.u32(), bytes: c.bytes() });
        break;
      case ActionKind.Broadcast:
        out.push({ kind: 'broadcast', bytes: c.bytes() });
        break;
      case ActionKind.SetTimer:
        out.push({ kind: 'setTimer', timer: TIMERS[c.u32()]!, attempt: c.u32() });
        break;
      case ActionKind.CancelTimer:
        out.push({ kind: 'cancelTimer', timer: TIMERS[c.u32()]! });
        break;
      case ActionKind.Execute: {
        const seq = c.f64();
        const view = c.f64();
        const time = c.f64();
        const batchTime = c.f64();
        const batchDigest = c.bytes();
        const count = c.u32();
        const batch: Uint8Array[] = [];
        for (let i = 0; i < count; i++) batch.push(c.bytes());
        const k = c.u32();
        const skipped: number[] = [];
        for (let i = 0; i < k; i++) skipped.push(c.u32());
        const certificate = c.bytes();
        const requests = k === 0 ? batch : batch.filter((_, i) => !skipped.includes(i));
        out.push({ kind: 'execute', seq, view, time, batchTime, batchDigest, requests, batch, skipped, certificate });
        break;
      }
      case ActionKind.CheckpointStable: {
        const seq = c.f64();
        const stateDigest = c.bytes();
        const replicaState = c.bytes();
        const certificate = c.bytes();
        out.push({ kind: 'checkpointStable', seq, stateDigest, replicaState, certificate });
        break;
      }
      case ActionKind.ViewChanged:
        out.push({ kind: 'viewChanged', view: c.f64(), primary: c.u32() });
        break;
      case ActionKind.FetchState: {
        const seq = c.f64();
        const stateDigest = c.bytes();
        const count = c.u32();
        const peers: number[] = [];
        for (let i = 0; i < count; i++) peers.push(c.u32());
        out.push({ kind: 'fetchState', seq, stateDigest, peers });
        break;
      }
      case ActionKind.Rejected: {
        const reason = REJECT_REASONS[c.u32()] ?? 'malformed';
        const from = c.i32();
        out.push({ kind: 'rejected', reason, from });
        break;
      }
      default:
        throw new ReplicaError('malformed', `unknown action kind ${kind} from the wasm replica`);
    }
  }
  return out;
}

export class Replica {
  #handle: number;
  readonly n: number;
  readonly f: number;
  /** Votes that decide anything: replicaQuorum(n). */
  readonly quorum: number;
  readonly self: number;

  constructor(opts: ReplicaOptions) {
    const e = ex();
    const parts = encodeOptions(opts);
    const len = writeInput(e, parts);
    const h = e.pbftCreate(len);
    // The seed was copied into the scratch buffer: wipe it there now that the replica holds its own copy.
    new Uint8Array(e.memory.buffer, e.pbftInput(0), len).fill(0);
    if (h === -CreateError.BadKey) throw new ReplicaError('badKey', 'secretKey is not the key of validator `self`');
    if (h === -CreateError.BadEpochStart) throw new ReplicaError('badOptions', 'epoch.replicaState does not decode as the replica state at epoch.startSeq');
    if (h === -CreateError.BadResume)
      throw new ReplicaError('badCheckpoint', 'resumeFrom does not hold: its certificate is not a quorum of this epoch for its seq, digest and replica state');
    if (h < 0) throw new ReplicaError('badOptions', `the wasm replica refused its options (code ${-h})`);
    this.#handle = h;
    this.n = opts.validators.length;
    this.f = Math.floor((this.n - 1) / 3);
    this.quorum = replicaQuorum(this.n);
    this.self = opts.self;
  }

  #h(): number {
    if (this.#handle < 0) throw new ReplicaError('disposed', 'this replica was disposed');
    return this.#handle;
  }

  step(event: ReplicaEvent): ReplicaAction[] {
    const h = this.#h();
    const e = ex();
    let ptr: number;
    switch (event.kind) {
      case 'message':
      case 'request': {
        // Straight into a buffer the replica keeps: one copy across the boundary.
        const len = event.bytes.length;
        const at = e.pbftEventBuffer(len); // may grow the memory: take the buffer after it
        new Uint8Array(e.memory.buffer, at, len).set(event.bytes);
        const from = event.kind === 'message' && Number.isInteger(event.from) ? event.from : -1;
        ptr = e.pbftStep(h, event.kind === 'message' ? EventKind.Message : EventKind.Request, event.now, from, len);
        break;
      }
      case 'timer':
        ptr = e.pbftStep(h, EventKind.Timer, event.now, TIMERS.indexOf(event.timer), 0);
        break;
      case 'executed': {
        const parts: Uint8Array[] = [u32le(event.stateDigest.length), event.stateDigest];
        if (event.trust) {
          if (event.trust.length !== this.n) throw new ReplicaError('badOptions', 'trust must have one score per validator');
          for (const t of event.trust) {
            checkInt('trust[i]', t, -(2 ** 52), 2 ** 52);
            parts.push(f64le(t));
          }
        }
        const len = writeInput(e, parts);
        ptr = e.pbftStep(h, EventKind.Executed, event.seq, event.trust ? 1 : 0, len);
        break;
      }
      case 'stateInstalled': {
        const len = writeInput(e, [u32le(event.stateDigest.length), event.stateDigest, event.replicaState]);
        ptr = e.pbftStep(h, EventKind.StateInstalled, event.seq, 0, len);
        break;
      }
    }
    return decodeActions(readOutput(e, ptr));
  }

  /** One of the replica's counters (pbftInfo), by its code. */
  #info(code: (typeof InfoCode)[keyof typeof InfoCode]): number {
    return ex().pbftInfo(this.#h(), code);
  }

  get view(): number {
    return this.#info(InfoCode.View);
  }
  get primary(): number {
    return this.#info(InfoCode.Primary);
  }
  get lastExecuted(): number {
    return this.#info(InfoCode.LastExecuted);
  }
  get lowWatermark(): number {
    return this.#info(InfoCode.LowWatermark);
  }
  /** True while a view change is in progress (no new-view accepted yet). */
  get changingView(): boolean {
    return this.#info(InfoCode.ChangingView) !== 0;
  }
  /** Number of log entries held (bounded by the watermark window); for tests and metrics. */
  get logSize(): number {
    return this.#info(InfoCode.LogSize);
  }
  /** Verified client requests waiting to be ordered (bounded by maxPendingRequests). */
  get pendingRequests(): number {
    return this.#info(InfoCode.PendingRequests);
  }
  /** Messages buffered for future views, over all peers (bounded). */
  get bufferedMessages(): number {
    return this.#info(InfoCode.BufferedMessages);
  }

  /** Wipes the secret key inside the wasm module and frees the replica. Idempotent. */
  dispose(): void {
    if (this.#handle < 0) return;
    ex().pbftDispose(this.#handle);
    this.#handle = -1;
  }
}

/**
 * The replica's quorum for n validators, ceil((n + f + 1) / 2) with f = floor((n - 1) / 3), computed by the
 * wasm core itself (so a test can hold it equal to the ledger's `quorumSize`).
 */
export function replicaQuorum(n: number): number {
  checkInt('n', n, 1, 64);
  return ex().pbftQuorum(n);
}

/** The Ed25519 public key of a 32-byte seed, derived by the wasm core exactly as a replica derives its own. */
export function replicaPublicKey(secretKey: Uint8Array): Uint8Array {
  if (secretKey.length !== 32) throw new ReplicaError('badKey', 'secretKey must be a 32-byte seed');
  const e = ex();
  writeInput(e, [secretKey]);
  const pk = readOutput(e, e.pbftPublicKey());
  new Uint8Array(e.memory.buffer, e.pbftInput(0), 32).fill(0);
  return pk;
}

/** A client's signed request: canonical { clientKey, clientSeq, payload, signature }. */
export function encodeClientRequest(secretKey: Uint8Array, clientSeq: number, payload: Uint8Array): Uint8Array {
  if (secretKey.length !== 32) throw new ReplicaError('badKey', 'secretKey must be a 32-byte seed');
  checkInt('clientSeq', clientSeq, 0, Number.MAX_SAFE_INTEGER);
  const e = ex();
  const len = writeInput(e, [secretKey, payload]);
  const ptr = e.pbftEncodeRequest(clientSeq, payload.length);
  new Uint8Array(e.memory.buffer, e.pbftInput(0), len).fill(0, 0, 32);
  return readOutput(e, ptr);
}

/** Decodes (and checks the canonical shape of, not the signature of) a client request. */
export function decodeClientRequest(bytes: Uint8Array): { clientKey: Uint8Array; clientSeq: number; payload: Uint8Array } {
  const e = ex();
  const len = writeInput(e, [bytes]);
  const ptr = e.pbftDecodeRequest(len);
  if (ptr === 0) throw new ReplicaError('malformed', 'not a canonical client request');
  const out = readOutput(e, ptr);
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  return { clientKey: out.slice(0, 32), clientSeq: dv.getFloat64(32, true), payload: out.slice(40) };
}

/**
 * Checks a commit certificate (from an `execute` action) against the validator set of its epoch: a quorum of
 * commits from distinct validators, each signed under `epochId` (default: the default epoch's 32 zero bytes),
 * for exactly (seq, batchDigest) in one view.
 */
export function verifyCommitCertificate(cert: Uint8Array, validators: Uint8Array[], seq: number, batchDigest: Uint8Array, epochId: Uint8Array = DEFAULT_EPOCH_ID): boolean {
  if (validators.length < 1 || validators.length > 64 || batchDigest.length !== 32 || epochId.length !== 32) return false;
  if (!Number.isInteger(seq) || seq < 1) return false;
  for (const k of validators) if (k.length !== 32) return false;
  const e = ex();
  // Fresh randomness for the coefficients of the batch check (the wasm core has none of its own).
  const random = crypto.getRandomValues(new Uint8Array(32));
  writeInput(e, [...validators, epochId, batchDigest, random, cert]);
  return e.pbftVerifyCommitCert(validators.length, seq, cert.length) === 1;
}

/** What the replicas' signature code did in this module so far (the consensus bench splits time by it). */
export interface ReplicaCryptoCounters {
  signatures: number;
  /** Signatures checked one at a time (including a failed batch's search for the bad one). */
  verifications: number;
  /** Signatures checked inside batches, and how many batches. */
  batchedVerifications: number;
  batches: number;
  hashes: number;
  hashedBytes: number;
}

export function replicaCryptoCounters(): ReplicaCryptoCounters {
  const e = ex();
  const ptr = e.pbftCryptoCounters();
  const v = new Float64Array(e.memory.buffer.slice(ptr, ptr + 48));
  return { signatures: v[0]!, verifications: v[1]!, batchedVerifications: v[2]!, batches: v[3]!, hashes: v[4]!, hashedBytes: v[5]! };
}

/**
 * The digest replicas agree on for a batch: sha256(uint(time) ‖ uint(count) ‖ sha256(request_i)...),
 * so the agreed time is covered by the commit certificate.
 */
export function batchDigest(time: number, requests: Uint8Array[]): Uint8Array {
  checkInt('time', time, 0, Number.MAX_SAFE_INTEGER);
  const e = ex();
  const parts: Uint8Array[] = [];
  for (const r of requests) parts.push(u32le(r.length), r);
  const len = writeInput(e, parts);
  return readOutput(e, e.pbftBatchDigest(time, requests.length, len));
}
