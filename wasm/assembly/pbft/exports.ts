// Exports of the pbft subsystem: a registry of replicas driven by wasm/face/replica.ts through the
// scratch buffers of io.ts. Handles are small integers; a disposed handle's seed is wiped. The numbers that
// cross the boundary (event and action kinds, info codes, errors) are named in boundary.ts.
import { Reader } from '../codec/reader';
import { ed25519DerivePublicKey } from '../sign/ed25519';
import { CreateError, EventKind, MsgType, TimerKind } from './boundary';
import { readCommitCertificate } from './certificates';
import { MAX_SAFE, quorumSize, SIG_BYTES, tagFor } from './constants';
import { bytesEqual, counters, sha256, SigBatch } from './crypto';
import { inputBuffer, inputCopy, outputLen, outputPtr, putF64, putRaw, resetOutput } from './io';
import { batchDigestOf } from './messages';
import { Config, Replica } from './replica';
import { encodeRequest } from './requests';

const replicas = new Array<Replica | null>();

/** The input scratch buffer's address, grown to hold `len` bytes. */
export function pbftInput(len: i32): usize {
  return inputBuffer(len).dataStart;
}

export function pbftOutputLen(): i32 {
  return outputLen();
}

function clampTime(t: f64): u64 {
  if (!(t > 0)) return 0;
  if (t > <f64>MAX_SAFE) return MAX_SAFE;
  return <u64>t;
}

/** Reads the little-endian options layout of pbftCreate from the input buffer, bounds-checked. */
class OptionsCursor {
  off: i32 = 0;
  ok: bool = true;
  constructor(public len: i32) {}
  private need(k: i32): usize {
    if (!this.ok || k < 0 || this.off + k > this.len) {
      this.ok = false;
      return 0;
    }
    const p = inputBuffer(0).dataStart + <usize>this.off;
    this.off += k;
    return p;
  }
  u32(): u32 {
    const p = this.need(4);
    return this.ok ? load<u32>(p) : 0;
  }
  f64(): f64 {
    const p = this.need(8);
    return this.ok ? load<f64>(p) : 0;
  }
  bytes(k: i32): Uint8Array {
    const at = this.off;
    this.need(k);
    return this.ok ? inputCopy(at, k) : new Uint8Array(0);
  }
}

/** Creates a replica from the options layout documented in wasm/face/replica.ts; a handle, or -CreateError. */
export function pbftCreate(len: i32): i32 {
  const c = new OptionsCursor(len);
  const cfg = new Config();
  const n = c.u32();
  if (n < 1 || n > 64) return -CreateError.BadOptions;
  cfg.n = <i32>n;
  cfg.self = <i32>c.u32();
  cfg.K = <u64>c.u32();
  cfg.window = <u64>c.u32();
  cfg.maxBatch = <i32>c.u32();
  cfg.trustFloor = c.f64();
  cfg.maxSkew = clampTime(c.f64());
  cfg.maxMsg = <i32>c.u32();
  cfg.maxPending = <i32>c.u32();
  cfg.maxFuture = <i32>c.u32();
  if (cfg.self < 0 || cfg.self >= cfg.n || cfg.K == 0 || cfg.window < cfg.K || cfg.window % cfg.K != 0) return -CreateError.BadOptions;
  if (cfg.maxBatch < 1 || cfg.maxMsg < 1024 || cfg.maxPending < 1 || cfg.maxFuture < 1) return -CreateError.BadOptions;
  for (let i = 0; i < cfg.n; i++) cfg.keys.push(c.bytes(32));
  const trust = new StaticArray<i64>(cfg.n);
  for (let i = 0; i < cfg.n; i++) unchecked((trust[i] = <i64>c.f64()));
  cfg.trust = trust;
  const seed = c.bytes(32);
  cfg.epochId = c.bytes(32);
  cfg.startSeq = clampTime(c.f64());
  cfg.startDigest = c.bytes(32);
  const hasStartState = c.u32();
  const startState = c.bytes(<i32>c.u32());
  if (hasStartState == 1) cfg.startState = startState;
  cfg.resumeSeq = clampTime(c.f64());
  cfg.resumeDigest = c.bytes(32);
  cfg.resumeState = c.bytes(<i32>c.u32());
  cfg.resumeCert = c.bytes(<i32>c.u32());
  if (!c.ok || c.off != len || hasStartState > 1) {
    seed.fill(0);
    return -CreateError.BadOptions;
  }
  cfg.seed = seed;
  const pk = new Uint8Array(32);
  ed25519DerivePublicKey(seed.dataStart, pk.dataStart);
  if (!bytesEqual(pk, cfg.keys[cfg.self])) {
    seed.fill(0);
    return -CreateError.BadKey;
  }
  const r = new Replica(cfg, pk);
  const err = r.start(cfg);
  if (err != 0) {
    r.wipe();
    return -err;
  }
  for (let i = 0; i < replicas.length; i++) {
    if (replicas[i] == null) {
      replicas[i] = r;
      return i;
    }
  }
  replicas.push(r);
  return replicas.length - 1;
}

function get(h: i32): Replica | null {
  if (h < 0 || h >= replicas.length) return null;
  return replicas[h];
}

/**
 * A fresh buffer for the next message or request event, `len` bytes: the replica keeps it (its messages are
 * views into what arrived), so the bytes cross into wasm with one copy.
 */
let owned = new Uint8Array(0);
export function pbftEventBuffer(len: i32): usize {
  owned = new Uint8Array(len);
  return owned.dataStart;
}

/**
 * Steps replica `h` with one event (kinds: EventKind); returns the address of the action stream (length:
 * pbftOutputLen()).
 * Message: the bytes are in pbftEventBuffer(len), a = now, b = the transport-authenticated sender (-1: none).
 * Request: the bytes are in pbftEventBuffer(len), a = now. Timer: a = now, b = TimerKind.
 * Executed: a = seq, input = u32 len ‖ stateDigest ‖ (b == 1: n × f64 trust).
 * StateInstalled: a = seq, input = u32 len ‖ stateDigest ‖ replicaState.
 */
export function pbftStep(h: i32, kind: i32, a: f64, b: i32, len: i32): usize {
  resetOutput();
  const r = get(h);
  if (r == null) return outputPtr();
  if (kind == EventKind.Message || kind == EventKind.Request) {
    const bytes = owned.length == len ? owned : inputCopy(0, len);
    owned = new Uint8Array(0);
    if (kind == EventKind.Message) r.onMessage(bytes, b, clampTime(a));
    else r.onClientRequest(bytes, clampTime(a));
  } else if (kind == EventKind.Timer) {
    if (b == TimerKind.Batch) r.onBatchTimer(clampTime(a));
    else r.onViewChangeTimer(clampTime(a));
  } else if (kind == EventKind.Executed || kind == EventKind.StateInstalled) {
    const p = inputBuffer(0).dataStart;
    if (len < 4) return outputPtr();
    const dlen = <i32>load<u32>(p);
    if (dlen < 0 || 4 + dlen > len) return outputPtr();
    const digest = inputCopy(4, dlen);
    if (kind == EventKind.Executed) {
      let trust: StaticArray<i64> | null = null;
      if (b == 1) {
        if (len != 4 + dlen + 8 * r.n) return outputPtr();
        const t = new StaticArray<i64>(r.n);
        for (let i = 0; i < r.n; i++) unchecked((t[i] = <i64>load<f64>(p + <usize>(4 + dlen + 8 * i))));
        trust = t;
      }
      r.onExecuted(clampTime(a), digest, trust);
    } else {
      r.onStateInstalled(clampTime(a), digest, inputCopy(4 + dlen, len - 4 - dlen));
    }
  }
  return outputPtr();
}

export function pbftInfo(h: i32, what: i32): f64 {
  const r = get(h);
  return r == null ? -1 : r.info(what);
}

export function pbftDispose(h: i32): void {
  const r = get(h);
  if (r == null) return;
  r.wipe();
  replicas[h] = null;
}

/** input = seed32; output = its Ed25519 public key (so hosts and tests derive keys as replicas do). */
export function pbftPublicKey(): usize {
  resetOutput();
  const pk = new Uint8Array(32);
  ed25519DerivePublicKey(inputBuffer(0).dataStart, pk.dataStart);
  putRaw(pk);
  return outputPtr();
}

/** input = seed32 ‖ payload; output = the signed request. */
export function pbftEncodeRequest(clientSeq: f64, payloadLen: i32): usize {
  resetOutput();
  const input = inputBuffer(0);
  const seed = input.subarray(0, 32);
  const payload = inputCopy(32, payloadLen);
  putRaw(encodeRequest(seed, clampTime(clientSeq), payload));
  return outputPtr();
}

/** input = request; output = key32 ‖ f64 clientSeq ‖ payload, or 0 if not canonical. */
export function pbftDecodeRequest(len: i32): usize {
  resetOutput();
  const bytes = inputCopy(0, len);
  const r = new Reader(bytes, bytes.length);
  const key = r.fixed(32);
  const seq = r.uint(MAX_SAFE);
  const payload = r.bytes(bytes.length);
  r.fixed(SIG_BYTES);
  if (!r.end()) return 0;
  putRaw(key);
  putF64(<f64>seq);
  putRaw(payload);
  return outputPtr();
}

/**
 * input = n × key32 ‖ epochId32 ‖ digest32 ‖ random32 ‖ certificate: 1 if a quorum of distinct validators
 * signed commits for (seq, digest) in one view under that epoch. The 32 random bytes (fresh from the host)
 * would seed a randomized batch check's coefficients; the exact batch verifier (sign/batch.ts) ignores them.
 */
export function pbftVerifyCommitCert(n: i32, seq: f64, certLen: i32): i32 {
  if (n < 1 || n > 64) return 0;
  const keys = new Array<Uint8Array>();
  for (let i = 0; i < n; i++) keys.push(inputCopy(i * 32, 32));
  const epoch = inputCopy(n * 32, 32);
  const digest = inputCopy(n * 32 + 32, 32);
  const random = inputCopy(n * 32 + 64, 32);
  const cert = readCommitCertificate(inputCopy(n * 32 + 96, certLen), n, clampTime(seq), digest, certLen);
  if (cert == null) return 0;
  const batch = new SigBatch();
  for (let i = 0; i < cert.commits.length; i++) {
    const env = unchecked(cert.commits[i]);
    batch.add(tagFor(MsgType.Commit), epoch, env.body, unchecked(keys[unchecked(cert.senders[i])]), env.sig);
  }
  return batch.verify(random).length == 0 ? 1 : 0;
}

/** input = count × (u32 len ‖ request); output = the batch digest the replicas agree on. */
export function pbftBatchDigest(time: f64, count: i32, len: i32): usize {
  resetOutput();
  const p = inputBuffer(0).dataStart;
  const digests = new Array<Uint8Array>();
  let off = 0;
  for (let i = 0; i < count; i++) {
    if (off + 4 > len) return outputPtr();
    const l = <i32>load<u32>(p + <usize>off);
    if (l < 0 || off + 4 + l > len) return outputPtr();
    digests.push(sha256(inputCopy(off + 4, l)));
    off += 4 + l;
  }
  putRaw(batchDigestOf(clampTime(time), digests));
  return outputPtr();
}

/** The quorum the replica uses for n validators (held equal to the TypeScript one by a differential test). */
export function pbftQuorum(n: i32): i32 {
  return n < 1 ? 0 : quorumSize(n);
}

/** Output: 6 × f64: signatures, single verifications, batched verifications, batches, hashes, hashed bytes. */
export function pbftCryptoCounters(): usize {
  resetOutput();
  putF64(counters.signatures);
  putF64(counters.verifications);
  putF64(counters.batchedVerifications);
  putF64(counters.batches);
  putF64(counters.hashes);
  putF64(counters.hashedBytes);
  return outputPtr();
}
