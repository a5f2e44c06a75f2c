// Key hierarchy. The clinic key (32 bytes, held by the clinic node) derives, through HKDF-SHA-256:
//  - a key-wrapping key (AES-KW) that wraps each patient's AES-GCM data key, and
//  - an index key (HMAC-SHA-256) that turns resource types, ids and patient ids into opaque tags,
// so the database holds ciphertext, wrapped keys and keyed hashes only. Destroying a wrapped data key
// makes that patient's ciphertext unreadable (crypto-shredding).
import { RecordError } from './errors.ts';
import { toHex } from '../util/index.ts';

const subtle = (): SubtleCrypto => globalThis.crypto.subtle;
const utf8 = new TextEncoder();

export interface ClinicKeys {
  readonly wrap: CryptoKey;
  readonly index: CryptoKey;
}

export async function deriveClinicKeys(clinicKey: Uint8Array): Promise<ClinicKeys> {
  if (!(clinicKey instanceof Uint8Array) || clinicKey.length !== 32) throw new RecordError('bad-key', 'the clinic key must be 32 bytes');
  const ikm = await subtle().importKey('raw', clinicKey as BufferSource, 'HKDF', false, ['deriveKey']);
  const hkdf = (info: string): HkdfParams => ({ name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(32), info: utf8.encode(info) });
  const wrap = await subtle().deriveKey(hkdf('hygeia/records/wrap/v1'), ikm, { name: 'AES-KW', length: 256 }, false, ['wrapKey', 'unwrapKey']);
  const index = await subtle().deriveKey(hkdf('hygeia/records/index/v1'), ikm, { name: 'HMAC', hash: 'SHA-256', length: 256 }, false, ['sign']);
  return { wrap, index };
}

/** A keyed tag: hex HMAC-SHA-256(index key, label). Equal labels give equal tags; nothing else is learned. */
export async function tag(keys: ClinicKeys, label: string): Promise<string> {
  return toHex(new Uint8Array(await subtle().sign('HMAC', keys.index, utf8.encode(label))));
}

export async function newDataKey(): Promise<CryptoKey> {
  return subtle().generateKey({ name: 'AES-GCM', length: 256 }, true, ['encrypt', 'decrypt']);
}

export async function wrapDataKey(keys: ClinicKeys, dataKey: CryptoKey): Promise<Uint8Array> {
  return new Uint8Array(await subtle().wrapKey('raw', dataKey, keys.wrap, 'AES-KW'));
}

export async function unwrapDataKey(keys: ClinicKeys, wrapped: Uint8Array): Promise<CryptoKey> {
  try {
    return await subtle().unwrapKey('raw', wrapped as BufferSource, keys.wrap, 'AES-KW', { name: 'AES-GCM', length: 256 }, false, [
      'encrypt',
      'decrypt',
    ]);
  } catch {
    throw new RecordError('tampered', 'a wrapped data key does not unwrap under this clinic key');
  }
}

/** AES-GCM with a fresh 96-bit IV; `aad` binds the ciphertext to its slot so it cannot be moved. */
export async function seal(key: CryptoKey, plaintext: Uint8Array, aad: Uint8Array): Promise<{ iv: Uint8Array; ct: Uint8Array }> {
  const iv = globalThis.crypto.getRandomValues(new Uint8Array(12));
  const ct = new Uint8Array(await subtle().encrypt({ name: 'AES-GCM', iv, additionalData: aad as BufferSource }, key, plaintext as BufferSource));
  return { iv, ct };
}

export async function open(key: CryptoKey, iv: Uint8Array, ct: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
  try {
    return new Uint8Array(await subtle().decrypt({ name: 'AES-GCM', iv: iv as BufferSource, additionalData: aad as BufferSource }, key, ct as BufferSource));
  } catch {
    throw new RecordError('tampered', 'a stored record failed authenticated decryption');
  }
}
