// What the page hands the app: its role, and a way to open the node for it (directly, or after the staff or
// the patient sets up or unlocks the device). main.ts builds it from the node's boot; the development-only
// fixture from a fake. The screens see nothing but this and the APIs it yields.
import type { ClinicApi, PatientApi } from '../core/node/api.ts';
import type { Opened, UnlockSecret } from '../core/node/boot.ts';

export type { UnlockSecret };

/** One role's device before it runs (the node's `Opened`, seen through the API the screens use). */
export type RoleBoot<A> = Pick<Opened<A>, 'lockState' | 'passkey' | 'publicKey' | 'setUp' | 'unlock' | 'start'>;

export type AppBoot = { readonly role: 'clinic'; open(): Promise<RoleBoot<ClinicApi>> } | { readonly role: 'patient'; open(): Promise<RoleBoot<PatientApi>> };
