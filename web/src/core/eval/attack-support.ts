export { ReleaseError, releaseRecords } from '../ledger/contracts/index.ts';
export type { ApplyResult as ApplyResultLike } from '../ledger/app.ts';
