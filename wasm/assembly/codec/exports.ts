// Exports of the codec subsystem: test hooks that let JavaScript run the shared vectors
// (test/vectors/codec) through this decoder and encoder. A "type program" (program.ts) describes a
// value's schema; codecRun decodes the input by it and re-encodes what it decoded.
import { CodecError } from './errors';
import { Writer } from './writer';
import { signingBytes } from './domain';
import { decodeByProgram, parseProgram } from './program';

let scratch = new Uint8Array(256);
let output = new Uint8Array(0);

/** Address of the input scratch buffer, grown to hold `len` bytes (contents are not kept on growth). */
export function codecInput(len: i32): usize {
  if (len > scratch.length) scratch = new Uint8Array(len);
  return scratch.dataStart;
}

export function codecOutputPtr(): usize {
  return output.dataStart;
}

export function codecOutputLen(): i32 {
  return output.length;
}

/**
 * Scratch holds program ‖ input. Decodes the input (at most maxBytes) by the program and, if it is
 * accepted, leaves its re-encoding in the output. Returns a CodecError code, or -1 for a bad program.
 */
export function codecRun(progLen: i32, inLen: i32, maxBytes: i32): i32 {
  const prog = parseProgram(scratch.subarray(0, progLen));
  if (prog == null) return -1;
  const input = scratch.slice(progLen, progLen + inLen);
  const w = new Writer(inLen + 16);
  const err = decodeByProgram(prog, input, maxBytes, w);
  output = err == CodecError.None ? w.finish() : new Uint8Array(0);
  return <i32>err;
}

/** Scratch holds tag (ASCII) ‖ body; leaves signingBytes(tag, body) in the output. */
export function codecSigningBytes(tagLen: i32, bodyLen: i32): i32 {
  const tag = String.UTF8.decodeUnsafe(scratch.dataStart, <usize>tagLen, false);
  output = signingBytes(tag, scratch.slice(tagLen, tagLen + bodyLen));
  return output.length;
}
