// Names shared by the replica's files: signing tags, sizes, the quorum. (What crosses the wasm boundary is in
// boundary.ts.)
import { MsgType } from './boundary';

export const TAG_REQUEST = 'hygeia/pbft/request/v1';

/** The domain-separation tag each signed message type is signed under. */
export function tagFor(t: u32): string {
  if (t == MsgType.PrePrepare) return 'hygeia/pbft/preprepare/v1';
  if (t == MsgType.Prepare) return 'hygeia/pbft/prepare/v1';
  if (t == MsgType.Commit) return 'hygeia/pbft/commit/v1';
  if (t == MsgType.Checkpoint) return 'hygeia/pbft/checkpoint/v1';
  if (t == MsgType.ViewChange) return 'hygeia/pbft/viewchange/v1';
  if (t == MsgType.NewView) return 'hygeia/pbft/newview/v1';
  if (t == MsgType.Suspect) return 'hygeia/pbft/suspect/v1';
  return TAG_REQUEST;
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
