// Checkpoints: every K seqs each replica signs its state digest (the host's) and its own replica state's
// digest; a quorum of matching votes makes the checkpoint stable, which moves the low watermark, collects
// the log below it, and brings a replica that fell behind to state transfer.
import { ActionKind, MsgType, Reject } from './boundary';
import { DIGEST_BYTES } from './constants';
import { bytesEqual, sha256 } from './crypto';
import { actBroadcast, putBytes, putF64, putU8 } from './io';
import { OwnCheckpoint, Stable } from './log';
import { Checkpoint, encodeCertificate, encodeCheckpointBody, encodeEnvelope, Envelope, parseCheckpoint } from './messages';
import { tryExecute, tryPropose } from './normal';
import { Replica } from './replica';
import { decodeReplicaState, encodeReplicaState } from './state';
import { requestState } from './transfer';
import { Added, Ballot, VoteSet } from './votes';

const FAR_CHECKPOINTS_PER_PEER: i32 = 4;

function sortU64(a: u64, b: u64): i32 {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The host applied batch `seq`; at checkpoint seqs its state digest goes into our checkpoint. */
export function onExecuted(r: Replica, seq: u64, stateDigest: Uint8Array, trust: StaticArray<i64> | null): void {
  if (trust != null) r.execTrust = trust;
  if (seq == 0 || seq % r.K != 0 || seq > r.lastExecuted || seq < r.low) return;
  if (!r.tableSnaps.has(seq) || r.own.has(seq)) return;
  if (stateDigest.length != DIGEST_BYTES) return r.reject(Reject.StateMismatch, -1);
  const snap = r.tableSnaps.get(seq);
  r.tableSnaps.delete(seq);
  const state = encodeReplicaState(seq, r.execTrust, snap);
  const own = new OwnCheckpoint(seq, stateDigest, state, sha256(state));
  r.own.set(seq, own);
  if (seq == r.low) {
    finishStable(r);
    return;
  }
  const body = encodeCheckpointBody(r.self, seq, stateDigest, own.replicaDigest);
  const sig = r.sign(MsgType.Checkpoint, body);
  const wire = encodeEnvelope(MsgType.Checkpoint, body, sig, null);
  actBroadcast(wire);
  if (seq <= r.low + r.window) {
    const c = new Checkpoint();
    c.sender = r.self;
    c.seq = seq;
    c.stateDigest = stateDigest;
    c.replicaDigest = own.replicaDigest;
    const key = c.key();
    votesFor(r, seq).add(new Ballot(r.self, new Envelope(MsgType.Checkpoint, body, sig, new Uint8Array(0), wire), key, true));
    checkStable(r, seq, c);
  }
}

function votesFor(r: Replica, seq: u64): VoteSet {
  if (r.ckptVotes.has(seq)) return r.ckptVotes.get(seq);
  const v = new VoteSet(r.n);
  r.ckptVotes.set(seq, v);
  return v;
}

export function onCheckpoint(r: Replica, env: Envelope, from: i32): void {
  const c = parseCheckpoint(env);
  if (c == null || c.seq == 0 || c.seq % r.K != 0) return r.reject(Reject.Malformed, -1);
  const s = c.sender;
  if (!r.fromPeer(s)) return;
  if (c.seq < r.low) return r.reject(Reject.OutOfWatermark, s);
  if (c.seq == r.low) return; // a late vote for the checkpoint that just became stable: nothing to do
  // Over its sender's own channel a vote counts now and is verified with the quorum it completes; relayed (a
  // stable checkpoint's proof handed on by a peer), it is verified first.
  const direct = from == s;
  const ballot = new Ballot(s, env, c.key(), !direct);
  ballot.seq = c.seq;
  if (c.seq <= r.low + r.window) {
    const votes = votesFor(r, c.seq);
    const prior = votes.get(s);
    if (prior != null && bytesEqual(prior.env.body, env.body)) return r.reject(Reject.Duplicate, s);
    if (!direct && !r.verifyEnv(env, s)) return r.reject(Reject.BadSignature, s);
    if (votes.add(ballot) != Added.Fresh) return r.reject(Reject.Conflict, s);
  } else {
    // Beyond our high watermark: a peer is far ahead. Keep its last few votes to detect that we fell behind.
    const far = unchecked(r.farVotes[s]);
    for (let i = 0; i < far.length; i++) {
      const p = unchecked(far[i]);
      if (p.seq == c.seq) return r.reject(bytesEqual(p.env.body, env.body) ? Reject.Duplicate : Reject.Conflict, s);
    }
    if (!direct && !r.verifyEnv(env, s)) return r.reject(Reject.BadSignature, s);
    if (far.length >= FAR_CHECKPOINTS_PER_PEER) far.shift();
    far.push(ballot);
  }
  checkStable(r, c.seq, c);
}

/** A quorum of verified votes matching c's digests for `seq` make it stable. */
function checkStable(r: Replica, seq: u64, c: Checkpoint): void {
  const key = c.key();
  let votes: Array<Ballot> | null = null;
  if (seq <= r.low + r.window) {
    votes = r.quorumOf(votesFor(r, seq), key, r.quorum, -1);
  } else {
    // Far ahead: gather the peers' far votes for this seq; drop the ones whose signature fails.
    const set = new VoteSet(r.n);
    for (let i = 0; i < r.n; i++) {
      const far = unchecked(r.farVotes[i]);
      for (let j = 0; j < far.length; j++) if (unchecked(far[j]).seq == seq) set.add(unchecked(far[j]));
    }
    votes = r.quorumOf(set, key, r.quorum, -1);
    for (let i = 0; i < r.n; i++) {
      if ((set.bad & ((<u64>1) << (<u64>i))) == 0) continue;
      const far = unchecked(r.farVotes[i]);
      const keep = new Array<Ballot>();
      for (let j = 0; j < far.length; j++) if (unchecked(far[j]).seq != seq) keep.push(unchecked(far[j]));
      unchecked((r.farVotes[i] = keep));
    }
  }
  if (votes == null) return;
  const wires = new Array<Uint8Array>();
  const senders = new Array<i32>();
  for (let i = 0; i < votes.length; i++) {
    wires.push(unchecked(votes[i]).env.wire);
    senders.push(unchecked(votes[i]).sender);
  }
  becomeStable(r, new Stable(seq, c.stateDigest, c.replicaDigest, wires, senders));
}

/** A proven stable checkpoint: move the low watermark, collect garbage, fetch state if we are behind. */
export function becomeStable(r: Replica, st: Stable): void {
  if (st.seq <= r.low) return;
  tryExecute(r);
  r.low = st.seq;
  r.stable = st;
  r.stableEmitted = false;
  // Garbage collection below the new low watermark.
  const seqs = r.log.keys();
  for (let i = 0; i < seqs.length; i++) if (unchecked(seqs[i]) <= st.seq) r.log.delete(unchecked(seqs[i]));
  const cs = r.ckptVotes.keys();
  for (let i = 0; i < cs.length; i++) if (unchecked(cs[i]) <= st.seq) r.ckptVotes.delete(unchecked(cs[i]));
  for (let s = 0; s < r.n; s++) {
    const far = unchecked(r.farVotes[s]);
    const keep = new Array<Ballot>();
    for (let j = 0; j < far.length; j++) {
      const b = unchecked(far[j]);
      if (b.seq > r.low + r.window) keep.push(b);
      else if (b.seq > r.low) votesFor(r, b.seq).add(b);
    }
    unchecked((r.farVotes[s] = keep));
  }
  const os = r.own.keys();
  for (let i = 0; i < os.length; i++) if (unchecked(os[i]) < st.seq) r.own.delete(unchecked(os[i]));
  const ts = r.tableSnaps.keys();
  for (let i = 0; i < ts.length; i++) if (unchecked(ts[i]) < st.seq) r.tableSnaps.delete(unchecked(ts[i]));
  if (r.nextSeq < st.seq) r.nextSeq = st.seq;

  if (r.lastExecuted < st.seq) {
    requestState(r);
  } else if (r.own.has(st.seq)) {
    finishStable(r);
  } // else: our own `executed` for st.seq is still to come; onExecuted finishes it.
  // Votes that were beyond the old window may now complete a checkpoint.
  const later = r.ckptVotes.keys();
  later.sort(sortU64);
  for (let i = 0; i < later.length; i++) {
    const seq = unchecked(later[i]);
    if (seq <= r.low) continue;
    const votes = r.ckptVotes.get(seq);
    for (let s = 0; s < r.n; s++) {
      const b = votes.get(s);
      if (b == null) continue;
      const c = parseCheckpoint(b.env);
      if (c != null) checkStable(r, seq, c);
      break;
    }
  }
  tryPropose(r, false);
}

/** Our own state at the stable checkpoint is known: compare, adopt its trust, tell the host. */
export function finishStable(r: Replica): void {
  if (r.stableEmitted) return;
  const st = r.stable;
  const own = r.own.get(st.seq);
  if (!bytesEqual(own.stateDigest, st.stateDigest) || !bytesEqual(own.replicaDigest, st.replicaDigest)) {
    // We executed to a different state than a quorum proved: replace ours by theirs.
    r.reject(Reject.StateMismatch, -1);
    r.own.delete(st.seq);
    requestState(r);
    return;
  }
  r.stableEmitted = true;
  const decoded = decodeReplicaState(own.replicaState, r.n);
  if (decoded != null && decoded.trust.length == r.n) r.setTrust(decoded.trust);
  putU8(<u8>ActionKind.CheckpointStable);
  putF64(<f64>st.seq);
  putBytes(st.stateDigest);
  putBytes(own.replicaState);
  putBytes(encodeCertificate(st.proof));
}

/**
 * A stable checkpoint's proof: a quorum of this epoch's checkpoint messages from distinct validators for
 * (seq, sd, rd), every signature valid (checked in one batch). The epoch's start needs none: every replica
 * of the epoch starts there (zero replica digest, as at genesis).
 */
export function validCheckpointProof(r: Replica, seq: u64, sd: Uint8Array, rd: Uint8Array, proof: Array<Checkpoint>): bool {
  if (seq == r.epochStart) {
    return proof.length == 0 && bytesEqual(sd, r.epochDigest) && bytesEqual(rd, new Uint8Array(DIGEST_BYTES));
  }
  if (seq < r.epochStart || seq % r.K != 0 || proof.length < r.quorum) return false;
  let seen: u64 = 0;
  for (let i = 0; i < proof.length; i++) {
    const c = unchecked(proof[i]);
    if (c.sender >= r.n) return false;
    const bit = (<u64>1) << (<u64>c.sender);
    if ((seen & bit) != 0) return false;
    if (c.seq != seq || !bytesEqual(c.stateDigest, sd) || !bytesEqual(c.replicaDigest, rd)) return false;
    seen |= bit;
  }
  for (let i = 0; i < proof.length; i++) r.batchEnv(unchecked(proof[i]).env!, unchecked(proof[i]).sender);
  return r.checkBatch().length == 0;
}
