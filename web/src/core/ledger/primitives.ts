// The two primitives the ledger is built on, bound in one place: SHA-256 and the canonical encoding
// (web/src/core/codec: Writer, Reader, signingBytes — the same rules and vectors as the wasm core's codec).
// TEMPORARY: SHA-256 comes from @noble/hashes until the wasm core's `sha256` face lands; then this file
// re-exports that one, and nothing else changes.
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';

export { Reader, Writer, signingBytes } from '../codec/index.ts';

export function sha256(data: Uint8Array): Uint8Array {
  return nobleSha256(data);
}
