// Commit certificates (uint(k) ‖ k × bytes(signed commit)): what a replica hands its host with every batch,
// relays to a peer that missed the batch, and what anyone holding the validator set can check.
import { MsgType } from './boundary';
import { quorumSize } from './constants';
import { bytesEqual } from './crypto';
import { Envelope, parseCertificate, parseVote } from './messages';

export class CommitCertificate {
  view: u64 = 0;
  commits: Array<Envelope> = new Array();
  senders: Array<i32> = new Array();
}

/**
 * The shape of a commit certificate for (seq, digest) among n validators: a quorum of commits from distinct
 * validators, all of one view. Null if not. The signatures are the caller's to check (in one batch).
 */
export function readCommitCertificate(cert: Uint8Array, n: i32, seq: u64, digest: Uint8Array, maxBytes: i32): CommitCertificate | null {
  const envs = parseCertificate(cert, n, maxBytes);
  if (envs == null || envs.length < quorumSize(n)) return null;
  const out = new CommitCertificate();
  let seen: u64 = 0;
  for (let i = 0; i < envs.length; i++) {
    const v = parseVote(unchecked(envs[i]), MsgType.Commit);
    if (v == null || v.sender >= n) return null;
    const bit = (<u64>1) << (<u64>v.sender);
    if (i == 0) out.view = v.view;
    if ((seen & bit) != 0 || v.view != out.view || v.seq != seq || !bytesEqual(v.digest, digest)) return null;
    seen |= bit;
    out.commits.push(unchecked(envs[i]));
    out.senders.push(v.sender);
  }
  return out;
}
