// Catching up. A replica that sees a later seq commit while an earlier one did not, or a peer propose or vote
// far above its window (normal.ts: outOfWindow), asks its peers for commit proofs (the batch and its commit
// certificate, self-authenticating; a peer it is behind the low watermark of sends its stable checkpoint's
// proof instead, once); a replica behind a stable checkpoint
// asks its host to fetch that checkpoint's state (fetchState) and checks what the host installs against
// the checkpoint's proof.
import { Reader } from '../codec/reader';
import { ActionKind, MsgType, Reject } from './boundary';
import { MAX_SAFE } from './constants';
import { bytesEqual, sha256 } from './crypto';
import { readCommitCertificate } from './certificates';
import { finishStable } from './checkpoint';
import { actBroadcast, actSend, putBytes, putF64, putU32, putU8 } from './io';
import { Entry, OwnCheckpoint } from './log';
import { batchDigestOf, encodeCommitted, encodeFetch, Envelope, parseEnvelope, parsePrePrepare } from './messages';
import { tryExecute, tryPropose } from './normal';
import { Replica } from './replica';
import { parseRequest } from './requests';
import { decodeReplicaState } from './state';

/** Seq `upTo` committed but an earlier one did not: ask the peers for proofs, once per lastExecuted. */
export function askForMissing(r: Replica, upTo: u64): void {
  if (r.fetching != 0 || upTo <= r.lastExecuted + 1 || r.askedAt == r.lastExecuted) return;
  r.askedAt = r.lastExecuted;
  actBroadcast(encodeFetch(r.self, r.lastExecuted + 1, upTo - 1));
}

function sendProof(r: Replica, e: Entry, to: i32): void {
  const bit = (<u64>1) << (<u64>to);
  if ((e.proofSentTo & bit) != 0 || e.cPP == null) return;
  e.proofSentTo |= bit;
  const proof = encodeCommitted(e.cPP!.env!.wire, e.cCert);
  if (proof.length <= r.maxMsg) actSend(to, proof);
}

/** A peer asks for the commit proofs of a range of seqs. Unsigned: only its own channel can say who asks. */
export function onFetch(r: Replica, env: Envelope, from: i32): void {
  const rd = new Reader(env.body, 64);
  const s = <i32>rd.uint(255);
  const lo = rd.uint(MAX_SAFE);
  const hi = rd.uint(MAX_SAFE);
  if (!rd.end() || hi < lo) return r.reject(Reject.Malformed, -1);
  if (s >= r.n || s != from) return r.reject(Reject.BadSender, from);
  if (s == r.self) return r.reject(Reject.Duplicate, s);
  // Below our low watermark only a checkpoint proof helps (it leads to state transfer); send it once.
  const bit = (<u64>1) << (<u64>s);
  if (lo <= r.low && r.low > r.epochStart && (r.ckptProofSentTo & bit) == 0) {
    r.ckptProofSentTo |= bit;
    for (let i = 0; i < r.stable.proof.length; i++) actSend(s, unchecked(r.stable.proof[i]));
  }
  let seq = lo > r.low ? lo : r.low + 1;
  const last = hi < r.low + r.window ? hi : r.low + r.window;
  for (; seq <= last; seq++) {
    if (!r.log.has(seq)) continue;
    const e = r.log.get(seq);
    if (e.committed) sendProof(r, e, s);
  }
}

/** A relayed proof that a batch committed: a quorum of signed commits for its digest, and the batch itself. */
export function onCommitted(r: Replica, body: Uint8Array): void {
  const rd = new Reader(body, r.maxMsg);
  const ppEnv = parseEnvelope(rd.bytes(r.maxMsg), r.maxMsg);
  const certBytes = rd.bytes(r.maxMsg);
  if (!rd.end() || ppEnv == null) return r.reject(Reject.Malformed, -1);
  const pp = parsePrePrepare(ppEnv, r.maxBatch, r.maxMsg, true);
  if (pp == null) return r.reject(Reject.Malformed, -1);
  if (!r.inWindow(pp.seq)) return r.reject(Reject.OutOfWatermark, -1);
  if (r.log.has(pp.seq) && r.log.get(pp.seq).committed) return r.reject(Reject.Duplicate, -1);
  const cert = readCommitCertificate(certBytes, r.n, pp.seq, pp.digest, r.maxMsg);
  if (cert == null) return r.reject(Reject.Malformed, -1);
  for (let i = 0; i < cert.commits.length; i++) r.batchEnv(unchecked(cert.commits[i]), unchecked(cert.senders[i]));
  const bad = r.checkBatch();
  if (bad.length > 0) return r.reject(Reject.BadSignature, unchecked(cert.senders[unchecked(bad[0])]));
  const digests = new Array<Uint8Array>(pp.batch.length);
  for (let i = 0; i < pp.batch.length; i++) {
    const b = unchecked(pp.batch[i]);
    if (parseRequest(b, r.maxMsg) == null) return r.reject(Reject.BadRequest, -1);
    unchecked((digests[i] = sha256(b)));
  }
  if (!bytesEqual(batchDigestOf(pp.time, digests), pp.digest)) return r.reject(Reject.DigestMismatch, -1);
  pp.reqDigests = digests;
  const e = r.entryFor(pp.seq);
  e.committed = true;
  e.cPP = pp;
  e.cView = cert.view;
  e.cCert = certBytes;
  tryExecute(r);
  askForMissing(r, pp.seq);
}

/** Behind the stable checkpoint: ask the host for its state, from the replicas that proved it. */
export function requestState(r: Replica): void {
  r.fetching = r.stable.seq;
  putU8(<u8>ActionKind.FetchState);
  putF64(<f64>r.stable.seq);
  putBytes(r.stable.stateDigest);
  let count: u32 = 0;
  for (let i = 0; i < r.stable.senders.length; i++) if (unchecked(r.stable.senders[i]) != r.self) count++;
  putU32(count);
  for (let i = 0; i < r.stable.senders.length; i++) {
    const s = unchecked(r.stable.senders[i]);
    if (s != r.self) putU32(<u32>s);
  }
}

/** The host installed the state of the checkpoint we asked for (after fetchState). */
export function onStateInstalled(r: Replica, seq: u64, stateDigest: Uint8Array, replicaState: Uint8Array): void {
  const st = r.stable;
  if (r.fetching == 0 || seq != r.fetching || !bytesEqual(stateDigest, st.stateDigest) || !bytesEqual(sha256(replicaState), st.replicaDigest))
    return r.reject(Reject.StateMismatch, -1);
  const decoded = decodeReplicaState(replicaState, r.n);
  if (decoded == null || decoded.seq != seq || decoded.trust.length != r.n) return r.reject(Reject.StateMismatch, -1);
  r.clients = decoded.clients;
  r.lastTime = decoded.lastTime;
  r.execTrust = decoded.trust;
  r.lastExecuted = seq;
  r.fetching = 0;
  if (r.nextSeq < seq) r.nextSeq = seq;
  r.own.set(seq, new OwnCheckpoint(seq, stateDigest, replicaState, st.replicaDigest));
  r.stableEmitted = false;
  finishStable(r);
  tryExecute(r);
  tryPropose(r, false);
}
