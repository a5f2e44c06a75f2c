// View changes: a replica that suspects the primary asks for the next view with its stable checkpoint (and
// its proof) and its prepared certificates; the next primary, holding a quorum of such requests, sends the
// new-view with the O set every replica recomputes from them. Also: messages of views we have not entered
// (buffered per peer, and how a replica left behind notices), and handing the new-view to a laggard.
import { MsgType, Reject } from './boundary';
import { bytesCompare, bytesEqual, sha256 } from './crypto';
import { becomeStable, validCheckpointProof } from './checkpoint';
import { admit } from './intake';
import { actBroadcast, actSend, actViewChanged } from './io';
import { Buffered, Stable } from './log';
import {
  batchDigestOf,
  encodeBatch,
  encodeEnvelope,
  encodeNewViewBody,
  encodePrePrepareBody,
  encodeViewChangeBody,
  Envelope,
  NewView,
  parseNewView,
  parseViewChange,
  PrePrepare,
  PreparedCert,
  ViewChange,
} from './messages';
import { checkPrepared, sendVote, tryExecute, tryPropose } from './normal';
import { Replica } from './replica';
import { parseRequest } from './requests';
import { Writer } from '../codec/writer';

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

export function countViewChanges(r: Replica, view: u64): i32 {
  let count = 0;
  for (let i = 0; i < r.n; i++) {
    const o = unchecked(r.vcLatest[i]);
    if (o != null && o.view == view) count++;
  }
  return count;
}

export function startViewChange(r: Replica, v: u64): void {
  if (v <= r.view && r.changing) return;
  if (v < r.view) return;
  r.view = v;
  r.changing = true;
  r.primary = r.primaryOf(v);
  r.nvWire = null;
  r.stopBatchTimer();
  // Our view-change message: stable checkpoint proof + the prepared certificates above it.
  const seqs = r.log.keys();
  seqs.sort(sortU64);
  const certs = new Array<PreparedCert>();
  for (let i = 0; i < seqs.length; i++) {
    const e = r.log.get(unchecked(seqs[i]));
    if (e.seq > r.low && e.best != null) certs.push(e.best!);
  }
  const st = r.stable;
  const body = encodeViewChangeBody(r.self, v, st.seq, st.stateDigest, st.replicaDigest, st.proof, certs);
  const sig = r.sign(MsgType.ViewChange, body);
  const wire = encodeEnvelope(MsgType.ViewChange, body, sig, null);
  const env = new Envelope(MsgType.ViewChange, body, sig, new Uint8Array(0), wire);
  const vc = parseViewChange(env, r.n, r.maxBatch, <i32>r.window, r.maxMsg);
  if (vc != null) {
    vc.valid = true;
    fillReqDigests(vc);
    unchecked((r.vcLatest[r.self] = vc));
  }
  actBroadcast(wire);
  r.startVcTimer(r.vcAttempt);
  r.vcAttempt++;
  maybeSendNewView(r);
}

/** Our view change again (it may have been lost), while we wait alone in a view change. */
export function resendViewChange(r: Replica): void {
  const mine = unchecked(r.vcLatest[r.self]);
  if (mine != null && mine.view == r.view) actBroadcast(mine.env!.wire);
}

function fillReqDigests(vc: ViewChange): void {
  for (let i = 0; i < vc.certs.length; i++) {
    const pp = unchecked(vc.certs[i]).pp;
    if (pp.reqDigests.length == pp.batch.length) continue;
    const d = new Array<Uint8Array>(pp.batch.length);
    for (let j = 0; j < pp.batch.length; j++) unchecked((d[j] = sha256(unchecked(pp.batch[j]))));
    pp.reqDigests = d;
  }
}

/**
 * Checks a view change: its checkpoint proof and each prepared certificate (the pre-prepare, signed by its
 * sender, and quorum - 1 prepares for it from other validators). Every signature but the message's own
 * (checked on receipt) is checked here in one batch.
 */
function validViewChange(r: Replica, vc: ViewChange): bool {
  if (vc.valid) return true;
  if (vc.sender >= r.n) return false;
  if (!validCheckpointProof(r, vc.stableSeq, vc.stateDigest, vc.replicaDigest, vc.proof)) return false;
  let lastSeq = vc.stableSeq;
  for (let i = 0; i < vc.certs.length; i++) {
    const cert = unchecked(vc.certs[i]);
    const pp = cert.pp;
    if (pp.seq <= lastSeq || pp.seq > vc.stableSeq + r.window || pp.view >= vc.view || pp.sender >= r.n) return false;
    lastSeq = pp.seq;
    const d = new Array<Uint8Array>(pp.batch.length);
    for (let j = 0; j < pp.batch.length; j++) {
      const b = unchecked(pp.batch[j]);
      if (parseRequest(b, r.maxMsg) == null) return false;
      unchecked((d[j] = sha256(b)));
    }
    if (!bytesEqual(batchDigestOf(pp.time, d), pp.digest)) return false;
    pp.reqDigests = d;
    let seen: u64 = 0;
    for (let j = 0; j < cert.prepares.length; j++) {
      const p = unchecked(cert.prepares[j]);
      if (p.sender >= r.n || p.sender == pp.sender) return false;
      const bit = (<u64>1) << (<u64>p.sender);
      if ((seen & bit) != 0) return false;
      if (p.view != pp.view || p.seq != pp.seq || !bytesEqual(p.digest, pp.digest)) return false;
      seen |= bit;
    }
    if (cert.prepares.length < r.quorum - 1) return false;
  }
  for (let i = 0; i < vc.certs.length; i++) {
    const cert = unchecked(vc.certs[i]);
    r.batchEnv(cert.pp.env!, cert.pp.sender);
    for (let j = 0; j < cert.prepares.length; j++) r.batchEnv(unchecked(cert.prepares[j]).env!, unchecked(cert.prepares[j]).sender);
  }
  if (r.checkBatch().length > 0) return false;
  vc.valid = true;
  return true;
}

export function onViewChange(r: Replica, env: Envelope, from: i32): void {
  const vc = parseViewChange(env, r.n, r.maxBatch, <i32>r.window, r.maxMsg);
  if (vc == null) return r.reject(Reject.Malformed, -1);
  const s = vc.sender;
  if (!r.fromPeer(s)) return;
  const latest = unchecked(r.vcLatest[s]);
  if (vc.view < r.view || (vc.view == r.view && !r.changing)) {
    // A laggard still asking for the view we are in: hand it the new-view (signed by the primary).
    if (vc.view == r.view && r.nvWire != null) {
      const known = latest != null && bytesEqual(latest.env!.body, env.body);
      if (known || from == s || r.verifyEnv(env, s)) actSend(s, r.nvWire!);
    }
    r.reject(Reject.OldView, s);
    return;
  }
  if (latest != null && latest.view >= vc.view) {
    if (bytesEqual(latest.env!.body, env.body)) r.reject(Reject.Duplicate, s);
    else if (latest.view > vc.view) r.reject(Reject.OldView, s);
    else if (from != s && !r.verifyEnv(env, s)) r.reject(Reject.BadSignature, s);
    else r.reject(Reject.Conflict, s);
    return;
  }
  // A view change is kept and shown to others (in a new-view): its own signature is checked now.
  if (!r.verifyEnv(env, s)) return r.reject(Reject.BadSignature, s);
  if (!validViewChange(r, vc)) return r.reject(Reject.BadViewChange, s);
  unchecked((r.vcLatest[s] = vc));
  if (vc.stableSeq > r.low) adoptProof(r, vc);
  // f+1 replicas want a later view: at least one is honest, so join the smallest of those views.
  let count = 0;
  let smallest: u64 = U64.MAX_VALUE;
  for (let i = 0; i < r.n; i++) {
    const o = unchecked(r.vcLatest[i]);
    if (i == r.self || o == null) continue;
    if (o.view > r.view) {
      count++;
      if (o.view < smallest) smallest = o.view;
    }
  }
  if (count >= r.f + 1) startViewChange(r, smallest);
  maybeSendNewView(r);
}

function adoptProof(r: Replica, vc: ViewChange): void {
  becomeStable(r, Stable.proven(vc.stableSeq, vc.stateDigest, vc.replicaDigest, vc.proof));
}

/** The primary-to-be, holding a quorum of view changes for its view, sends the new-view. */
function maybeSendNewView(r: Replica): void {
  if (!r.changing || r.primary != r.self || r.nvWire != null) return;
  const vcs = new Array<ViewChange>();
  const mine = unchecked(r.vcLatest[r.self]);
  if (mine == null || mine.view != r.view) return;
  vcs.push(mine);
  for (let i = 0; i < r.n && vcs.length < r.quorum; i++) {
    const o = unchecked(r.vcLatest[i]);
    if (i != r.self && o != null && o.view == r.view) vcs.push(o);
  }
  if (vcs.length < r.quorum) return;
  const o = computeO(vcs);
  const headers = new Array<Uint8Array>();
  const pps = new Array<PrePrepare>();
  for (let i = 0; i < o.items.length; i++) {
    const p = unchecked(o.items[i]);
    const body = encodePrePrepareBody(r.self, r.view, p.seq, p.time, p.digest);
    const sig = r.sign(MsgType.PrePrepare, body);
    const header = encodeEnvelope(MsgType.PrePrepare, body, sig, null);
    headers.push(header);
    pps.push(withBatch(r, new Envelope(MsgType.PrePrepare, body, sig, new Uint8Array(0), header), p));
  }
  const body = encodeNewViewBody(r.self, r.view, vcs, headers);
  const sig = r.sign(MsgType.NewView, body);
  const wire = encodeEnvelope(MsgType.NewView, body, sig, null);
  r.nvWire = wire;
  r.nvSentTo = 0;
  actBroadcast(wire);
  installNewView(r, r.view, o, pps);
}

/** A pre-prepare of the O set with its batch re-attached (so later view changes can carry it). */
function withBatch(r: Replica, header: Envelope, p: Proposal): PrePrepare {
  const tail = encodeBatch(p.batch);
  const w = new Writer(header.wire.length + tail.length);
  w.fixed(header.wire);
  w.fixed(tail);
  const wire = w.finish();
  const env = new Envelope(MsgType.PrePrepare, header.body, header.sig, wire.subarray(header.wire.length), wire);
  return new PrePrepare(r.primary, r.view, p.seq, p.time, p.digest, env, p.batch, p.reqDigests);
}

/** The O set both the new primary and every backup derive from the same quorum of view changes. */
function computeO(vcs: Array<ViewChange>): OSet {
  const o = new OSet();
  for (let i = 0; i < vcs.length; i++) {
    const vc = unchecked(vcs[i]);
    if (o.ckpt == null || vc.stableSeq > o.minS) {
      o.minS = vc.stableSeq;
      o.ckpt = vc;
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
        if (best == null || pp.view > best.view || (pp.view == best.view && bytesCompare(pp.digest, best.digest) < 0)) best = pp;
      }
    }
    if (best != null) o.items.push(new Proposal(seq, best.digest, best.time, best.batch, best.reqDigests));
    else o.items.push(new Proposal(seq, nullDigest(), 0, new Array<Uint8Array>(), new Array<Uint8Array>()));
  }
  return o;
}

export function onNewView(r: Replica, env: Envelope, from: i32): void {
  const nv = parseNewView(env, r.n, r.maxBatch, <i32>r.window, r.maxMsg);
  if (nv == null) return r.reject(Reject.Malformed, -1);
  const s = nv.sender;
  if (s >= r.n) return r.reject(Reject.BadSender, -1);
  if (nv.view < r.view || (nv.view == r.view && !r.changing)) {
    const nw = r.nvWire;
    r.reject(nw != null && nv.view == r.view && bytesEqual(nw, env.wire) ? Reject.Duplicate : Reject.OldView, s);
    return;
  }
  if (s != r.primaryOf(nv.view)) return r.reject(Reject.BadSender, s);
  if (s == r.self) return r.reject(Reject.Duplicate, s);
  // A new-view is relayed to laggards and decides the O set: its signature is always checked.
  if (!r.verifyEnv(env, s)) return r.reject(Reject.BadSignature, s);
  const o = checkNewView(r, nv);
  if (o == null) {
    // Signed by the primary and wrong: the primary is faulty. Move on to the next view.
    r.reject(Reject.BadNewView, s);
    startViewChange(r, nv.view + 1);
    return;
  }
  r.view = nv.view;
  r.primary = s;
  r.nvWire = env.wire;
  r.nvSentTo = 0;
  const pps = new Array<PrePrepare>();
  for (let i = 0; i < o.items.length; i++) pps.push(withBatch(r, unchecked(nv.pps[i]).env!, unchecked(o.items[i])));
  installNewView(r, nv.view, o, pps);
}

/** Recomputes the O set from the new-view's view changes; null unless it is exactly what was sent. */
function checkNewView(r: Replica, nv: NewView): OSet | null {
  const vcs = nv.vcs;
  if (vcs.length < r.quorum) return null;
  let seen: u64 = 0;
  for (let i = 0; i < vcs.length; i++) {
    let vc = unchecked(vcs[i]);
    if (vc.sender >= r.n || vc.view != nv.view) return null;
    const bit = (<u64>1) << (<u64>vc.sender);
    if ((seen & bit) != 0) return null;
    seen |= bit;
    // A view change we already checked (byte-identical) is not checked again.
    const known = unchecked(r.vcLatest[vc.sender]);
    if (known != null && known.valid && bytesEqual(known.env!.body, vc.env!.body)) {
      vc = known;
      unchecked((vcs[i] = known));
    } else if (!r.verifyEnv(vc.env!, vc.sender) || !validViewChange(r, vc)) {
      return null;
    }
  }
  const o = computeO(vcs);
  if (o.items.length != nv.pps.length) return null;
  for (let i = 0; i < o.items.length; i++) {
    const want = unchecked(o.items[i]);
    const got = unchecked(nv.pps[i]);
    if (got.sender != nv.sender || got.view != nv.view || got.seq != want.seq || got.time != want.time) return null;
    if (!bytesEqual(got.digest, want.digest)) return null;
  }
  // The O set's pre-prepares become prepared certificates later: their signatures are checked, at once.
  for (let i = 0; i < nv.pps.length; i++) r.batchEnv(unchecked(nv.pps[i]).env!, nv.sender);
  if (r.checkBatch().length > 0) return null;
  return o;
}

function installNewView(r: Replica, v: u64, o: OSet, pps: Array<PrePrepare>): void {
  r.view = v;
  r.changing = true; // until the O set is in place: nothing may be proposed meanwhile
  r.primary = r.primaryOf(v);
  const ck = o.ckpt;
  if (ck != null && ck.stableSeq > r.low) adoptProof(r, ck);
  r.changing = false;
  r.vcAttempt = 0;
  r.suspectAttempt = 0;
  r.stopVcTimer();
  r.stopBatchTimer();
  // Votes of earlier views no longer count; what committed stays committed.
  const vals = r.log.values();
  for (let i = 0; i < vals.length; i++) unchecked(vals[i]).resetVotes(v);
  for (let i = r.qHead; i < r.queue.length; i++) unchecked(r.queue[i]).proposed = false;
  r.cursor = r.qHead;
  for (let i = 0; i < pps.length; i++) {
    const pp = unchecked(pps[i]);
    if (!r.inWindow(pp.seq)) continue;
    for (let j = 0; j < pp.batch.length; j++) {
      const d = unchecked(pp.reqDigests[j]);
      let q = r.cache.get(d);
      if (q == null) {
        const parsed = parseRequest(unchecked(pp.batch[j]), r.maxMsg);
        if (parsed == null) continue; // unreachable: checked with the view change
        if (r.clients.isStale(parsed.key, parsed.seq)) continue;
        admit(r, parsed);
        q = parsed;
      }
      q.verified = true; // prepared by a quorum, so checked by an honest replica
      q.proposed = true;
    }
    const e = r.entryFor(pp.seq);
    e.pp = pp;
    if (r.self != r.primary) sendVote(r, MsgType.Prepare, e);
  }
  let next = o.maxS;
  if (next < r.low) next = r.low;
  if (next < r.lastExecuted) next = r.lastExecuted;
  r.nextSeq = next;
  actViewChanged(v, r.primary);
  for (let i = 0; i < pps.length; i++) {
    const seq = unchecked(pps[i]).seq;
    if (r.log.has(seq)) checkPrepared(r, r.log.get(seq));
  }
  replayFuture(r);
  if (r.pendingLive > 0 && !r.vcTimerOn) r.startVcTimer(0);
  tryExecute(r);
  tryPropose(r, false);
}

/**
 * A peer still talking in an older view (e.g. restarted without memory) gets the new-view that proves the
 * current one, once per view: it is signed by the primary, so the peer need not trust us.
 */
export function helpLaggard(r: Replica, s: i32): void {
  const nv = r.nvWire;
  if (nv == null || r.changing) return;
  const bit = (<u64>1) << (<u64>s);
  if ((r.nvSentTo & bit) != 0) return;
  r.nvSentTo |= bit;
  actSend(s, nv);
}

// ---- messages of views we have not entered -------------------------------------------------------------

/**
 * The view gate of a normal-case message from `s` in `view`: true if it is for the view we are in. An older
 * view's is rejected (and its sender is helped along); a later view's, or any while we change views, is
 * buffered for the view it names.
 */
export function inCurrentView(r: Replica, s: i32, view: u64, env: Envelope, from: i32): bool {
  if (view < r.view) {
    r.reject(Reject.OldView, s);
    helpLaggard(r, s);
    return false;
  }
  if (view > r.view || r.changing) {
    bufferFuture(r, s, view, env, from);
    return false;
  }
  return true;
}

/**
 * Holds a normal-case message of a later view (bounded per sender). Its sender must be the one its channel
 * authenticated, or its signature must verify: a peer cannot fill another's buffer.
 */
export function bufferFuture(r: Replica, s: i32, view: u64, env: Envelope, from: i32): void {
  const buf = unchecked(r.future[s]);
  for (let i = 0; i < buf.length; i++) {
    if (bytesEqual(unchecked(buf[i]).env.body, env.body)) return r.reject(Reject.Duplicate, s);
  }
  if (from != s && !r.verifyEnv(env, s)) return r.reject(Reject.BadSignature, s);
  if (buf.length >= r.maxFuture) return r.reject(Reject.BufferFull, s);
  buf.push(new Buffered(view, env));
  r.futureCount++;
  joinIfLeftBehind(r);
}

/**
 * f+1 peers sending normal-case messages in a later view means an honest one installed it: we missed its
 * new-view (restarted, partitioned). Ask for that view; the replicas in it answer with the new-view.
 */
function joinIfLeftBehind(r: Replica): void {
  const views = new Array<u64>();
  for (let s = 0; s < r.n; s++) {
    const buf = unchecked(r.future[s]);
    let top: u64 = 0;
    for (let i = 0; i < buf.length; i++) if (unchecked(buf[i]).view > top) top = unchecked(buf[i]).view;
    if (top > r.view) views.push(top);
  }
  if (views.length < r.f + 1) return;
  views.sort(sortU64);
  const target = unchecked(views[views.length - 1 - r.f]); // f+1 peers are at this view or later
  if (target > r.view) startViewChange(r, target);
}

/** The buffered messages of the view just entered, pre-prepares first (the votes that follow need them). */
function replayFuture(r: Replica): void {
  const ready = new Array<Buffered>();
  const senders = new Array<i32>();
  for (let s = 0; s < r.n; s++) {
    const buf = unchecked(r.future[s]);
    const keep = new Array<Buffered>();
    for (let i = 0; i < buf.length; i++) {
      const b = unchecked(buf[i]);
      if (b.view > r.view) keep.push(b);
      else if (b.view == r.view) {
        ready.push(b);
        senders.push(s);
      }
    }
    r.futureCount -= buf.length - keep.length;
    unchecked((r.future[s] = keep));
  }
  // Each was vouched for as its sender's when buffered: it is replayed as arriving over that sender's channel.
  for (let i = 0; i < ready.length; i++) {
    const b = unchecked(ready[i]);
    if (b.env.type == MsgType.PrePrepare) r.dispatch(b.env, unchecked(senders[i]));
  }
  for (let i = 0; i < ready.length; i++) {
    const b = unchecked(ready[i]);
    if (b.env.type != MsgType.PrePrepare) r.dispatch(b.env, unchecked(senders[i]));
  }
}
