// Type programs: a tiny schema language, itself canonically encoded, that drives a generic decoder.
// Used by the test hooks in exports.ts so every shared vector runs through this implementation.
//   1 uint max | 2 bool | 3 fixed n | 4 bytes maxLen | 5 str maxLen | 6 list maxCount elem
//   7 option inner | 8 map maxCount key value | 9 set maxCount elem | 10 struct n field*
//   11 message n (tag body)*
// The op numbers (Op) are generated from wasm/gen/boundary.json, with their TypeScript twin for the tests.
import { CodecError } from './errors';
import { Op } from './program-ops';
import { Reader } from './reader';
import { Writer } from './writer';
import { compareBytes } from './domain';

export class Node {
  op: i32 = 0;
  max: u64 = 0;
  children: Node[] = [];
  tags: u64[] = [];
}

const MAX_DEPTH = 32;

function parseNode(r: Reader, depth: i32): Node | null {
  if (depth > MAX_DEPTH) return null;
  const n = new Node();
  n.op = <i32>r.uint(11);
  if (!r.ok) return null;
  switch (n.op) {
    case Op.Uint:
      n.max = r.uint();
      break;
    case Op.Bool:
      break;
    case Op.Fixed:
    case Op.Bytes:
    case Op.Str:
      n.max = r.uint(1 << 30);
      break;
    case Op.List:
    case Op.Set: {
      n.max = r.uint(1 << 30);
      const e = parseNode(r, depth + 1);
      if (e == null) return null;
      n.children.push(e);
      break;
    }
    case Op.Option: {
      const e = parseNode(r, depth + 1);
      if (e == null) return null;
      n.children.push(e);
      break;
    }
    case Op.Map: {
      n.max = r.uint(1 << 30);
      const k = parseNode(r, depth + 1);
      if (k == null) return null;
      const v = parseNode(r, depth + 1);
      if (v == null) return null;
      n.children.push(k);
      n.children.push(v);
      break;
    }
    case Op.Struct: {
      const count = <i32>r.uint(256);
      for (let i = 0; i < count && r.ok; i++) {
        const f = parseNode(r, depth + 1);
        if (f == null) return null;
        n.children.push(f);
      }
      break;
    }
    case Op.Message: {
      const count = <i32>r.uint(256);
      for (let i = 0; i < count && r.ok; i++) {
        n.tags.push(r.uint());
        const b = parseNode(r, depth + 1);
        if (b == null) return null;
        n.children.push(b);
      }
      break;
    }
    default:
      return null;
  }
  return r.ok ? n : null;
}

export function parseProgram(src: Uint8Array): Node | null {
  const r = new Reader(src, 1 << 16);
  const n = parseNode(r, 0);
  return n != null && r.end() ? n : null;
}

function decodeNode(n: Node, r: Reader, input: Uint8Array, w: Writer): void {
  if (!r.ok) return;
  switch (n.op) {
    case Op.Uint:
      w.uint(r.uint(n.max));
      break;
    case Op.Bool:
      w.bool(r.bool());
      break;
    case Op.Fixed:
      w.fixed(r.fixed(<i32>n.max));
      break;
    case Op.Bytes:
      w.bytes(r.bytes(<i32>n.max));
      break;
    case Op.Str:
      w.str(r.str(<i32>n.max));
      break;
    case Op.List: {
      const count = r.count(<i32>n.max);
      w.uint(<u64>count);
      for (let i = 0; i < count && r.ok; i++) decodeNode(unchecked(n.children[0]), r, input, w);
      break;
    }
    case Op.Option: {
      const some = r.bool();
      w.bool(some);
      if (some) decodeNode(unchecked(n.children[0]), r, input, w);
      break;
    }
    case Op.Map:
    case Op.Set: {
      const count = r.count(<i32>n.max);
      w.uint(<u64>count);
      let prev: Uint8Array | null = null;
      for (let i = 0; i < count && r.ok; i++) {
        const start = r.offset();
        decodeNode(unchecked(n.children[0]), r, input, w);
        if (!r.ok) return;
        const key = input.slice(start, r.offset());
        if (prev != null && compareBytes(prev, key) >= 0) {
          r.fail(CodecError.Unsorted);
          return;
        }
        prev = key;
        if (n.op == Op.Map) decodeNode(unchecked(n.children[1]), r, input, w);
      }
      break;
    }
    case Op.Struct: {
      for (let i = 0; i < n.children.length && r.ok; i++) decodeNode(unchecked(n.children[i]), r, input, w);
      break;
    }
    case Op.Message: {
      const tag = r.uint();
      if (!r.ok) return;
      for (let i = 0; i < n.tags.length; i++) {
        if (unchecked(n.tags[i]) == tag) {
          w.uint(tag);
          decodeNode(unchecked(n.children[i]), r, input, w);
          return;
        }
      }
      r.fail(CodecError.UnknownTag);
      break;
    }
  }
}

/** Decodes `input` by the program, re-encoding into `w`; returns the first error (Trailing included). */
export function decodeByProgram(n: Node, input: Uint8Array, maxBytes: i32, w: Writer): CodecError {
  const r = new Reader(input, maxBytes);
  decodeNode(n, r, input, w);
  r.end();
  return r.error;
}
