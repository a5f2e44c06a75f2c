// The replica's own deterministic state at a checkpoint, agreed by its digest in checkpoint messages:
//   replicaState = uint(seq) ‖ uint(n) ‖ n × zigzag(trust) ‖ uint(lastTime) ‖ client table
// The host stores it with its snapshot, ships it with state transfer, and hands it back to start a replica
// at a checkpoint (a new epoch, or a restart).
import { Reader } from '../codec/reader';
import { Writer } from '../codec/writer';
import { MAX_SAFE } from './constants';
import { ClientTable } from './requests';

function zigzag(v: i64): u64 {
  return <u64>((v << 1) ^ (v >> 63));
}
function unzigzag(v: u64): i64 {
  return (<i64>(v >>> 1)) ^ -(<i64>(v & 1));
}

/** The time-and-clients part, captured when the checkpoint's batch executes: uint(lastTime) ‖ client table. */
export function encodeTableSnapshot(lastTime: u64, clients: ClientTable): Uint8Array {
  const w = new Writer(64 + 48 * clients.count);
  w.uint(lastTime);
  clients.encode(w);
  return w.finish();
}

/** The whole replica state, from the trust scores at seq and the snapshot taken when seq executed. */
export function encodeReplicaState(seq: u64, trust: StaticArray<i64>, tableSnapshot: Uint8Array): Uint8Array {
  const w = new Writer(tableSnapshot.length + 16 + 10 * trust.length);
  w.uint(seq);
  w.uint(<u64>trust.length);
  for (let i = 0; i < trust.length; i++) w.uint(zigzag(unchecked(trust[i])));
  w.fixed(tableSnapshot);
  return w.finish();
}

export class ReplicaState {
  seq: u64 = 0;
  trust: StaticArray<i64> = new StaticArray(0);
  lastTime: u64 = 0;
  clients: ClientTable = new ClientTable();
}

/** Decodes a replica state canonically; null if malformed or if it holds more than maxN trust scores. */
export function decodeReplicaState(bytes: Uint8Array, maxN: i32): ReplicaState | null {
  const r = new Reader(bytes, bytes.length);
  const s = new ReplicaState();
  s.seq = r.uint(MAX_SAFE);
  const n = <i32>r.uint(<u64>maxN);
  if (!r.ok) return null;
  const t = new StaticArray<i64>(n);
  for (let i = 0; i < n; i++) unchecked((t[i] = unzigzag(r.uint())));
  s.trust = t;
  s.lastTime = r.uint(MAX_SAFE);
  if (!r.ok || !s.clients.decode(r) || !r.end()) return null;
  return s;
}
