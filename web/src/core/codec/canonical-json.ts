// Canonical JSON: the one textual form of a JSON value that hashes and commitments are computed over (the
// contracts' state leaves, record commitments, the genesis). Object keys sorted by UTF-16 code units, no
// whitespace, numbers in JavaScript's shortest round-trip form, `undefined` members dropped as
// JSON.stringify drops them. Two equal values give equal bytes whatever order their members were written in.
// (Binary messages use the canonical binary encoding, writer.ts; this is for values that are JSON already.)

/** A value with no canonical JSON form (a non-finite number, a function, nesting deeper than the bound). */
export class CanonicalJsonError extends Error {
  override readonly name = 'CanonicalJsonError';
  constructor(readonly reason: 'too-deep' | 'non-finite' | 'not-json') {
    super(`no canonical JSON: ${reason}`);
  }
}

/** Deep enough for FHIR resources; bounded so a hostile value cannot exhaust the stack. */
const MAX_DEPTH = 64;

export function canonicalJson(value: unknown): string {
  return write(value, 0);
}

const utf8 = new TextEncoder();

/** UTF-8 of canonicalJson(value). */
export function canonicalBytes(value: unknown): Uint8Array {
  return utf8.encode(canonicalJson(value));
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The JSON value that UTF-8 bytes hold (canonical or not); undefined when they are not UTF-8 or not JSON. */
export function jsonOfBytes(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(strictUtf8.decode(bytes)) as unknown;
  } catch {
    return undefined;
  }
}

function write(v: unknown, depth: number): string {
  if (depth > MAX_DEPTH) throw new CanonicalJsonError('too-deep');
  if (v === null) return 'null';
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(v)) throw new CanonicalJsonError('non-finite');
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
      throw new CanonicalJsonError('not-json');
  }
}
