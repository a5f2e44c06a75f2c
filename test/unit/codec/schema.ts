// Test support: the vectors' JSON type programs, interpreted over the TypeScript codec, compiled to the
// AssemblyScript codec's program bytes (wasm/assembly/codec/program.ts), and run through the wasm core.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Op } from '../../../wasm/face/codec-program-ops.ts';
import { core, initCore } from '../../../wasm/face/instance.ts';
import { Reader, Writer, codecErrorFromNumber, type CodecErrorCode } from '../../../web/src/core/codec/index.ts';
import { fromHex, toHex } from '../../../web/src/core/util/index.ts';

/** 'uint' | 'bool' | ['uint', max] | ['fixed'|'bytes'|'str', n] | ['list'|'set', max, T] | ['option', T]
 *  | ['map', max, K, V] | ['struct', T...] | ['message', [tag, T]...] (see test/vectors/codec/generate.py) */
export type Ty = string | TyList;
export type TyList = TyItem[];
type TyItem = string | number | Ty | [number, Ty];

export type Json = null | boolean | string | number | Json[] | { [k: string]: Json };

export interface Vector {
  name: string;
  type: Ty;
  hex: string;
  value?: Json;
  error?: CodecErrorCode;
  maxBytes?: number;
  numberError?: CodecErrorCode;
  encodeFrom?: Json;
}

export const VECTOR_DIR = path.resolve(import.meta.dirname, '../../vectors/codec');

export function loadVectors(file: string): Vector[] {
  return (JSON.parse(readFileSync(path.join(VECTOR_DIR, file), 'utf8')) as { vectors: Vector[] }).vectors;
}

export function vectorFiles(): string[] {
  return readdirSync(VECTOR_DIR)
    .filter((f) => f.endsWith('.json') && f !== 'signing.json')
    .sort();
}

const U64 = (1n << 64n) - 1n;
const kind = (t: Ty): string => (typeof t === 'string' ? t : (t[0] as string));

/** Reads one value of type `t` in the vectors' JSON form (uints as decimal strings, bytes as hex). */
export function readValue(t: Ty, r: Reader): Json {
  if (t === 'uint') return r.uint64().toString();
  if (t === 'bool') return r.bool();
  const n = (i: number): number => (t as TyList)[i] as number;
  const sub = (i: number): Ty => (t as TyList)[i] as Ty;
  switch (t[0]) {
    case 'uint':
      return r.uint64(BigInt(t[1] as string)).toString();
    case 'fixed':
      return toHex(r.fixed(n(1)));
    case 'bytes':
      return toHex(r.bytes(n(1)));
    case 'str':
      return r.str(n(1));
    case 'list':
      return r.list(n(1), (rr) => readValue(sub(2), rr));
    case 'option': {
      if (!r.bool()) return null;
      return { some: readValue(sub(1), r) };
    }
    case 'set':
      return r.set(n(1), (rr) => readValue(sub(2), rr));
    case 'map':
      return r.map(
        n(1),
        (rr) => readValue(sub(2), rr),
        (rr) => readValue(sub(3), rr),
      );
    case 'struct': {
      const out: Json[] = [];
      for (const f of t.slice(1) as Ty[]) out.push(readValue(f, r));
      return out;
    }
    case 'message': {
      const bodies = t.slice(1) as [number, Ty][];
      const tag = r.tag(bodies.map((b) => b[0]));
      if (!r.ok) return null;
      const body = bodies.find((b) => b[0] === tag)!;
      return { tag, body: readValue(body[1], r) };
    }
  }
  throw new Error(`unknown type ${String(t[0])}`);
}

/** Decodes a whole input by `t`: the value, or the error code. */
export function decodeTs(t: Ty, bytes: Uint8Array, maxBytes?: number): { value: Json; error: CodecErrorCode | null } {
  const r = new Reader(bytes, maxBytes);
  const value = readValue(t, r);
  r.end();
  return { value, error: r.error };
}

/** Writes a JSON-form value of type `t`. */
export function writeValue(t: Ty, v: Json, w: Writer): void {
  const tt = t as TyList;
  const sub = (i: number): Ty => tt[i] as Ty;
  switch (kind(t)) {
    case 'uint':
      return w.uint(BigInt(v as string));
    case 'bool':
      return w.bool(v as boolean);
    case 'fixed':
      return w.fixed(fromHex(v as string));
    case 'bytes':
      return w.bytes(fromHex(v as string));
    case 'str':
      return w.str(v as string);
    case 'list':
      return w.list(v as Json[], (ww, x) => writeValue(sub(2), x, ww));
    case 'option':
      w.bool(v !== null);
      if (v !== null) writeValue(sub(1), (v as { some: Json }).some, w);
      return;
    case 'set':
      return w.set(v as Json[], (ww, x) => writeValue(sub(2), x, ww));
    case 'map':
      return w.map(
        v as [Json, Json][],
        (ww, k) => writeValue(sub(2), k, ww),
        (ww, x) => writeValue(sub(3), x, ww),
      );
    case 'struct': {
      const fields = tt.slice(1) as Ty[];
      fields.forEach((f, i) => writeValue(f, (v as Json[])[i]!, w));
      return;
    }
    case 'message': {
      const m = v as { tag: number; body: Json };
      const body = (tt.slice(1) as [number, Ty][]).find((b) => b[0] === m.tag);
      if (!body) throw new Error(`no body for tag ${m.tag}`);
      w.uint(m.tag);
      writeValue(body[1], m.body, w);
      return;
    }
  }
}

export function encodeTs(t: Ty, v: Json): Uint8Array {
  const w = new Writer();
  writeValue(t, v, w);
  return w.finish();
}

/** The program op of a vectors' kind: its name, capitalized ('uint' is Op.Uint). */
function opOf(t: Ty): number {
  const k = kind(t);
  const op = (Op as Record<string, number>)[k.charAt(0).toUpperCase() + k.slice(1)];
  if (op === undefined) throw new Error(`unknown type ${k}`);
  return op;
}

function compileInto(t: Ty, w: Writer): void {
  w.uint(opOf(t));
  if (t === 'uint') return void w.uint(U64);
  if (t === 'bool') return;
  const n = (i: number): number => (t as TyList)[i] as number;
  const sub = (i: number): Ty => (t as TyList)[i] as Ty;
  switch (t[0]) {
    case 'uint':
      return void w.uint(BigInt(t[1] as string));
    case 'fixed':
    case 'bytes':
    case 'str':
      return void w.uint(n(1));
    case 'list':
    case 'set':
      w.uint(n(1));
      return compileInto(sub(2), w);
    case 'option':
      return compileInto(sub(1), w);
    case 'map':
      w.uint(n(1));
      compileInto(sub(2), w);
      return compileInto(sub(3), w);
    case 'struct': {
      const fields = t.slice(1) as Ty[];
      w.uint(fields.length);
      for (const f of fields) compileInto(f, w);
      return;
    }
    case 'message': {
      const bodies = t.slice(1) as [number, Ty][];
      w.uint(bodies.length);
      for (const [tag, body] of bodies) {
        w.uint(tag);
        compileInto(body, w);
      }
      return;
    }
  }
  throw new Error(`unknown type ${String(t[0])}`);
}

/** The AssemblyScript type program for `t`. */
export function compileProgram(t: Ty): Uint8Array {
  const w = new Writer();
  compileInto(t, w);
  return w.finish();
}

interface CodecExports {
  memory: WebAssembly.Memory;
  codecInput(len: number): number;
  codecRun(progLen: number, inLen: number, maxBytes: number): number;
  codecOutputPtr(): number;
  codecOutputLen(): number;
  codecSigningBytes(tagLen: number, bodyLen: number): number;
}

let asExports: CodecExports | null = null;

/** The wasm core's codec hooks (the shared module, wasm/build/release.wasm). */
export async function loadAsCodec(): Promise<void> {
  await initCore();
  const ex = core() as unknown as CodecExports;
  if (typeof ex.codecRun !== 'function') throw new Error('the wasm core lacks the codec hooks: run npm run build:wasm');
  asExports = ex;
}

function as(): CodecExports {
  if (!asExports) throw new Error('call loadAsCodec() first');
  return asExports;
}

function output(ex: CodecExports): Uint8Array {
  return new Uint8Array(ex.memory.buffer, ex.codecOutputPtr(), ex.codecOutputLen()).slice();
}

/** Runs the AssemblyScript decoder on `input` by program `prog`: the error (null if accepted) and its re-encoding. */
export function runAs(prog: Uint8Array, input: Uint8Array, maxBytes = 1 << 20): { error: CodecErrorCode | null; out: Uint8Array } {
  const ex = as();
  const p = ex.codecInput(prog.length + input.length);
  const mem = new Uint8Array(ex.memory.buffer);
  mem.set(prog, p);
  mem.set(input, p + prog.length);
  const code = ex.codecRun(prog.length, input.length, maxBytes);
  if (code < 0) throw new Error('the AssemblyScript codec rejected the type program');
  return { error: codecErrorFromNumber(code), out: output(ex) };
}

export function signingBytesAs(tag: string, body: Uint8Array): Uint8Array {
  const ex = as();
  const t = new TextEncoder().encode(tag);
  const p = ex.codecInput(t.length + body.length);
  const mem = new Uint8Array(ex.memory.buffer);
  mem.set(t, p);
  mem.set(body, p + t.length);
  ex.codecSigningBytes(t.length, body.length);
  return output(ex);
}
