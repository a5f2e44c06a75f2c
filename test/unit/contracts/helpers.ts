import { blockHash } from '../../../web/src/core/ledger/block.ts';
import type { MemoryLedger } from '../../../web/src/core/ledger/contracts/index.ts';
export { ReleaseError, auditTrail, releaseRecords, verifyAuditEntry } from '../../../web/src/core/ledger/contracts/index.ts';

/** The hash of the block at `height`, as a light client would hold it. */
export function blockHashOf(ledger: MemoryLedger, height: number): Uint8Array {
  const h = ledger.headerAt(height);
  if (h === undefined) throw new RangeError('no such block');
  return blockHash(h);
}
