// The normal case: the primary proposes batches (pre-prepare), backups accept them (prepare), a quorum of
// prepares makes a batch prepared, a quorum of commits makes it committed, and committed batches execute in
// seq order.
import { ActionKind, MsgType, Reject } from './boundary';
import { bytesEqual, sha256 } from './crypto';
import { admit, compactQueue, retire, verifyRequests } from './intake';
import { actBroadcast, putBytes, putF64, putU32, putU8 } from './io';
import { Entry } from './log';
import {
  batchDigestOf,
  encodeBatch,
  encodeCertificate,
  encodeEnvelope,
  encodePrePrepareBody,
  encodeVoteBody,
  Envelope,
  parsePrePrepare,
  parseVote,
  PrePrepare,
  PreparedCert,
} from './messages';
import { Replica } from './replica';
import { ClientRequest, parseRequest } from './requests';
import { encodeTableSnapshot } from './state';
import { askForMissing } from './transfer';
import { inCurrentView } from './viewchange';
import { Added, Ballot } from './votes';

/** The primary orders pending requests; a partial batch waits while earlier batches are in flight. */
export function tryPropose(r: Replica, force: bool): void {
  if (r.self != r.primary || r.changing || r.fetching != 0) return;
  while (r.nextSeq < r.low + r.window) {
    compactQueue(r);
    const inflight = r.nextSeq > r.lastExecuted;
    const batch = new Array<ClientRequest>();
    let i = r.cursor;
    for (;;) {
      const candidates = new Array<ClientRequest>();
      for (; i < r.queue.length && batch.length + candidates.length < r.maxBatch; i++) {
        const q = unchecked(r.queue[i]);
        if (q.done || q.proposed) continue;
        if (r.clients.isStale(q.key, q.seq)) retire(r, q);
        else candidates.push(q);
      }
      if (candidates.length == 0) break;
      // A partial batch waits while earlier ones are in flight; its requests are verified when it goes out.
      if (batch.length + candidates.length < r.maxBatch && inflight && !force) {
        r.startBatchTimer();
        return;
      }
      const good = verifyRequests(r, candidates);
      for (let k = 0; k < good.length; k++) batch.push(unchecked(good[k]));
      if (batch.length >= r.maxBatch) break;
    }
    r.cursor = i;
    if (batch.length == 0) break;
    propose(r, batch);
    force = false;
  }
}

function propose(r: Replica, reqs: Array<ClientRequest>): void {
  let time = r.lastNow;
  if (time < r.lastProposedTime) time = r.lastProposedTime;
  if (time < r.lastTime) time = r.lastTime;
  r.lastProposedTime = time;
  const digests = new Array<Uint8Array>(reqs.length);
  const bytes = new Array<Uint8Array>(reqs.length);
  for (let i = 0; i < reqs.length; i++) {
    const q = unchecked(reqs[i]);
    q.proposed = true;
    unchecked((digests[i] = q.digest));
    unchecked((bytes[i] = q.bytes));
  }
  const digest = batchDigestOf(time, digests);
  const seq = ++r.nextSeq;
  const body = encodePrePrepareBody(r.self, r.view, seq, time, digest);
  const sig = r.sign(MsgType.PrePrepare, body);
  const tail = encodeBatch(bytes);
  const wire = encodeEnvelope(MsgType.PrePrepare, body, sig, tail);
  const env = new Envelope(MsgType.PrePrepare, body, sig, wire.subarray(wire.length - tail.length), wire);
  const pp = new PrePrepare(r.self, r.view, seq, time, digest, env, bytes, digests);
  const e = r.entryFor(seq);
  e.pp = pp;
  actBroadcast(wire);
  checkPrepared(r, e);
}

export function onPrePrepare(r: Replica, env: Envelope, from: i32): void {
  const pp = parsePrePrepare(env, r.maxBatch, r.maxMsg, true);
  if (pp == null) return r.reject(Reject.Malformed, -1);
  const s = pp.sender;
  if (!r.fromPeer(s)) return;
  // From the primary over its own channel, the signature is checked with the batch's requests, in one go.
  // Relayed (or from a host that cannot say who sent it), it is checked first, so what follows is its doing.
  const direct = from == s;
  if (!inCurrentView(r, s, pp.view, env, from)) return;
  if (s != r.primary) return r.reject(Reject.BadSender, s);
  if (!r.inWindow(pp.seq)) return outOfWindow(r, pp.seq, s, direct);
  if (r.log.has(pp.seq)) {
    const old = r.log.get(pp.seq);
    if (old.view == r.view && old.pp != null) {
      if (bytesEqual(old.pp!.env!.body, env.body)) r.reject(Reject.Duplicate, s);
      else if (!direct && !r.verifyEnv(env, s)) r.reject(Reject.BadSignature, s);
      else r.reject(Reject.Conflict, s);
      return;
    }
  }
  if (!direct && !r.verifyEnv(env, s)) return r.reject(Reject.BadSignature, s);
  const now = r.lastNow;
  const skew = pp.time > now ? pp.time - now : now - pp.time;
  if (skew > r.maxSkew) return r.reject(Reject.ClockSkew, s);
  // The batch must hash to the signed digest, and every request in it must be a validly signed request.
  const count = pp.batch.length;
  const digests = new Array<Uint8Array>(count);
  for (let i = 0; i < count; i++) unchecked((digests[i] = sha256(unchecked(pp.batch[i]))));
  if (!bytesEqual(batchDigestOf(pp.time, digests), pp.digest)) return r.reject(Reject.DigestMismatch, s);
  pp.reqDigests = digests;
  // The requests of the batch: known ones from the cache, new ones parsed (a request may appear twice).
  const reqs = new Array<ClientRequest>(count);
  const fresh = new Array<ClientRequest>();
  for (let i = 0; i < count; i++) {
    const d = unchecked(digests[i]);
    let q = r.cache.get(d);
    for (let j = 0; q == null && j < fresh.length; j++) if (bytesEqual(unchecked(fresh[j]).digest, d)) q = unchecked(fresh[j]);
    if (q == null) {
      q = parseRequest(unchecked(pp.batch[i]), r.maxMsg);
      if (q == null) return r.reject(Reject.BadRequest, s);
      fresh.push(q);
    }
    unchecked((reqs[i] = q));
  }
  // One batch: the primary's signature (if not checked yet) and every request not verified before.
  if (direct) r.batchEnv(env, s);
  const todo = new Array<ClientRequest>();
  for (let i = 0; i < count; i++) {
    const q = unchecked(reqs[i]);
    if (q.verified || todo.includes(q)) continue;
    todo.push(q);
    q.queueCheck(r);
  }
  const bad = r.checkBatch();
  const offset = direct ? 1 : 0;
  for (let i = 0; i < todo.length; i++) unchecked(todo[i]).verified = !bad.includes(i + offset);
  if (bad.length > 0) {
    if (direct && unchecked(bad[0]) == 0) return r.reject(Reject.BadSignature, s);
    // A request that does not verify: the primary proposed it knowingly (it verifies what it proposes).
    for (let i = 0; i < todo.length; i++) {
      const q = unchecked(todo[i]);
      if (!q.verified && !fresh.includes(q)) retire(r, q);
    }
    r.reject(Reject.BadRequest, s);
    return;
  }
  for (let i = 0; i < fresh.length; i++) admit(r, unchecked(fresh[i]));
  for (let i = 0; i < count; i++) unchecked(reqs[i]).proposed = true;
  const e = r.entryFor(pp.seq);
  e.pp = pp;
  sendVote(r, MsgType.Prepare, e);
  checkPrepared(r, e);
}

export function sendVote(r: Replica, type: u32, e: Entry): void {
  const digest = e.pp!.digest;
  const body = encodeVoteBody(r.self, r.view, e.seq, digest);
  const sig = r.sign(type, body);
  const wire = encodeEnvelope(type, body, sig, null);
  const b = new Ballot(r.self, new Envelope(type, body, sig, new Uint8Array(0), wire), digest, true);
  if (type == MsgType.Prepare) e.prepares.add(b);
  else e.commits.add(b);
  actBroadcast(wire);
}

/**
 * A proposal or vote outside our window. One above it, over its sender's own channel, says that peer is far
 * ahead: we ask the peers for what we miss now (a peer whose low watermark is above our tip answers with its
 * stable checkpoint's proof, which starts our state transfer) rather than wait for their next checkpoint, which
 * a quiet consortium may not reach for long while we replay the chain block by block. Asking changes nothing
 * here (what comes back is verified) and is rate-limited by askForMissing.
 */
function outOfWindow(r: Replica, seq: u64, s: i32, direct: bool): void {
  if (direct && seq > r.low + r.window) askForMissing(r, seq);
  r.reject(Reject.OutOfWatermark, s);
}

export function onVote(r: Replica, env: Envelope, from: i32): void {
  const type = env.type;
  const v = parseVote(env, type);
  if (v == null) return r.reject(Reject.Malformed, -1);
  const s = v.sender;
  if (!r.fromPeer(s)) return;
  if (!inCurrentView(r, s, v.view, env, from)) return;
  if (type == MsgType.Prepare && s == r.primary) return r.reject(Reject.BadSender, s);
  if (!r.inWindow(v.seq)) return outOfWindow(r, v.seq, s, from == s);
  let prior: Ballot | null = null;
  if (r.log.has(v.seq)) {
    const e = r.log.get(v.seq);
    if (e.view == r.view) {
      prior = type == MsgType.Prepare ? e.prepares.get(s) : e.commits.get(s);
      if (prior != null && bytesEqual(prior.env.body, env.body)) return r.reject(Reject.Duplicate, s);
      // A vote beyond the quorum we already hold changes nothing: it is ignored unread (no signature check).
      if (prior == null && e.pp != null && (type == MsgType.Prepare ? e.prepared : e.committed && e.cView == r.view)) return;
    }
  }
  // Over its sender's own channel a vote counts now and is verified with the quorum it completes; relayed,
  // it is verified first.
  const direct = from == s;
  if (!direct && !r.verifyEnv(env, s)) return r.reject(Reject.BadSignature, s);
  if (prior != null) return r.reject(Reject.Conflict, s);
  const e = r.entryFor(v.seq);
  const b = new Ballot(s, env, v.digest, !direct);
  if (type == MsgType.Prepare) {
    if (e.prepares.add(b) == Added.Fresh) checkPrepared(r, e);
  } else {
    if (e.commits.add(b) == Added.Fresh) checkCommitted(r, e);
  }
}

/** Prepared: the pre-prepare and quorum - 1 matching prepares from other replicas, so a quorum accepted it. */
export function checkPrepared(r: Replica, e: Entry): void {
  if (e.prepared || e.pp == null) return;
  const pp = e.pp!;
  const votes = r.quorumOf(e.prepares, pp.digest, r.quorum - 1, pp.sender);
  if (votes == null) return;
  e.prepared = true;
  const cert = new PreparedCert(pp);
  for (let i = 0; i < votes.length; i++) cert.prepares.push(parseVote(unchecked(votes[i]).env, MsgType.Prepare)!);
  e.best = cert;
  if (!e.commitSent) {
    e.commitSent = true;
    sendVote(r, MsgType.Commit, e);
  }
  checkCommitted(r, e);
}

/** Committed: prepared here, and a quorum of matching commits (their certificate goes with the batch). */
export function checkCommitted(r: Replica, e: Entry): void {
  if (!e.prepared || e.pp == null || e.committed) return; // committed in an earlier view: stays so
  const pp = e.pp!;
  const votes = r.quorumOf(e.commits, pp.digest, r.quorum, -1);
  if (votes == null) return;
  const wires = new Array<Uint8Array>();
  for (let i = 0; i < votes.length; i++) wires.push(unchecked(votes[i]).env.wire);
  e.committed = true;
  e.cPP = pp;
  e.cView = e.view;
  e.cCert = encodeCertificate(wires);
  tryExecute(r);
  askForMissing(r, e.seq);
}

export function tryExecute(r: Replica): void {
  let progressed = false;
  while (r.fetching == 0) {
    const next = r.lastExecuted + 1;
    if (!r.log.has(next)) break;
    const e = r.log.get(next);
    if (!e.committed || e.executed) break;
    execute(r, e);
    progressed = true;
  }
  if (!progressed) return;
  compactQueue(r);
  if (r.pendingLive > 0 && !r.changing) r.startVcTimer(0);
  else if (r.pendingLive == 0) r.stopVcTimer();
  tryPropose(r, false);
}

function execute(r: Replica, e: Entry): void {
  const pp = e.cPP!;
  let time = pp.time;
  if (time < r.lastTime) time = r.lastTime;
  r.lastTime = time;
  // The whole certified batch goes to the host (so it can rebuild what the certificate signs) with the
  // positions skipped as stale duplicates.
  const skipped = new Array<u32>();
  for (let i = 0; i < pp.batch.length; i++) {
    const bytes = unchecked(pp.batch[i]);
    let q = i < pp.reqDigests.length ? r.cache.get(unchecked(pp.reqDigests[i])) : null;
    if (q == null) q = parseRequest(bytes, r.maxMsg);
    if (q == null) {
      skipped.push(<u32>i); // unreachable: batches are checked before they prepare
      continue;
    }
    if (!r.clients.isStale(q.key, q.seq)) r.clients.record(q.key, q.seq);
    else skipped.push(<u32>i);
    retire(r, q);
  }
  e.executed = true;
  r.lastExecuted = e.seq;
  if (r.nextSeq < e.seq) r.nextSeq = e.seq;
  putU8(<u8>ActionKind.Execute);
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
  if (e.seq % r.K == 0) r.tableSnaps.set(e.seq, encodeTableSnapshot(time, r.clients));
}

/** Does some seq hold a proposal that has not committed (so a silent primary is to blame)? */
export function hasUncommitted(r: Replica): bool {
  const vals = r.log.values();
  for (let i = 0; i < vals.length; i++) {
    const e = unchecked(vals[i]);
    if (e.pp != null && !e.committed) return true;
  }
  return false;
}
