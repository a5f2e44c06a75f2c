// Client requests coming in: admitted (bounded, de-duplicated, not yet verified), queued for the primary,
// forwarded to it by backups, and verified in batches at the one point each replica needs them valid: when
// the primary puts them in a batch, when a backup checks a pre-prepare, or when a view-change timer fires on
// them. Each request's signature is checked once per replica.
import { Reject } from './boundary';
import { actSend } from './io';
import { encodeForwardedRequest } from './messages';
import { tryPropose } from './normal';
import { Replica } from './replica';
import { ClientRequest, parseRequest } from './requests';

/** How many pending requests a view-change timer verifies at a time while looking for a valid one. */
const PENDING_CHECK_CHUNK: i32 = 16;

export function onRequest(r: Replica, bytes: Uint8Array, now: u64, forwarded: bool): void {
  r.touchNow(now);
  if (bytes.length > r.maxMsg) return r.reject(Reject.Oversize, -1);
  const req = parseRequest(bytes, r.maxMsg);
  if (req == null) return r.reject(Reject.Malformed, -1);
  if (r.clients.isStale(req.key, req.seq)) return r.reject(Reject.StaleRequest, -1);
  if (r.cache.get(req.digest) != null) {
    // A backup forwarding what the client also sent us is the normal case, not an anomaly.
    if (!forwarded) r.reject(Reject.Duplicate, -1);
    return;
  }
  if (r.pendingLive >= r.maxPending) return r.reject(Reject.BufferFull, -1);
  admit(r, req);
  if (!forwarded && r.self != r.primary && !r.changing) actSend(r.primary, encodeForwardedRequest(bytes));
  if (!r.vcTimerOn) r.startVcTimer(r.changing ? r.vcAttempt : 0);
  tryPropose(r, false);
}

export function onBatchTimer(r: Replica): void {
  tryPropose(r, true);
}

export function admit(r: Replica, req: ClientRequest): void {
  r.cache.add(req);
  req.queued = true;
  r.queue.push(req);
  r.pendingLive++;
}

export function retire(r: Replica, req: ClientRequest): void {
  if (req.done) return;
  req.done = true;
  if (req.queued) r.pendingLive--;
  r.cache.remove(req);
}

/** Drops retired requests from the queue's head, and the dead prefix of the array now and then. */
export function compactQueue(r: Replica): void {
  while (r.qHead < r.queue.length && unchecked(r.queue[r.qHead]).done) r.qHead++;
  if (r.cursor < r.qHead) r.cursor = r.qHead;
  if (r.qHead > 1024 && r.qHead * 2 > r.queue.length) {
    r.queue = r.queue.slice(r.qHead);
    r.cursor -= r.qHead;
    r.qHead = 0;
  }
}

/** A request whose client already executed a later seq can never execute: stop waiting for it. */
export function retireStale(r: Replica): void {
  for (let i = r.qHead; i < r.queue.length; i++) {
    const q = unchecked(r.queue[i]);
    if (!q.done && r.clients.isStale(q.key, q.seq)) retire(r, q);
  }
  compactQueue(r);
}

/**
 * Verifies the unverified among `reqs` in one batch; the bad ones are retired and rejected. Returns the
 * requests that are valid, in order.
 */
export function verifyRequests(r: Replica, reqs: Array<ClientRequest>): Array<ClientRequest> {
  const bad = r.failedSignatures(reqs);
  if (bad.length == 0) return reqs;
  for (let i = 0; i < bad.length; i++) {
    retire(r, unchecked(bad[i]));
    r.reject(Reject.BadRequest, -1);
  }
  const good = new Array<ClientRequest>();
  for (let i = 0; i < reqs.length; i++) if (!unchecked(reqs[i]).done) good.push(unchecked(reqs[i]));
  return good;
}

/**
 * Before a timer makes us suspect the primary: retire what can never execute, and verify the oldest pending
 * requests until one is valid (forged requests never ordered must not cost a view change).
 */
export function verifyPending(r: Replica): void {
  retireStale(r);
  let i = r.qHead;
  while (i < r.queue.length) {
    const chunk = new Array<ClientRequest>();
    for (; i < r.queue.length && chunk.length < PENDING_CHECK_CHUNK; i++) {
      const q = unchecked(r.queue[i]);
      if (!q.done) chunk.push(q);
    }
    if (verifyRequests(r, chunk).length > 0) break;
  }
  compactQueue(r);
}
