// The canonical encoding (spec: wasm/assembly/codec/README.md), in TypeScript. Same rules, error names and
// vectors (test/vectors/codec) as the AssemblyScript codec in the wasm core.
export { CodecError, CODEC_ERROR_CODES, codecErrorFromNumber, decodeOrNull } from './errors.ts';
export type { CodecErrorCode } from './errors.ts';
export { Writer, compareBytes, encode, encodeWith } from './writer.ts';
export { Reader, decode, DEFAULT_MAX_BYTES } from './reader.ts';
export { signingBytes, domainTag } from './domain.ts';
export { canonicalJson, canonicalBytes, jsonOfBytes, CanonicalJsonError } from './canonical-json.ts';
