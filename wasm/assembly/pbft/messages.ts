// Canonical encodings of the replica's messages. Every signed peer message on the wire is
//   uint(type) ‖ bytes(body) ‖ sig64 [‖ batch]
// where sig64 signs signingBytes(tagFor(type), epochId ‖ body); only a pre-prepare has a tail, its batch
// (uint(count) ‖ bytes(request)…), which is bound to the signed header by the batch digest. The body is kept
// as received and verified as received: nothing is re-encoded to check a signature. Three types carry no
// signature: a forwarded request (the client's signature is inside), a commit proof (its certificate is),
// and a fetch (it asks for those proofs; the channel says who asks).
//
// Bodies:
//   PrePrepare  uint sender ‖ uint view ‖ uint seq ‖ uint time ‖ digest32
//   Prepare     uint sender ‖ uint view ‖ uint seq ‖ digest32           (Commit: the same)
//   Checkpoint  uint sender ‖ uint seq ‖ stateDigest32 ‖ replicaDigest32
//   ViewChange  uint sender ‖ uint newView ‖ uint stableSeq ‖ stateDigest32 ‖ replicaDigest32
//               ‖ uint k ‖ k × bytes(checkpoint message)                        (the stable checkpoint proof)
//               ‖ uint m ‖ m × (bytes(pre-prepare with batch) ‖ uint p ‖ p × bytes(prepare message))
//   NewView     uint sender ‖ uint view ‖ uint v ‖ v × bytes(view-change message)
//               ‖ uint o ‖ o × bytes(pre-prepare without batch)
//   Suspect     uint sender ‖ uint view                                  (the view whose primary it suspects)
//   Fetch       uint(9) ‖ bytes(uint sender ‖ uint fromSeq ‖ uint toSeq), no signature.
//   Request     (forwarded) uint(1) ‖ bytes(client request), no signature of the forwarder.
//   Committed   uint(8) ‖ bytes(bytes(pre-prepare with batch) ‖ bytes(commit certificate)), no signature of the
//               relayer: the certificate's quorum of commits and the batch digest make it self-authenticating.
import { Reader } from '../codec/reader';
import { Writer } from '../codec/writer';
import { MsgType } from './boundary';
import { MAX_SAFE, SIG_BYTES } from './constants';
import { sha256 } from './crypto';

export class Envelope {
  constructor(
    public type: u32,
    public body: Uint8Array,
    public sig: Uint8Array,
    public tail: Uint8Array,
    public wire: Uint8Array,
  ) {}
}

/** Types whose messages carry their sender's signature. */
export function isSigned(type: u32): bool {
  return type != MsgType.Request && type != MsgType.Committed && type != MsgType.Fetch;
}

export function parseEnvelope(wire: Uint8Array, maxBytes: i32): Envelope | null {
  if (wire.length > maxBytes) return null;
  const r = new Reader(wire, maxBytes);
  const type = <u32>r.uint(<u64>MsgType.Suspect); // the highest type there is
  if (!r.ok || type == 0) return null;
  const body = r.bytes(maxBytes);
  if (!isSigned(type)) {
    if (!r.end()) return null;
    return new Envelope(type, body, new Uint8Array(0), new Uint8Array(0), wire);
  }
  const sig = r.fixed(SIG_BYTES);
  if (!r.ok) return null;
  const rest = r.remaining();
  if (type != MsgType.PrePrepare && rest != 0) return null;
  return new Envelope(type, body, sig, wire.subarray(wire.length - rest), wire);
}

/**
 * The envelope nested next in r as length-prefixed bytes (view changes carry votes, new views view changes);
 * null if malformed, which the message parsers below take as input and refuse.
 */
function nextEnvelope(r: Reader, maxBytes: i32): Envelope | null {
  return parseEnvelope(r.bytes(maxBytes), maxBytes);
}

/** The parsed message m of env once r has been read to its end exactly; null if bytes are left or missing. */
function sealed<T>(r: Reader, env: Envelope, m: T): T | null {
  if (!r.end()) return null;
  m.env = env;
  return m;
}

export function encodeEnvelope(type: u32, body: Uint8Array, sig: Uint8Array, tail: Uint8Array | null): Uint8Array {
  const w = new Writer(body.length + 80 + (tail != null ? tail.length : 0));
  w.uint(<u64>type);
  w.bytes(body);
  w.fixed(sig);
  if (tail != null) w.fixed(tail);
  return w.finish();
}

export function encodeCommitted(ppWire: Uint8Array, cert: Uint8Array): Uint8Array {
  const inner = new Writer(ppWire.length + cert.length + 16);
  inner.bytes(ppWire);
  inner.bytes(cert);
  const body = inner.finish();
  const w = new Writer(body.length + 8);
  w.uint(<u64>MsgType.Committed);
  w.bytes(body);
  return w.finish();
}

export function encodeFetch(sender: i32, from: u64, to: u64): Uint8Array {
  const body = new Writer(32);
  body.uint(<u64>sender);
  body.uint(from);
  body.uint(to);
  const w = new Writer(40);
  w.uint(<u64>MsgType.Fetch);
  w.bytes(body.finish());
  return w.finish();
}

export function encodeForwardedRequest(req: Uint8Array): Uint8Array {
  const w = new Writer(req.length + 8);
  w.uint(<u64>MsgType.Request);
  w.bytes(req);
  return w.finish();
}

// ---- pre-prepare -------------------------------------------------------------------------------------------

/**
 * A pre-prepare. parsePrePrepare fills an empty one field by field as it reads; a replica that holds all the
 * parts already (the primary proposing a batch, a new view re-attaching an O-set entry's batch) passes them in.
 */
export class PrePrepare {
  constructor(
    public sender: i32 = 0,
    public view: u64 = 0,
    public seq: u64 = 0,
    public time: u64 = 0,
    public digest: Uint8Array = new Uint8Array(0),
    public env: Envelope | null = null,
    /** The client requests, in order; empty for a null request. */
    public batch: Array<Uint8Array> = new Array(),
    /** sha256 of each request, filled when the batch digest is checked. */
    public reqDigests: Array<Uint8Array> = new Array(),
  ) {}

  /** The signed header alone (no batch): what a new-view's O set carries. */
  headerWire(): Uint8Array {
    const e = this.env!;
    return e.wire.subarray(0, e.wire.length - e.tail.length);
  }
}

export function encodePrePrepareBody(sender: i32, view: u64, seq: u64, time: u64, digest: Uint8Array): Uint8Array {
  const w = new Writer(64);
  w.uint(<u64>sender);
  w.uint(view);
  w.uint(seq);
  w.uint(time);
  w.fixed(digest);
  return w.finish();
}

export function encodeBatch(batch: Array<Uint8Array>): Uint8Array {
  let size = 8;
  for (let i = 0; i < batch.length; i++) size += unchecked(batch[i]).length + 5;
  const w = new Writer(size);
  w.uint(<u64>batch.length);
  for (let i = 0; i < batch.length; i++) w.bytes(unchecked(batch[i]));
  return w.finish();
}

/** Parses a pre-prepare; with `withBatch` false the tail must be empty (a header from an O set). */
export function parsePrePrepare(env: Envelope | null, maxBatch: i32, maxBytes: i32, withBatch: bool): PrePrepare | null {
  if (env == null || env.type != MsgType.PrePrepare) return null;
  const r = new Reader(env.body, maxBytes);
  const m = new PrePrepare();
  m.sender = <i32>r.uint(255);
  m.view = r.uint(MAX_SAFE);
  m.seq = r.uint(MAX_SAFE);
  m.time = r.uint(MAX_SAFE);
  m.digest = r.fixed(32);
  if (!r.end()) return null;
  m.env = env;
  if (!withBatch) {
    return env.tail.length == 0 ? m : null;
  }
  // The requests are views into the message (no copy per request on the hot path).
  const tail = env.tail;
  const t = new Reader(tail, maxBytes);
  const count = t.count(maxBatch);
  for (let i = 0; i < count && t.ok; i++) {
    const len = t.count(maxBytes);
    const off = t.offset();
    t.skip(len);
    if (t.ok) m.batch.push(tail.subarray(off, off + len));
  }
  if (!t.end()) return null;
  return m;
}

/**
 * The digest replicas agree on: sha256(uint(time) ‖ uint(count) ‖ sha256(request_i)…). It covers the time,
 * so the agreed time is part of the commit certificate.
 */
export function batchDigestOf(time: u64, reqDigests: Array<Uint8Array>): Uint8Array {
  const w = new Writer(16 + 32 * reqDigests.length);
  w.uint(time);
  w.uint(<u64>reqDigests.length);
  for (let i = 0; i < reqDigests.length; i++) w.fixed(unchecked(reqDigests[i]));
  return sha256(w.finish());
}

// ---- prepare / commit --------------------------------------------------------------------------------------

export class Vote {
  sender: i32 = 0;
  view: u64 = 0;
  seq: u64 = 0;
  digest: Uint8Array = new Uint8Array(0);
  env: Envelope | null = null;
}

export function encodeVoteBody(sender: i32, view: u64, seq: u64, digest: Uint8Array): Uint8Array {
  const w = new Writer(56);
  w.uint(<u64>sender);
  w.uint(view);
  w.uint(seq);
  w.fixed(digest);
  return w.finish();
}

export function parseVote(env: Envelope | null, type: u32): Vote | null {
  if (env == null || env.type != type) return null;
  const r = new Reader(env.body, 256);
  const m = new Vote();
  m.sender = <i32>r.uint(255);
  m.view = r.uint(MAX_SAFE);
  m.seq = r.uint(MAX_SAFE);
  m.digest = r.fixed(32);
  return sealed(r, env, m);
}

// ---- suspect -----------------------------------------------------------------------------------------------

export class Suspect {
  sender: i32 = 0;
  view: u64 = 0;
  env: Envelope | null = null;
}

export function encodeSuspectBody(sender: i32, view: u64): Uint8Array {
  const w = new Writer(24);
  w.uint(<u64>sender);
  w.uint(view);
  return w.finish();
}

export function parseSuspect(env: Envelope): Suspect | null {
  if (env.type != MsgType.Suspect) return null;
  const r = new Reader(env.body, 64);
  const m = new Suspect();
  m.sender = <i32>r.uint(255);
  m.view = r.uint(MAX_SAFE);
  return sealed(r, env, m);
}

// ---- checkpoint --------------------------------------------------------------------------------------------

export class Checkpoint {
  sender: i32 = 0;
  seq: u64 = 0;
  stateDigest: Uint8Array = new Uint8Array(0);
  replicaDigest: Uint8Array = new Uint8Array(0);
  env: Envelope | null = null;

  /** What checkpoint votes agree on: stateDigest ‖ replicaDigest. */
  key(): Uint8Array {
    const k = new Uint8Array(64);
    k.set(this.stateDigest, 0);
    k.set(this.replicaDigest, 32);
    return k;
  }
}

export function encodeCheckpointBody(sender: i32, seq: u64, stateDigest: Uint8Array, replicaDigest: Uint8Array): Uint8Array {
  const w = new Writer(80);
  w.uint(<u64>sender);
  w.uint(seq);
  w.fixed(stateDigest);
  w.fixed(replicaDigest);
  return w.finish();
}

export function parseCheckpoint(env: Envelope | null): Checkpoint | null {
  if (env == null || env.type != MsgType.Checkpoint) return null;
  const r = new Reader(env.body, 256);
  const m = new Checkpoint();
  m.sender = <i32>r.uint(255);
  m.seq = r.uint(MAX_SAFE);
  m.stateDigest = r.fixed(32);
  m.replicaDigest = r.fixed(32);
  return sealed(r, env, m);
}

/**
 * A certificate: uint(count) ‖ count × bytes(signed message), the layout of a batch. Used for commits and
 * checkpoints.
 */
export function encodeCertificate(msgs: Array<Uint8Array>): Uint8Array {
  return encodeBatch(msgs);
}

/** Splits a certificate into its messages (at most maxCount, each a whole envelope); null if malformed. */
export function parseCertificate(cert: Uint8Array, maxCount: i32, maxBytes: i32): Array<Envelope> | null {
  const r = new Reader(cert, maxBytes);
  const count = <i32>r.uint(<u64>maxCount);
  const out = new Array<Envelope>();
  for (let i = 0; i < count && r.ok; i++) {
    const e = nextEnvelope(r, maxBytes);
    if (e == null) return null;
    out.push(e);
  }
  return r.end() ? out : null;
}

// ---- view change -------------------------------------------------------------------------------------------

export class PreparedCert {
  pp: PrePrepare;
  prepares: Array<Vote> = new Array();
  constructor(pp: PrePrepare) {
    this.pp = pp;
  }
}

export class ViewChange {
  sender: i32 = 0;
  view: u64 = 0;
  stableSeq: u64 = 0;
  stateDigest: Uint8Array = new Uint8Array(0);
  replicaDigest: Uint8Array = new Uint8Array(0);
  proof: Array<Checkpoint> = new Array();
  certs: Array<PreparedCert> = new Array();
  env: Envelope | null = null;
  /** Set once its signature and certificates were checked. */
  valid: bool = false;
}

export function encodeViewChangeBody(
  sender: i32,
  view: u64,
  stableSeq: u64,
  stateDigest: Uint8Array,
  replicaDigest: Uint8Array,
  proof: Array<Uint8Array>,
  certs: Array<PreparedCert>,
): Uint8Array {
  const w = new Writer(1024);
  w.uint(<u64>sender);
  w.uint(view);
  w.uint(stableSeq);
  w.fixed(stateDigest);
  w.fixed(replicaDigest);
  w.uint(<u64>proof.length);
  for (let i = 0; i < proof.length; i++) w.bytes(unchecked(proof[i]));
  w.uint(<u64>certs.length);
  for (let i = 0; i < certs.length; i++) {
    const c = unchecked(certs[i]);
    w.bytes(c.pp.env!.wire);
    w.uint(<u64>c.prepares.length);
    for (let j = 0; j < c.prepares.length; j++) w.bytes(unchecked(c.prepares[j]).env!.wire);
  }
  return w.finish();
}

/** Parses the structure only (no signatures); null if anything is malformed. */
export function parseViewChange(env: Envelope | null, n: i32, maxBatch: i32, maxCerts: i32, maxBytes: i32): ViewChange | null {
  if (env == null || env.type != MsgType.ViewChange) return null;
  const r = new Reader(env.body, maxBytes);
  const m = new ViewChange();
  m.sender = <i32>r.uint(255);
  m.view = r.uint(MAX_SAFE);
  m.stableSeq = r.uint(MAX_SAFE);
  m.stateDigest = r.fixed(32);
  m.replicaDigest = r.fixed(32);
  const k = <i32>r.uint(<u64>n);
  for (let i = 0; i < k && r.ok; i++) {
    const c = parseCheckpoint(nextEnvelope(r, maxBytes));
    if (c == null) return null;
    m.proof.push(c);
  }
  const count = <i32>r.uint(<u64>maxCerts);
  for (let i = 0; i < count && r.ok; i++) {
    const pp = parsePrePrepare(nextEnvelope(r, maxBytes), maxBatch, maxBytes, true);
    if (pp == null) return null;
    const cert = new PreparedCert(pp);
    const p = <i32>r.uint(<u64>n);
    for (let j = 0; j < p && r.ok; j++) {
      const v = parseVote(nextEnvelope(r, maxBytes), MsgType.Prepare);
      if (v == null) return null;
      cert.prepares.push(v);
    }
    m.certs.push(cert);
  }
  return sealed(r, env, m);
}

// ---- new view ----------------------------------------------------------------------------------------------

export class NewView {
  sender: i32 = 0;
  view: u64 = 0;
  vcs: Array<ViewChange> = new Array();
  pps: Array<PrePrepare> = new Array();
  env: Envelope | null = null;
}

export function encodeNewViewBody(sender: i32, view: u64, vcs: Array<ViewChange>, pps: Array<Uint8Array>): Uint8Array {
  const w = new Writer(4096);
  w.uint(<u64>sender);
  w.uint(view);
  w.uint(<u64>vcs.length);
  for (let i = 0; i < vcs.length; i++) w.bytes(unchecked(vcs[i]).env!.wire);
  w.uint(<u64>pps.length);
  for (let i = 0; i < pps.length; i++) w.bytes(unchecked(pps[i]));
  return w.finish();
}

export function parseNewView(env: Envelope, n: i32, maxBatch: i32, maxCerts: i32, maxBytes: i32): NewView | null {
  if (env.type != MsgType.NewView) return null;
  const r = new Reader(env.body, maxBytes);
  const m = new NewView();
  m.sender = <i32>r.uint(255);
  m.view = r.uint(MAX_SAFE);
  const v = <i32>r.uint(<u64>n);
  for (let i = 0; i < v && r.ok; i++) {
    const vc = parseViewChange(nextEnvelope(r, maxBytes), n, maxBatch, maxCerts, maxBytes);
    if (vc == null) return null;
    m.vcs.push(vc);
  }
  const o = <i32>r.uint(<u64>maxCerts);
  for (let i = 0; i < o && r.ok; i++) {
    const pp = parsePrePrepare(nextEnvelope(r, maxBytes), maxBatch, maxBytes, false);
    if (pp == null) return null;
    m.pps.push(pp);
  }
  return sealed(r, env, m);
}
