// Suspicion, the step before a view change. A replica whose view-change timer fires in the normal case does
// not leave its view at once: it tells the others it suspects the primary and carries on in the view until
// f+1 replicas (itself among them) suspect that view's primary. Then at least one honest replica saw no
// progress, and every replica that counts f+1 suspicions starts the view change, as Castro–Liskov's f+1 rule
// has them join one. A replica that was only slow itself (a starved or sleeping tablet) is alone in its
// suspicion: it catches up and stays with the others. Without this step it would have sent a view change
// that no quorum joins and waited outside the view for good, since going back after a view change is unsafe
// (the view change may already count in a new-view). A faulty primary costs one message delay more.
//
// A suspicion counts for the view it names while the replica is in that view; suspicions of earlier views
// lapse with them. One that came long before (a replica that was slow once) still counts in the same view:
// with one more, the view changes, which is what plain PBFT does with two lone view changes too.
import { MsgType, Reject } from './boundary';
import { actBroadcast, actSend } from './io';
import { encodeEnvelope, encodeForwardedRequest, encodeSuspectBody, Envelope, parseSuspect } from './messages';
import { Replica } from './replica';
import { startViewChange } from './viewchange';

/** Our view-change timer fired with work outstanding: suspect the primary, and change views if f+1 do. */
export function suspectPrimary(r: Replica): void {
  const v = r.view;
  unchecked((r.suspects[r.self] = v + 1));
  const body = encodeSuspectBody(r.self, v);
  actBroadcast(encodeEnvelope(MsgType.Suspect, body, r.sign(MsgType.Suspect, body), null));
  if (suspicionsOf(r, v) >= r.f + 1) return startViewChange(r, v + 1);
  forwardPending(r);
  // Ask again later (the message may have been lost), waiting longer each time, until the view moves on.
  r.suspectAttempt++;
  r.startVcTimer(r.suspectAttempt);
}

/**
 * The oldest requests we hold that nobody ordered, to the primary again (a batch's worth): our first forward
 * may have been lost, and an honest primary orders them without a view change. A faulty one gains nothing.
 */
function forwardPending(r: Replica): void {
  if (r.self == r.primary) return;
  let sent = 0;
  for (let i = r.qHead; i < r.queue.length && sent < r.maxBatch; i++) {
    const q = unchecked(r.queue[i]);
    if (q.done || !q.queued) continue;
    actSend(r.primary, encodeForwardedRequest(q.bytes));
    sent++;
  }
}

export function onSuspect(r: Replica, env: Envelope, from: i32): void {
  const m = parseSuspect(env);
  if (m == null) return r.reject(Reject.Malformed, -1);
  const s = m.sender;
  if (!r.fromPeer(s)) return;
  // Another view's suspicion is no evidence here: an earlier view's has lapsed, and a later view is joined
  // through its view changes (f+1 of them), not through suspicions of it.
  if (m.view != r.view || r.changing) return;
  // Said again (a replica repeats its suspicion until the view moves): counted once, and not held against it.
  if (unchecked(r.suspects[s]) == m.view + 1) return;
  if (from != s && !r.verifyEnv(env, s)) return r.reject(Reject.BadSignature, s);
  unchecked((r.suspects[s] = m.view + 1));
  if (suspicionsOf(r, m.view) >= r.f + 1) startViewChange(r, m.view + 1);
}

/** How many replicas (us included) suspect the primary of `view`. */
export function suspicionsOf(r: Replica, view: u64): i32 {
  let count = 0;
  for (let i = 0; i < r.n; i++) if (unchecked(r.suspects[i]) == view + 1) count++;
  return count;
}
