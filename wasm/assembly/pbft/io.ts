// The boundary between the wasm replica and its JS face: one scratch input buffer the face writes events
// into, one growable output buffer the replica writes actions into. Both are held by globals, so the
// collector never frees them while JS holds their addresses between calls.
//
// Action stream (little endian; kinds: ActionKind in boundary.ts), decoded by wasm/face/replica.ts:
//   1 send        u32 to, bytes              2 broadcast   bytes
//   3 setTimer    u32 timer, u32 attempt     4 cancelTimer u32 timer
//   5 execute     f64 seq, f64 view, f64 time, f64 batchTime, bytes digest, u32 count, count × bytes (the
//                 whole batch), u32 k, k × u32 skipped position, bytes certificate
//   6 checkpointStable f64 seq, bytes stateDigest, bytes replicaState, bytes certificate
//   7 viewChanged f64 view, u32 primary
//   8 fetchState  f64 seq, bytes stateDigest, u32 count, count × u32 peer
//   9 rejected    u32 reason, i32 from
// where `bytes` is u32 length ‖ raw bytes.

import { ActionKind } from './boundary';

let input = new Uint8Array(1024);
let out = new Uint8Array(4096);
let outLen: i32 = 0;

/** The input scratch buffer, grown to hold at least `len` bytes. */
export function inputBuffer(len: i32): Uint8Array {
  if (input.length < len) {
    let cap = input.length;
    while (cap < len) cap <<= 1;
    input = new Uint8Array(cap);
  }
  return input;
}

/** A copy of the first `len` input bytes (what the replica keeps must not alias the scratch buffer). */
export function inputCopy(off: i32, len: i32): Uint8Array {
  const c = new Uint8Array(len);
  memory.copy(c.dataStart, input.dataStart + <usize>off, <usize>len);
  return c;
}

export function inputPtr(): usize {
  return input.dataStart;
}

export function resetOutput(): void {
  outLen = 0;
}

export function outputPtr(): usize {
  return out.dataStart;
}

export function outputLen(): i32 {
  return outLen;
}

function reserve(n: i32): void {
  const need = outLen + n;
  if (need <= out.length) return;
  let cap = out.length;
  while (cap < need) cap <<= 1;
  const next = new Uint8Array(cap);
  memory.copy(next.dataStart, out.dataStart, <usize>outLen);
  out = next;
}

export function putU8(v: u8): void {
  reserve(1);
  store<u8>(out.dataStart + <usize>outLen, v);
  outLen += 1;
}

export function putU32(v: u32): void {
  reserve(4);
  store<u32>(out.dataStart + <usize>outLen, v);
  outLen += 4;
}

export function putF64(v: f64): void {
  reserve(8);
  store<f64>(out.dataStart + <usize>outLen, v);
  outLen += 8;
}

export function putBytes(b: Uint8Array): void {
  reserve(4 + b.length);
  store<u32>(out.dataStart + <usize>outLen, <u32>b.length);
  memory.copy(out.dataStart + <usize>outLen + 4, b.dataStart, <usize>b.length);
  outLen += 4 + b.length;
}

export function putRaw(b: Uint8Array): void {
  reserve(b.length);
  memory.copy(out.dataStart + <usize>outLen, b.dataStart, <usize>b.length);
  outLen += b.length;
}

// Action writers.
export function actSend(to: i32, bytes: Uint8Array): void {
  putU8(<u8>ActionKind.Send);
  putU32(<u32>to);
  putBytes(bytes);
}
export function actBroadcast(bytes: Uint8Array): void {
  putU8(<u8>ActionKind.Broadcast);
  putBytes(bytes);
}
export function actSetTimer(timer: i32, attempt: i32): void {
  putU8(<u8>ActionKind.SetTimer);
  putU32(<u32>timer);
  putU32(<u32>attempt);
}
export function actCancelTimer(timer: i32): void {
  putU8(<u8>ActionKind.CancelTimer);
  putU32(<u32>timer);
}
export function actViewChanged(view: u64, primary: i32): void {
  putU8(<u8>ActionKind.ViewChanged);
  putF64(<f64>view);
  putU32(<u32>primary);
}
export function actReject(reason: i32, from: i32): void {
  putU8(<u8>ActionKind.Rejected);
  putU32(<u32>reason);
  putU32(<u32>from);
}
