// The two primitives the ledger is built on, bound in one place: SHA-256 (the wasm core's) and the canonical
// encoding (web/src/core/codec: the same rules and vectors as the wasm core's codec).
export { sha256 } from '../../../../wasm/index.ts';
export { Reader, Writer, signingBytes } from '../codec/index.ts';
