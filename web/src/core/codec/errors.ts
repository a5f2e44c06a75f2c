// Decoder errors. The codes (error-codes.ts) are generated with the AssemblyScript codec's from one table,
// wasm/gen/boundary.json, so both codecs give every error the same name and number.
import { CODEC_ERROR_CODES } from './error-codes.ts';

export { CODEC_ERROR_CODES };

export type CodecErrorCode = keyof typeof CODEC_ERROR_CODES;

const BY_NUMBER: readonly (CodecErrorCode | undefined)[] = (() => {
  const out: (CodecErrorCode | undefined)[] = [];
  for (const [name, n] of Object.entries(CODEC_ERROR_CODES)) out[n] = name as CodecErrorCode;
  return out;
})();

/** The code for the AssemblyScript enum's number (0 = None => null). */
export function codecErrorFromNumber(n: number): CodecErrorCode | null {
  if (n === 0) return null;
  const code = BY_NUMBER[n];
  if (code === undefined) throw new RangeError(`not a codec error number: ${n}`);
  return code;
}

/** A canonical-encoding violation. Messages name the rule, never the data. */
export class CodecError extends Error {
  override readonly name = 'CodecError';
  constructor(
    readonly code: CodecErrorCode,
    detail?: string,
  ) {
    super(detail ? `${code}: ${detail}` : code);
  }
}

/**
 * `decode(bytes)`, or null when it throws a CodecError or an instance of `wireError` (the message layer's own
 * error): a peer's frame that does not decode is dropped, while any other error (a bug) still throws.
 */
export function decodeOrNull<T>(decode: (bytes: Uint8Array) => T, bytes: Uint8Array, wireError: abstract new (...args: never[]) => Error): T | null {
  try {
    return decode(bytes);
  } catch (e) {
    if (e instanceof CodecError || e instanceof wireError) return null;
    throw e;
  }
}
