// Names shared by the replica's files: message types, their signing tags, reject reasons, timers.

/** Wire type of a peer message: the first uint of every message. */
export enum MsgType {
  Request = 1, // a client request forwarded by a backup (carries the client's own signature)
  PrePrepare = 2,
  Prepare = 3,
  Commit = 4,
  Checkpoint = 5,
  ViewChange = 6,
  NewView = 7,
  Committed = 8, // a relayed proof that a batch committed: the batch and a quorum of signed commits (no relayer signature)
  Fetch = 9, // a lagging replica asks for proofs of seqs it misses
}

export const TAG_REQUEST = "hygeia/pbft/request/v1";

/** The domain-separation tag each message type is signed under. */
export function tagFor(t: u32): string {
  if (t == MsgType.PrePrepare) return "hygeia/pbft/preprepare/v1";
  if (t == MsgType.Prepare) return "hygeia/pbft/prepare/v1";
  if (t == MsgType.Commit) return "hygeia/pbft/commit/v1";
  if (t == MsgType.Checkpoint) return "hygeia/pbft/checkpoint/v1";
  if (t == MsgType.ViewChange) return "hygeia/pbft/viewchange/v1";
  if (t == MsgType.NewView) return "hygeia/pbft/newview/v1";
  if (t == MsgType.Fetch) return "hygeia/pbft/fetch/v1";
  return TAG_REQUEST;
}

/** Why an input was dropped; the order matches REJECT_REASONS in wasm/face/replica.ts. */
export enum Reject {
  Malformed = 0,
  Oversize = 1,
  BadSender = 2,
  BadSignature = 3,
  Duplicate = 4,
  OldView = 5,
  OutOfWatermark = 6,
  Conflict = 7,
  DigestMismatch = 8,
  BadRequest = 9,
  StaleRequest = 10,
  ClockSkew = 11,
  BadCheckpoint = 12,
  BadViewChange = 13,
  BadNewView = 14,
  BufferFull = 15,
  StateMismatch = 16,
}

export enum Timer {
  Batch = 0,
  ViewChange = 1,
}

/** Largest integer a JS number carries exactly: views, seqs, times and client seqs stay below it. */
export const MAX_SAFE: u64 = 9007199254740991;

export const DIGEST_BYTES: i32 = 32;
export const KEY_BYTES: i32 = 32;
export const SIG_BYTES: i32 = 64;

/** f: the Byzantine replicas n validators tolerate (for liveness; for safety, see quorumSize). */
export function faultsTolerated(n: i32): i32 {
  return (n - 1) / 3;
}

/**
 * The quorum: ceil((n + f + 1) / 2). Any two quorums share at least 2q - n >= f + 1 replicas, so at least one
 * honest one, for every n (2f + 1 has that property only when n = 3f + 1: at n = 5 two quorums of 3 can share
 * just the one Byzantine replica). And q <= n - f, so the honest replicas alone form one.
 */
export function quorumSize(n: i32): i32 {
  return (n + faultsTolerated(n) + 2) / 2;
}
