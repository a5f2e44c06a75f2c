export { RecordStore, commitmentOf, RECORDS_DB_VERSION } from './store.ts';
export type { ImportReport, RecordAnchor } from './store.ts';
export { RecordError } from './errors.ts';
export type { RecordErrorReason } from './errors.ts';
export { canonicalJson, canonicalBytes } from './canonical.ts';
export { prepareBundle, patientOf, BundleError } from './bundle.ts';
export type { PreparedEntry, Rejection } from './bundle.ts';
