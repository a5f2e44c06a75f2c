// Canonical JSON for commitments: object keys sorted by UTF-16 code units, no whitespace, integers and
// finite numbers in JavaScript's shortest form, `undefined` members dropped (as JSON.stringify does).
// Two equal resources give equal bytes whatever order their members were written in.
import { RecordError } from './errors.ts';

export function canonicalJson(value: unknown): string {
  return write(value, 0);
}

const MAX_DEPTH = 64;

function write(v: unknown, depth: number): string {
  if (depth > MAX_DEPTH) throw new RecordError('malformed', 'value nested too deeply');
  if (v === null) return 'null';
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(v)) throw new RecordError('malformed', 'non-finite number');
      return JSON.stringify(v);
    case 'object': {
      if (Array.isArray(v)) return '[' + v.map((x) => (x === undefined ? 'null' : write(x, depth + 1))).join(',') + ']';
      const obj = v as Record<string, unknown>;
      const keys = Object.keys(obj)
        .filter((k) => obj[k] !== undefined)
        .sort();
      return '{' + keys.map((k) => JSON.stringify(k) + ':' + write(obj[k], depth + 1)).join(',') + '}';
    }
    default:
      throw new RecordError('malformed', `a ${typeof v} has no JSON form`);
  }
}

const utf8 = new TextEncoder();
export function canonicalBytes(value: unknown): Uint8Array {
  return utf8.encode(canonicalJson(value));
}
