// Executing a committed batch: what the app applies of it, and what each transaction's result is.

import { decodeClientRequest } from '../../../../wasm/index.ts';
import type { ApplyResult, LedgerApp } from '../ledger/index.ts';
import { SKIPPED_DUPLICATE, UNDECODABLE, type PayloadOf } from './types.ts';

/** The default: a transaction is the payload of the client's signed request (the replica checked the signature). */
export function clientPayload(request: Uint8Array): Uint8Array | null {
  try {
    return decodeClientRequest(request).payload;
  } catch {
    return null;
  }
}

/** Applies the executed positions of a batch; the result of each transaction, aligned with the batch. */
export function applyBatch(app: LedgerApp, batch: readonly Uint8Array[], skipped: readonly number[], height: number, time: number, payloadOf: PayloadOf): ApplyResult[] {
  const skip = skipped.length ? new Set(skipped) : null;
  return batch.map((req, index) => {
    if (skip?.has(index)) return SKIPPED_DUPLICATE;
    const payload = payloadOf(req);
    return payload ? app.apply(payload, { height, index, time }) : UNDECODABLE;
  });
}
