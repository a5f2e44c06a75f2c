// The numbers that cross the wasm boundary between the replica and its face. Its TypeScript twin is
// wasm/face/replica-boundary.ts; test/unit/pbft/boundary.test.ts holds the two equal, name for name.

/** Event kinds of pbftStep. */
export enum EventKind {
  Message = 1,
  Request = 2,
  Timer = 3,
  Executed = 4,
  StateInstalled = 5,
}

/** Action kinds in the action stream (layouts: io.ts). */
export enum ActionKind {
  Send = 1,
  Broadcast = 2,
  SetTimer = 3,
  CancelTimer = 4,
  Execute = 5,
  CheckpointStable = 6,
  ViewChanged = 7,
  FetchState = 8,
  Rejected = 9,
}

/** What pbftInfo reports. */
export enum InfoCode {
  View = 0,
  Primary = 1,
  LastExecuted = 2,
  LowWatermark = 3,
  ChangingView = 4,
  LogSize = 5,
  PendingRequests = 6,
  BufferedMessages = 7,
}

/** The two timers a host runs for a replica. */
export enum TimerKind {
  Batch = 0,
  ViewChange = 1,
}

/** Why an input was dropped (the face names them, in this order). */
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

/** Why pbftCreate refused its options (returned negated). */
export enum CreateError {
  BadOptions = 1,
  BadKey = 2, // the seed is not the key of validator `self`
  BadEpochStart = 3, // startSeq not a checkpoint, or the start replica state is not the one at startSeq
  BadResume = 4, // the resume checkpoint's certificate, digests or replica state do not hold
}

/** Wire type of a peer message: the first uint of every message. */
export enum MsgType {
  Request = 1, // a client request forwarded by a backup (carries the client's own signature)
  PrePrepare = 2,
  Prepare = 3,
  Commit = 4,
  Checkpoint = 5,
  ViewChange = 6,
  NewView = 7,
  Committed = 8, // a relayed proof that a batch committed: the batch and a quorum of signed commits
  Fetch = 9, // a lagging replica asks for proofs of seqs it misses
}
