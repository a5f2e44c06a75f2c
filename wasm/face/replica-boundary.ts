// The numbers that cross the wasm boundary between the replica and this face: the twin of
// wasm/assembly/pbft/boundary.ts (test/unit/pbft/boundary.test.ts holds the two equal, name for name).

export const EventKind = { Message: 1, Request: 2, Timer: 3, Executed: 4, StateInstalled: 5 } as const;

export const ActionKind = {
  Send: 1,
  Broadcast: 2,
  SetTimer: 3,
  CancelTimer: 4,
  Execute: 5,
  CheckpointStable: 6,
  ViewChanged: 7,
  FetchState: 8,
  Rejected: 9,
} as const;

export const InfoCode = {
  View: 0,
  Primary: 1,
  LastExecuted: 2,
  LowWatermark: 3,
  ChangingView: 4,
  LogSize: 5,
  PendingRequests: 6,
  BufferedMessages: 7,
} as const;

export const TimerKind = { Batch: 0, ViewChange: 1 } as const;

/** Why an input was dropped (the face's RejectReason is each name in lower camel case). */
export const Reject = {
  /** Does not decode canonically, unknown type, wrong field sizes. */
  Malformed: 0,
  /** Longer than maxMessageBytes. */
  Oversize: 1,
  /** Sender index out of range, not the role the message needs (e.g. not the primary), or not its channel's. */
  BadSender: 2,
  /** The signature does not verify under the sender's key (and this epoch's id). */
  BadSignature: 3,
  /** The same message (or request) was already taken into account. */
  Duplicate: 4,
  /** For a view older than ours. */
  OldView: 5,
  /** Seq outside (low, high]. */
  OutOfWatermark: 6,
  /** A second, different proposal or vote for the same (view, seq): equivocation. */
  Conflict: 7,
  /** The batch does not hash to the digest it claims. */
  DigestMismatch: 8,
  /** A client request with a bad signature or encoding (inside a batch or alone). */
  BadRequest: 9,
  /** A client request whose clientSeq was already executed. */
  StaleRequest: 10,
  /** A proposed batch time too far from ours. */
  ClockSkew: 11,
  /** A checkpoint proof that does not hold. */
  BadCheckpoint: 12,
  /** A view-change message whose certificates do not hold. */
  BadViewChange: 13,
  /** A new-view message that is not what its view changes imply. */
  BadNewView: 14,
  /** A bounded buffer is full: the input is dropped. */
  BufferFull: 15,
  /** An installed state does not match the proven checkpoint. */
  StateMismatch: 16,
} as const;

export const CreateError = { BadOptions: 1, BadKey: 2, BadEpochStart: 3, BadResume: 4 } as const;

/** Wire type of a peer message (the first uint of every message): what tests and Byzantine rewriters read. */
export const MsgType = {
  Request: 1,
  PrePrepare: 2,
  Prepare: 3,
  Commit: 4,
  Checkpoint: 5,
  ViewChange: 6,
  NewView: 7,
  Committed: 8,
  Fetch: 9,
} as const;
