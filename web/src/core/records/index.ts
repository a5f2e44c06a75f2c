export { RecordStore, commitmentOf, RECORDS_DB_VERSION } from './store.ts';
export type { ImportReport, RecordAnchor } from './store.ts';
export { RecordError } from './errors.ts';
export type { RecordErrorReason } from './errors.ts';
export { prepareBundle, patientOf, BundleError } from './bundle.ts';
export type { PreparedEntry, Rejection } from './bundle.ts';
export { wearableStream, signalOf, SIGNALS, WearableError } from './wearable.ts';
export type { WearableOptions, WearableFault, WearableProfile, FaultKind, Signal } from './wearable.ts';
export { cleanWearable, wearableWindows, wearableDataset, recordFeatures, recordDataset, toDataset, FeatureError, PLAUSIBLE, WEARABLE_FEATURES, RECORD_FEATURES } from './features.ts';
