// The device's passkey as the tablet's (or phone's) unlock: WebAuthn with the PRF extension yields 32 secret
// bytes per credential and salt, which the vault turns into its wrapping key. Only devices whose
// authenticator supports PRF can use it; the others use a passphrase.
import { fromBase64Url, toBase64Url } from '../../core/util/index.ts';
import type { UnlockSecret } from '../boot.ts';

/** What the vault keeps about its passkey (base64url): the credential to ask for and the PRF input. */
export interface PasskeyInfo {
  readonly credentialId: string;
  readonly prfSalt: string;
}

export class PasskeyError extends Error {
  override readonly name = 'PasskeyError';
}

/** Whether this browser can offer a platform passkey at all (PRF support is only known after trying). */
export async function passkeyAvailable(): Promise<boolean> {
  if (typeof PublicKeyCredential === 'undefined' || !window.isSecureContext) return false;
  try {
    return await PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable();
  } catch {
    return false;
  }
}

interface PrfResults {
  prf?: { enabled?: boolean; results?: { first?: ArrayBuffer | Uint8Array } };
}

const prfOf = (cred: PublicKeyCredential): Uint8Array | null => {
  const first = (cred.getClientExtensionResults() as PrfResults).prf?.results?.first;
  return first ? new Uint8Array(first instanceof ArrayBuffer ? first : first.buffer.slice(first.byteOffset, first.byteOffset + first.byteLength)) : null;
};

async function evaluate(credentialId: Uint8Array, salt: Uint8Array): Promise<Uint8Array> {
  const cred = (await navigator.credentials.get({
    publicKey: {
      challenge: crypto.getRandomValues(new Uint8Array(32)),
      allowCredentials: [{ type: 'public-key', id: credentialId as BufferSource }],
      userVerification: 'required',
      extensions: { prf: { eval: { first: salt as BufferSource } } } as AuthenticationExtensionsClientInputs,
    },
  })) as PublicKeyCredential | null;
  const out = cred && prfOf(cred);
  if (!out) throw new PasskeyError('This device’s passkey cannot unlock Hygeia (it does not support the PRF extension). Use a passphrase instead.');
  return out;
}

/** Creates a passkey for this device and returns the secret that sets the vault up. */
export async function createPasskey(label: string): Promise<UnlockSecret> {
  const prfSalt = crypto.getRandomValues(new Uint8Array(32));
  const cred = (await navigator.credentials.create({
    publicKey: {
      challenge: crypto.getRandomValues(new Uint8Array(32)),
      rp: { name: 'Hygeia' },
      user: { id: crypto.getRandomValues(new Uint8Array(16)), name: label, displayName: label },
      pubKeyCredParams: [
        { type: 'public-key', alg: -8 },
        { type: 'public-key', alg: -7 },
      ],
      authenticatorSelection: { authenticatorAttachment: 'platform', residentKey: 'preferred', userVerification: 'required' },
      extensions: { prf: { eval: { first: prfSalt as BufferSource } } } as AuthenticationExtensionsClientInputs,
    },
  })) as PublicKeyCredential | null;
  if (!cred) throw new PasskeyError('No passkey was created.');
  const id = new Uint8Array(cred.rawId);
  // Some authenticators answer PRF only on assertion, not at creation.
  const prfOutput = prfOf(cred) ?? (await evaluate(id, prfSalt));
  return { kind: 'passkey', credentialId: toBase64Url(id), prfSalt, prfOutput };
}

/** Asks the passkey the vault was set up with for its secret. */
export async function usePasskey(info: PasskeyInfo): Promise<UnlockSecret> {
  const prfSalt = fromBase64Url(info.prfSalt);
  const credentialId = fromBase64Url(info.credentialId);
  if (!prfSalt || !credentialId) throw new PasskeyError('The passkey stored for this device is damaged. Unlock with the passphrase.');
  const prfOutput = await evaluate(credentialId, prfSalt);
  return { kind: 'passkey', credentialId: info.credentialId, prfSalt, prfOutput };
}
