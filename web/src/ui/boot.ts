// What the page hands the app: for one role, a way to open the node (directly, or after the staff or the
// patient unlocks it). main.ts builds it from the node module; the development-only fixture builds it from
// a fake. The screens never see anything but this and the APIs it yields.
import type { ClinicApi, PatientApi } from '../core/node/api.ts';

export type UnlockSecret =
  | { readonly kind: 'passphrase'; readonly passphrase: string }
  /** The output of the WebAuthn PRF extension for this credential and salt (32 bytes). */
  | { readonly kind: 'passkey'; readonly credentialId: string; readonly prfSalt: Uint8Array; readonly prfOutput: Uint8Array };

/** Public facts the vault keeps about the passkey that unlocks it, so the screen can ask for it (hex). */
export interface PasskeyInfo {
  readonly credentialId: string;
  readonly prfSalt: string;
}

export interface RoleBoot<A> {
  /** 'open': no unlock (development identities, phones of the development consortium); 'new': set up first. */
  lockState(): 'open' | 'new' | 'locked';
  passkey(): PasskeyInfo | null;
  start(): Promise<A>;
  setUp(secret: UnlockSecret): Promise<A>;
  /** Rejects with NodeError 'wrong-passphrase' and changes nothing when the secret is wrong. */
  unlock(secret: UnlockSecret): Promise<A>;
}

export type AppBoot =
  | { readonly role: 'clinic'; readonly boot: RoleBoot<ClinicApi> }
  | { readonly role: 'patient'; readonly boot: RoleBoot<PatientApi> };
