// Typed record-store errors. Messages name what went wrong, never a patient's data.
import { ReasonError } from '../util/index.ts';

export type RecordErrorReason =
  | 'malformed' // not a FHIR resource or bundle we accept
  | 'unresolved-reference' // a reference to nothing in the bundle or the store
  | 'not-found'
  | 'erased' // the patient's data key was destroyed
  | 'tampered' // authenticated decryption failed: the stored bytes were changed
  | 'bad-key' // the clinic key is not 32 bytes, or does not open this store's keyring
  | 'storage' // IndexedDB refused or aborted the write (quota, a closed connection): nothing of it was stored
  | 'busy'; // other writers kept changing the store; nothing was written, try again

export class RecordError extends ReasonError<RecordErrorReason> {
  override readonly name = 'RecordError';
}
