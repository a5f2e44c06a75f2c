export { RecordStore } from './store.ts';
export type { ImportReport, PutResult, RecordAnchor, Anchor, PatientListEntry, PatientChartData, OpenOptions } from './store.ts';
export { RECORDS_DB_VERSION } from './layout.ts';
export type { InterruptedImport } from './journal.ts';
export type { Progress as RecordProgress } from './writer.ts';
export { RecordError } from './errors.ts';
export type { RecordErrorReason } from './errors.ts';
export { commitmentOf } from './payload.ts';
export { checkReleased } from './release.ts';
export type { ReleasedItem, CommittedAnchor, ReleaseCheck, ReleaseCheckFailure } from './release.ts';
export type { ReceivedRecords } from './received.ts';
export { validateExchange, validateFhirResource, loadFhirDefinitions } from './validation.ts';
export type { ExchangeReport, ExchangeIssue, ExchangeUnresolved } from './validation.ts';
export type { Rejection } from './bundle.ts';
export { wearableStream, signalOf, SIGNALS, WearableError } from './wearable.ts';
export type { WearableOptions, WearableFault, WearableProfile, FaultKind, Signal } from './wearable.ts';
export {
  cleanWearable,
  wearableWindows,
  wearableDataset,
  recordFeatures,
  recordDataset,
  toDataset,
  FeatureError,
  PLAUSIBLE,
  WEARABLE_FEATURES,
  RECORD_FEATURES,
} from './features.ts';
